"""Run one baseline (the DuckDB floor or the pandas peer) in its own process.

    python -m bench.baselines floor|peer LANDING DB_PATH OUT_JSON

The harness runs baselines as subprocesses so that their memory is measured like the
pipeline's, and so that a baseline running out of memory (pandas at scale L may) fails
alone instead of taking the harness and the pipeline figures with it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

PII_KEY_ENV = "YIMEI_PII_KEY"


def main(argv: list[str] | None = None) -> int:
    kind, landing, db_path, out = (argv if argv is not None else sys.argv[1:])[:4]
    if kind == "floor":
        from bench.floor import run_floor

        result = run_floor(Path(landing), Path(db_path))
    elif kind == "peer":
        from bench.peer import run_peer

        result = run_peer(Path(landing), Path(db_path), os.environ[PII_KEY_ENV].encode())
    else:
        print(f"unknown baseline {kind!r}", file=sys.stderr)
        return 2
    Path(out).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
