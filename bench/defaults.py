"""Names and default paths of the benchmark, importable without loading anything heavy (the
`yimei` command builds its parser from these on every start)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SCALES = ("tiny", "S", "M", "L")
PHASES = ("full", "incremental", "nothing_new")
DEFAULT_WORK_DIR = Path("/tmp/yimei-bench")
DEFAULT_RESULTS_DIR = REPO_ROOT / "bench" / "results"
DEFAULT_DOCS_FILE = REPO_ROOT / "docs" / "benchmarks.md"
