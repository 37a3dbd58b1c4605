"""Two runs on one data directory: one waits for the other, saying which run holds it.

- started together on a fresh directory: one loads and publishes, the other waits, then
  finds nothing new; no file is loaded twice and no build step overlaps another;
- started while another stands mid-build (paused at the named point ``dbt:start``, the
  "20 s apart" case without a sleep): the second names the first's Dagster run and waits;
- a run launched through Dagster itself (the way the UI's sensors and schedule launch
  them: ``dagster job execute`` in its own process) waits for ``yimei run`` the same way.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.reliability.conftest import (
    DEADLINE_S,
    FIGURES,
    LOGS,
    copy_data_dir,
    dagster_runs,
    serving_version,
    start_yimei,
    wait_for,
    yimei_env,
)

pytestmark = pytest.mark.pipeline


def _loads_per_file(data_dir: Path) -> dict[str, int]:
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        return dict(
            con.execute("select source_file, count(*) from audit.load_audit group by 1").fetchall()
        )
    finally:
        con.close()


def _build_intervals(data_dir: Path) -> list[tuple[float, float]]:
    """(start, end) of every build_check_publish run that actually ran a step."""
    import sqlite3

    con = sqlite3.connect(data_dir / "dagster" / "history" / "runs.db")
    try:
        rows = con.execute(
            "select start_time, end_time from runs "
            "where pipeline_name = 'build_check_publish' and start_time is not null"
        ).fetchall()
    finally:
        con.close()
    return sorted(rows)


def test_two_runs_started_together_take_turns(tmp_path, clean_run, clean_version):
    landing = clean_run["landing"]
    data_dir = tmp_path / "data"
    first = start_yimei(landing, data_dir, log_name="a")
    second = start_yimei(landing, data_dir, log_name="b")
    assert first.wait() == 0, first.output()[-3000:]
    assert second.wait() == 0, second.output()[-3000:]
    FIGURES["concurrent runs"] += 2
    outputs = first.output() + second.output()
    assert "is in use by" in outputs, "the later run said it waited"
    assert "Traceback" not in outputs
    assert set(_loads_per_file(data_dir).values()) == {1}, "nothing was loaded twice"
    builds = _build_intervals(data_dir)
    for (_, end), (start, _) in zip(builds, builds[1:], strict=False):
        assert start >= end, "no build overlapped another"
    assert serving_version(data_dir / "serving.duckdb")["counts"] == clean_version["counts"]


@pytest.fixture
def paused_run(tmp_path, clean_run):
    """`yimei run --rebuild` standing at the start of dbt, holding the data directory."""
    data_dir = copy_data_dir(clean_run["data_dir"], tmp_path / "data")
    release = tmp_path / "release"
    run = start_yimei(
        clean_run["landing"], data_dir, "--rebuild", faults=f"dbt:start=wait:{release}"
    )
    wait_for(
        lambda: release.with_name("release.reached").exists() or run.process.poll(), "dbt:start"
    )
    assert run.process.poll() is None, run.output()[-3000:]
    yield {"run": run, "data_dir": data_dir, "release": release}
    release.touch()
    run.wait()


def _holder_run_id(data_dir: Path) -> str:
    text = (data_dir / "yimei.lock").read_text(encoding="utf-8")
    return re.search(r"Dagster run ([0-9a-f-]{36})", text).group(1)


def test_a_run_started_mid_build_names_the_holder_and_waits(paused_run, clean_run):
    data_dir = paused_run["data_dir"]
    holder = _holder_run_id(data_dir)
    second = start_yimei(clean_run["landing"], data_dir, log_name="late")
    wait_for(
        lambda: "is in use by" in second.output() or second.process.poll() is not None,
        "the wait message",
    )
    assert holder in second.output(), "the message names the Dagster run holding the warehouse"
    assert second.process.poll() is None, "it waits rather than failing"
    paused_run["release"].touch()
    assert paused_run["run"].wait() == 0, paused_run["run"].output()[-3000:]
    assert second.wait() == 0, second.output()[-3000:]
    FIGURES["concurrent runs"] += 2
    assert "Nothing new since the last publish" in second.output(), "the first run published it"
    assert "Traceback" not in second.output()


def test_a_run_launched_by_dagster_waits_for_yimei_run(paused_run, clean_run):
    """The code path of a sensor's or the schedule's run: a Dagster run worker process
    initialises the warehouse resource, which takes the lock."""
    data_dir = paused_run["data_dir"]
    dagster = Path(sys.executable).with_name("dagster")
    env = yimei_env(data_dir, YIMEI_LANDING_DIR=str(clean_run["landing"]))
    env.update(DAGSTER_HOME=str(data_dir / "dagster"), YIMEI_AS_OF="2026-11-23")
    log = LOGS[0] / f"{data_dir.parent.name}-dagster-job.log"
    with log.open("wb") as handle:
        job = subprocess.Popen(
            [
                str(dagster),
                "job",
                "execute",
                "-m",
                "orchestration.definitions",
                "-j",
                "ingest_deliveries",
                "--tags",
                '{"dagster/partition": "2026-11-20"}',
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=Path(__file__).parents[2],
        )
    wait_for(
        lambda: "is in use by" in log.read_text(errors="replace") or job.poll() is not None,
        "the Dagster run to wait",
    )
    assert job.poll() is None, log.read_text(errors="replace")[-3000:]
    paused_run["release"].touch()
    assert paused_run["run"].wait() == 0
    assert job.wait(timeout=DEADLINE_S) == 0, log.read_text(errors="replace")[-3000:]
    FIGURES["concurrent runs"] += 2
    statuses = [
        status for _, job_name, status in dagster_runs(data_dir) if job_name == "ingest_deliveries"
    ]
    assert statuses and statuses[-1] == "SUCCESS"
