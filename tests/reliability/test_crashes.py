"""SIGKILL at named points from ingestion to just after the publish rename.

One data directory lives through a chain of killed runs: each run is killed at a later
point than the one before, so each must first recover from the previous kill (reload
the rolled-back chunk, rebuild, re-check) to get there. After every kill the warehouse
opens, ``serving.duckdb`` is absent or one complete version, and nothing half-written
is published; the last run completes and publishes exactly the tables of a clean run,
with no stale copy left, no killed Dagster run still STARTED, and only the rule results
of runs that completed their checks.
"""

from __future__ import annotations

import duckdb
import pytest

from tests.reliability.conftest import dagster_runs, run_yimei, serving_version

pytestmark = pytest.mark.pipeline

# (fault, what the kill interrupts, whether serving.duckdb exists afterwards)
KILLS = [
    ("ingest:before_commit=kill", "ingestion, inside a chunk's transaction", False),
    ("dbt:building=killgroup", "dbt build, mid-build (the dbt process with it)", False),
    ("governance:findings_written=kill", "governance, findings written, rules not", False),
    ("publish:before_rename=kill", "publish, the new copy written, not renamed", False),
    ("publish:after_rename=kill", "publish, just after the rename", True),
]


# Cost: about 175 s (five runs each killed one point later, then a clean run). Needed: each
# kill point is a distinct crash the next run must recover from; they share one directory.
@pytest.fixture(scope="module")
def chain(tmp_path_factory, clean_run):
    data_dir = tmp_path_factory.mktemp("crashes") / "data"
    landing = clean_run["landing"]
    observed = []
    for fault, _, _ in KILLS:
        run = run_yimei(landing, data_dir, faults=fault)
        observed.append(
            {
                "fault": fault,
                "returncode": run.process.returncode,
                "serving": serving_version(data_dir / "serving.duckdb"),
                "stale": sorted(p.name for p in data_dir.glob(".serving.duckdb.*")),
                "warehouse_opens": _opens(data_dir / "warehouse.duckdb"),
                "output": run.output(),
            }
        )
    final = run_yimei(landing, data_dir)
    return {"data_dir": data_dir, "observed": observed, "final": final}


def _opens(path) -> bool:
    if not path.exists():
        return True
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute("select count(*) from duckdb_tables()").fetchone()
        return True
    finally:
        con.close()


@pytest.mark.parametrize("step", range(len(KILLS)), ids=[k[0] for k in KILLS])
def test_each_kill_leaves_a_whole_version_or_none(chain, step):
    fault, _, published = KILLS[step]
    seen = chain["observed"][step]
    assert seen["returncode"] == -9, f"{fault}: the run was killed\n{seen['output'][-2000:]}"
    assert seen["warehouse_opens"]
    # serving_version asserted that what is there is one complete, consistent version
    assert (seen["serving"] is not None) == published, fault


def test_the_publish_killed_before_its_rename_left_its_copy_and_the_next_run_removed_it(chain):
    before_rename = chain["observed"][3]
    assert before_rename["stale"], "a kill before the rename leaves the half-done copy"
    assert not list(chain["data_dir"].glob(".serving.duckdb.*"))


def test_the_run_after_the_kills_publishes_what_a_clean_run_publishes(chain, clean_version):
    final = chain["final"]
    assert final.process.returncode == 0, final.output()[-3000:]
    version = serving_version(chain["data_dir"] / "serving.duckdb")
    assert version["counts"] == clean_version["counts"]


def test_killed_runs_are_marked_failed_and_their_rule_results_unpublished(chain):
    runs = dagster_runs(chain["data_dir"])
    assert not [r for r in runs if r[2] in ("STARTED", "STARTING")], runs
    assert sum(1 for r in runs if r[2] == "FAILURE") >= len(KILLS)
    assert "marked failed" in chain["final"].output() or "marked failed" in "".join(
        o["output"] for o in chain["observed"]
    )
    con = duckdb.connect(str(chain["data_dir"] / "serving.duckdb"), read_only=True)
    try:
        published_runs = con.execute(
            "select count(distinct run_id) from governance.rule_results"
        ).fetchone()[0]
    finally:
        con.close()
    assert published_runs == 1, "only the run that completed its checks and published"
