"""The fault-injection suite: the real pipeline in subprocesses, invariants after each fault.

Faults are injected at named points (``ingestion/faults.py``, ``YIMEI_FAULTS``) or by a
test acting on files and mounts; waits are for events (a file appearing, a line in a
run's output) with a deadline, never a fixed sleep. Figures (faults injected, reads,
hostile cases, errors) are collected in ``FIGURES`` and printed at the end of the session
(tests/reliability/README.md quotes the last run).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from quality.published import PUBLISHED_TABLES
from tests.conftest import AS_OF, TEST_PII_KEY

DEADLINE_S = 600
FIGURES: Counter = Counter()
LOGS: list[Path] = []  # the session's folder for run outputs, set by run_logs


@pytest.fixture(scope="session", autouse=True)
def run_logs(tmp_path_factory) -> Path:
    """Run outputs live apart from the data directories (which a test may make read-only)."""
    LOGS[:] = [tmp_path_factory.mktemp("run-logs")]
    return LOGS[0]


def pytest_sessionfinish(session):
    """Under pytest-xdist, a worker hands its figures to the controller (tests/conftest.py)."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["reliability_figures"] = dict(FIGURES)


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.write_line(
            f"reliability figures: {json.dumps(dict(sorted(FIGURES.items())))}"
        )


@dataclass
class Run:
    """A `yimei run` started in its own process group, its output in a file."""

    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait(self, timeout: float = DEADLINE_S) -> int:
        return self.process.wait(timeout=timeout)


def yimei_env(data_dir: Path, faults: str = "", **extra: str) -> dict:
    env = {**os.environ, "YIMEI_PII_KEY": TEST_PII_KEY, "YIMEI_FAULTS": faults, **extra}
    env.pop("DAGSTER_HOME", None)
    env["YIMEI_DATA_DIR"] = str(data_dir)
    return env


def start_yimei(
    landing: Path,
    data_dir: Path,
    *args: str,
    faults: str = "",
    log_name: str = "run",
    as_of: date = AS_OF,
    **env,
) -> Run:
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    log = LOGS[0] / f"{data_dir.parent.name}-{log_name}-{time.monotonic_ns()}.log"
    handle = log.open("wb")
    yimei = Path(sys.executable).with_name("yimei")
    process = subprocess.Popen(
        [
            str(yimei),
            "run",
            "--landing",
            str(landing),
            "--data-dir",
            str(data_dir),
            "--as-of",
            as_of.isoformat(),
            *args,
        ],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env=yimei_env(data_dir, faults, **env),
        start_new_session=True,  # its own process group: a "killgroup" fault stays inside
    )
    handle.close()
    return Run(process, log)


def run_yimei(
    landing: Path, data_dir: Path, *args: str, faults: str = "", as_of: date = AS_OF, **env
) -> Run:
    run = start_yimei(landing, data_dir, *args, faults=faults, as_of=as_of, **env)
    run.wait()
    if faults:
        FIGURES["faults injected"] += 1
    return run


def wait_for(condition, what: str, timeout: float = DEADLINE_S, every: float = 0.1):
    """Poll ``condition`` until it returns something true, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def serving_version(serving: Path) -> dict | None:
    """Row counts of every published table, and the run whose results they are; None when
    nothing was published yet. Fails if the file is not one complete version."""
    if not serving.exists():
        return None
    con = duckdb.connect(str(serving), read_only=True)
    try:
        counts = {
            table: con.execute(f"select count(*) from {table}").fetchone()[0]
            for table in PUBLISHED_TABLES
        }
        (latest,) = con.execute(
            "select run_id from governance.rule_results order by checked_at desc limit 1"
        ).fetchone()
        consistent = consistent_version(con, latest)
    finally:
        con.close()
    assert consistent, f"{serving}: findings do not match the rule results of run {latest}"
    return {"counts": counts, "run_id": latest}


@pytest.fixture(scope="session")
def clean_version(clean_run) -> dict:
    """The clean run's published version: the one every recovery must equal."""
    return serving_version(clean_run["data_dir"] / "serving.duckdb")


def consistent_version(con: duckdb.DuckDBPyConnection, run_id: str) -> bool:
    """One version: each rule's published findings are exactly the failing entities that
    rule's result of the latest run counted, and every finding was detected by a run whose
    results are published (an untouched entity's finding keeps the run that found it:
    incremental validation, quality/README.md)."""
    failing = dict(
        con.execute(
            "select rule_id, entities_failing from governance.rule_results where run_id = ?",
            [run_id],
        ).fetchall()
    )
    found = dict(
        con.execute("select rule_id, count(*) from governance.findings group by 1").fetchall()
    )
    runs = {r for (r,) in con.execute("select distinct run_id from governance.findings").fetchall()}
    published_runs = {
        r for (r,) in con.execute("select distinct run_id from governance.rule_results").fetchall()
    }
    return (
        len(failing) > 0
        and all(found.get(rule, 0) == count for rule, count in failing.items())
        and set(found) <= set(failing)
        and runs <= published_runs
    )


def dagster_runs(data_dir: Path) -> list[tuple[str, str, str]]:
    """(run id, job, status) of every run in the data directory's Dagster instance."""
    storage = data_dir / "dagster" / "history" / "runs.db"
    if not storage.exists():
        return []
    import sqlite3

    con = sqlite3.connect(f"file:{storage}?mode=ro", uri=True)
    try:
        return con.execute("select run_id, pipeline_name, status from runs").fetchall()
    finally:
        con.close()


def copy_data_dir(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    # The Dagster instance's dagster.yaml names no path: it works where it is copied.
    return target
