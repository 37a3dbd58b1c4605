"""Shared fixtures: small landing zones from the sample generator, fixed seed."""

from __future__ import annotations

import json
import os
import pickle
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TypeVar

import pytest
from filelock import FileLock

from generator import SampleConfig, generate

AS_OF = date(2026, 11, 23)
REPO = Path(__file__).resolve().parents[1]
# Screenshots and other files a reviewer looks at after the run; CI may collect the folder.
ARTIFACTS = Path(os.environ.get("YIMEI_TEST_ARTIFACTS") or REPO / "test-artifacts")
TEST_PII_KEY = "yimei-tests-pii-key"
os.environ.setdefault("YIMEI_PII_KEY", TEST_PII_KEY)

SMALL = SampleConfig(
    seed=7,
    as_of=AS_OF,
    cities=6,
    clinics=40,
    doctors_per_clinic=4,
    days=120,
    orders=3000,
    reviews=1000,
)
# The smallest sample the generator allows: every violation kind, every bad delivery. The
# sample of every test whose run itself is what it tests (a gate, a crash, a lifecycle).
TINY = replace(
    SMALL, seed=11, cities=3, clinics=20, doctors_per_clinic=2, days=60, orders=1000, reviews=200
)


T = TypeVar("T")
# The reliability suite's figures, summed over the pytest-xdist workers (tests/reliability).
WORKER_FIGURES: Counter = Counter()


# pytest-xdist's units of work (`make test`: `--dist loadscope --no-loadscope-reorder`) are
# modules, so a module's fixtures are built once (every test of the Spark run is in one
# module, so the worker that builds the Spark run is the one that reads it; both Spark
# modules are one unit, SPARK_MODULES). A worker takes the next unit
# when it is done with one; the longest start first (the order of stop 29; in-suite seconds on
# 2 cores measured at stop 32, which it still roughly follows: reorder if they drift further)
# so that the last to start are short and neither worker idles at the end; the rest follow in
# collection order. (`--dist loadgroup` would group freely, but pytest-xdist 3.8 loses the
# groups under pytest 9.2: pytest-dev/pytest-xdist#1386.)
LONGEST_FIRST = (
    # one unit (SPARK_MODULES below): 354 s alone (the Spark run, dbt's unit tests on Spark,
    # the redelivery, comparisons), then 247 s alone (a cluster, the Spark run through it)
    "tests/test_spark_engine.py",
    "tests/test_spark_cluster.py",
    "tests/reliability/test_concurrent_readers.py",  # 190
    "tests/reliability/test_crashes.py",  # 165
    "tests/yimei_cli/test_terminal.py",  # ~140 alone (stop 43): the default sample, 2 runs
    "tests/transform/test_incremental.py",  # 125
    "tests/quality/test_gate.py",  # 115
    "tests/reliability/test_concurrent_runs.py",  # 60
    "tests/serving/test_endpoint.py",  # 75
    "tests/quality/test_alerts.py",  # 55
    "tests/serving/test_postgres.py",  # 5
    "tests/ingestion/test_malformed_lines.py",  # 50
    "tests/quality/test_lifecycle.py",  # 50
    "tests/bench/test_smoke.py",  # 65
    "tests/serving/test_superset.py",  # 45
    "tests/quality/test_clean_sample.py",  # 40
)


# The Spark modules are one unit of work: the worker that takes it runs them one after the
# other. Side by side on the two workers, each Spark run's JVM threads fought the other's for
# two cores: make test 20:26 at 4b8281e (the modules 732 s and 430 s in-suite), against
# 354 s and 247 s alone.
SPARK_MODULES = ("tests/test_spark_engine.py", "tests/test_spark_cluster.py")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own, which would pick the scheduler
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SparkTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.split("::", 1)[0] in SPARK_MODULES:
                return "spark"
            return super()._split_scope(nodeid)

    return SparkTogether(config, log)


def pytest_collection_modifyitems(config, items):
    missing = [module for module in LONGEST_FIRST if not (REPO / module).is_file()]
    if missing:  # a module renamed or removed: the order would silently fall apart
        raise pytest.UsageError(f"tests/conftest.py LONGEST_FIRST names no module: {missing}")
    rank = {module: n for n, module in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable


def pytest_testnodedown(node, error):
    WORKER_FIGURES.update(getattr(node, "workeroutput", {}).get("reliability_figures", {}))


def pytest_terminal_summary(terminalreporter):
    if WORKER_FIGURES:
        figures = json.dumps(dict(sorted(WORKER_FIGURES.items())))
        terminalreporter.write_line(f"reliability figures: {figures}")


def scenario(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[], T]) -> T:
    """A session scenario (a landing zone, a run) built once for the whole test run.

    Alone, pytest's session scope does that. Under pytest-xdist every worker has its own
    session, so the first worker to need the scenario builds it under a file lock in the
    run's shared temporary folder and the others wait for it and read its result (the
    pattern of xdist's documentation): a run is never started twice for the same scenario.
    """
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return build()
    shared = tmp_path_factory.getbasetemp().parent
    result = shared / f"scenario-{name}.pickle"
    with FileLock(str(shared / f"scenario-{name}.lock")):
        if result.exists():
            return pickle.loads(result.read_bytes())
        value = build()
        result.write_bytes(pickle.dumps(value))
        return value


def make_landing(root: Path, config: SampleConfig = SMALL) -> tuple[Path, dict]:
    landing = root / "landing"
    config = replace(config, manifest_path=root / "sample_manifest.json")
    manifest = generate(landing, config)
    return landing, manifest


@pytest.fixture(scope="session")
def small_landing(tmp_path_factory) -> tuple[Path, dict]:
    """A generated landing zone, shared read-only by the tests of a session."""
    return scenario(
        tmp_path_factory, "small_landing", lambda: make_landing(tmp_path_factory.mktemp("small"))
    )


@pytest.fixture(scope="session")
def tiny_landing(tmp_path_factory) -> tuple[Path, dict]:
    """The TINY landing zone and its manifest, shared read-only."""
    return scenario(
        tmp_path_factory,
        "tiny_landing",
        lambda: make_landing(tmp_path_factory.mktemp("tiny"), TINY),
    )


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory, tiny_landing) -> dict:
    """One clean `yimei run` on the tiny sample: the last good version the gate keeps, the
    first run of a finding's lifecycle, the version every recovery must equal. Its output is
    in ``log``."""
    landing, manifest = tiny_landing

    def build() -> dict:
        root = tmp_path_factory.mktemp("clean")
        data_dir = root / "data"
        result = yimei_run(landing, data_dir)
        log = root / "run.log"
        log.write_text(result.stdout + result.stderr, encoding="utf-8")
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return {"landing": landing, "manifest": manifest, "data_dir": data_dir, "log": log}

    return scenario(tmp_path_factory, "clean_run", build)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now (a server under test binds it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_yimei(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess, as a user runs it."""
    yimei = Path(sys.executable).with_name("yimei")
    full_env = {**os.environ, "YIMEI_PII_KEY": TEST_PII_KEY, **(env or {})}
    full_env.pop("DAGSTER_HOME", None)
    return subprocess.run(
        [str(yimei), *args], capture_output=True, text=True, env=full_env, timeout=900
    )


def run_log(output: str) -> Path:
    """The log file a `yimei run` named in its summary: its dbt and Dagster logs."""
    line = next(line for line in output.splitlines() if line.startswith("Run log:"))
    path = Path(line.split(":", 1)[1].strip())
    assert path.is_file(), path
    return path


def yimei_run(
    landing: Path, data_dir: Path, *flags: str, as_of: date = AS_OF, env: dict | None = None
) -> subprocess.CompletedProcess:
    """`yimei run` on a landing zone into a data directory, on the run date ``as_of``."""
    return run_yimei(
        "run", *flags, "--landing", str(landing), "--data-dir", str(data_dir),
        "--as-of", as_of.isoformat(), env=env,
    )  # fmt: skip


@pytest.fixture(scope="session")
def published(tmp_path_factory, small_landing) -> dict:
    """`yimei run` once on the small landing zone; tests read its outputs (and copy its data
    directory before they write into it)."""
    return scenario(tmp_path_factory, "published", lambda: _run(tmp_path_factory, small_landing))


# Cost: about 120 s alone, 270 s in the suite, once per test run (the lake, dbt on Spark, GX's
# Spark engine). Needed: the only run of the Spark engine end to end; every Spark test reads it.
@pytest.fixture(scope="session")
def spark_run(tmp_path_factory, tiny_landing) -> dict:
    """`yimei run --engine spark` once on the tiny landing zone (the lake, dbt on Spark, the
    suites on GX's Spark engine, the publish); compared with ``clean_run``, the DuckDB run of
    the same landing zone. The tiny sample carries every violation and every bad delivery;
    on Spark it costs 122 s alone and 270 s in the suite, where the small one cost 325 s in the
    suite (stop 32): a Spark query's cost on a few thousand rows is planning, not data."""
    return scenario(
        tmp_path_factory,
        "spark_run",
        lambda: _run(tmp_path_factory, tiny_landing, "--engine", "spark", folder="spark_run"),
    )


def _run(
    tmp_path_factory: pytest.TempPathFactory,
    landing_zone: tuple[Path, dict],
    *flags: str,
    folder: str = "data",
) -> dict:
    """`yimei run` on a landing zone into a new data directory: its result and where."""
    landing, manifest = landing_zone
    data_dir = tmp_path_factory.mktemp(folder)
    result = yimei_run(landing, data_dir, *flags)
    return {"result": result, "data_dir": data_dir, "landing": landing, "manifest": manifest}


def manifest_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
