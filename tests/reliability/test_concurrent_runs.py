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


def _start_dagster_job(data_dir: Path, landing: Path) -> tuple[subprocess.Popen, Path]:
    """The code path of a sensor's or the schedule's run: a Dagster run worker process
    (`dagster job execute`) initialises the warehouse resource, which takes the lock."""
    dagster = Path(sys.executable).with_name("dagster")
    env = yimei_env(data_dir, YIMEI_LANDING_DIR=str(landing))
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
    return job, log


# Cost: about 60 s (a rebuild held at the start of dbt while a second `yimei run` and a
# Dagster run worker wait for it). Needed: waiting on a real holder is what is tested; the
# two waiters share one holder (stop 30: a holder each was 2 x 50 s).
@pytest.fixture(scope="module")
def mid_build(tmp_path_factory, clean_run) -> dict:
    """`yimei run --rebuild` standing at the start of dbt, holding the data directory, while
    a second `yimei run` and a Dagster-launched run start; then released, and all three
    waited for. What each printed, the holder's run id and the data directory."""
    root = tmp_path_factory.mktemp("mid_build")
    data_dir = copy_data_dir(clean_run["data_dir"], root / "data")
    release = root / "release"
    holder = start_yimei(
        clean_run["landing"], data_dir, "--rebuild", faults=f"dbt:start=wait:{release}"
    )
    try:
        wait_for(
            lambda: release.with_name("release.reached").exists() or holder.process.poll(),
            "dbt:start",
        )
        assert holder.process.poll() is None, holder.output()[-3000:]
        holder_id = _holder_run_id(data_dir)
        late = start_yimei(clean_run["landing"], data_dir, log_name="late")
        job, job_log = _start_dagster_job(data_dir, clean_run["landing"])
        wait_for(
            lambda: "is in use by" in late.output() or late.process.poll() is not None,
            "the wait message",
        )
        wait_for(
            lambda: "is in use by" in job_log.read_text(errors="replace") or job.poll() is not None,
            "the Dagster run to wait",
        )
        waiting = {
            "late": (late.process.poll(), late.output()),
            "job": (job.poll(), job_log.read_text(errors="replace")),
        }
    finally:
        release.touch()
    return {
        "data_dir": data_dir,
        "holder_id": holder_id,
        "waiting": waiting,
        "holder": (holder.wait(), holder.output()),
        "late": (late.wait(), late.output()),
        "job": (job.wait(timeout=DEADLINE_S), job_log.read_text(errors="replace")),
    }


def _holder_run_id(data_dir: Path) -> str:
    text = (data_dir / "yimei.lock").read_text(encoding="utf-8")
    return re.search(r"Dagster run ([0-9a-f-]{36})", text).group(1)


def test_a_run_started_mid_build_names_the_holder_and_waits(mid_build):
    returncode, output = mid_build["waiting"]["late"]
    assert mid_build["holder_id"] in output, "the message names the Dagster run holding it"
    assert returncode is None, "it waits rather than failing"
    assert mid_build["holder"][0] == 0, mid_build["holder"][1][-3000:]
    returncode, output = mid_build["late"]
    assert returncode == 0, output[-3000:]
    FIGURES["concurrent runs"] += 2
    assert "Nothing new since the last publish" in output, "the first run published it"
    assert "Traceback" not in output


def test_a_run_launched_by_dagster_waits_for_yimei_run(mid_build):
    returncode, output = mid_build["waiting"]["job"]
    assert returncode is None, output[-3000:]
    assert mid_build["holder"][0] == 0
    returncode, output = mid_build["job"]
    assert returncode == 0, output[-3000:]
    FIGURES["concurrent runs"] += 1
    statuses = [
        status
        for _, job_name, status in dagster_runs(mid_build["data_dir"])
        if job_name == "ingest_deliveries"
    ]
    assert statuses and statuses[-1] == "SUCCESS"
