"""The publish gate: every blocking rule stops publication and keeps the last good
version of serving.duckdb byte for byte; `yimei run` exits non-zero naming the rule and
alerts the rule's owner (the webhooks of conftest.py)."""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import replace

import dagster as dg
import duckdb
import pytest

from quality.rules import RULE_BY_ID
from tests.conftest import AS_OF, TINY, make_landing, yimei_run
from tests.quality.conftest import check_formats, posts_by_path, webhooks_env

pytestmark = pytest.mark.pipeline


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("scenario", "rule_id"),
    [
        ("inject_stale_feed", "GOV-12"),
        ("inject_volume_drop", "GOV-12"),
        ("inject_pii_leak", "GOV-10"),
    ],
)
# Cost: about 40 s each (a run of the tiny sample with the defect). Needed: each blocking
# scenario is its own rule and its own defect in the deliveries.
def test_a_blocking_scenario_keeps_the_last_good_version_and_alerts_the_owner(
    clean_run, robots, tmp_path, scenario, rule_id
):
    landing, manifest = make_landing(tmp_path, replace(TINY, **{scenario: True}))
    assert manifest["blocking"] == [rule_id]
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    # the clean run's serving.duckdb: the last good version
    shutil.copy(clean_run["data_dir"] / "serving.duckdb", data_dir / "serving.duckdb")
    before = digest(data_dir / "serving.duckdb")
    base, received = robots
    start = len(received)

    result = yimei_run(landing, data_dir, env=webhooks_env(base))

    assert result.returncode != 0
    blocked = [line for line in result.stdout.splitlines() if "PUBLICATION BLOCKED" in line]
    assert blocked and rule_id in blocked[0], result.stdout[-3000:]
    # the governance stage's line said it as the run went, and no publish stage followed
    stages = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert f"publication BLOCKED by {rule_id}" in stages["governance"], result.stdout[-3000:]
    assert "publish" not in stages
    check_formats(
        posts_by_path(received, start),
        rule_id, "blocking", RULE_BY_ID[rule_id].owner, "publication blocked",
    )  # fmt: skip
    assert digest(data_dir / "serving.duckdb") == before
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        failing = con.execute(
            "select count(*) from governance.findings where rule_id = ? and severity = 'blocking'",
            [rule_id],
        ).fetchone()[0]
        outcomes = con.execute("select outcome from governance.run_outcomes").fetchall()
    finally:
        con.close()
    assert failing >= 1
    # the blocked run is a decided run: its rule results appear in the next publish
    assert outcomes == [("blocked",)]


PLANTS = {
    # a second copy of one market_monthly row: a duplicate key
    "GOV-11": "insert into marts.market_monthly select * from marts.market_monthly limit 1",
    # a persona cell describing 3 buyers
    "GOV-13": "update marts.persona_segments set buyers = 3 "
    "where rowid = (select min(rowid) from marts.persona_segments)",
}


JUDGEMENTS = [
    dg.AssetKey(["governance", name])
    for name in ("gov_table_profiles", "gov_feed_status", "gov_small_cells")
]


@pytest.mark.parametrize("rule_id", sorted(PLANTS))
def test_a_planted_defect_blocks_the_gate(clean_run, tmp_path, monkeypatch, rule_id):
    """Defects dbt itself would never build, planted after the build: the governance
    step, the gate and the publish step run for real through Dagster."""
    landing, good_dir = clean_run["landing"], clean_run["data_dir"]
    data_dir = tmp_path / "data"
    shutil.copytree(good_dir, data_dir, ignore=shutil.ignore_patterns("dagster"))
    before = digest(data_dir / "serving.duckdb")
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    con.execute(PLANTS[rule_id])
    con.close()
    for name, value in {
        "YIMEI_LANDING_DIR": str(landing),
        "YIMEI_DATA_DIR": str(data_dir),
        "YIMEI_AS_OF": AS_OF.isoformat(),
    }.items():
        monkeypatch.setenv(name, value)

    from orchestration.definitions import defs
    from orchestration.governance.assets import GATE, governance_checks
    from orchestration.serving.assets import SERVING

    job = defs.resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            instance=instance,
            # the table rules' facts are dbt models (models/governance): rebuilt over the defect
            asset_selection=[*JUDGEMENTS, *governance_checks.keys, GATE, SERVING],
            raise_on_error=False,
        )
    assert not result.success
    checks = {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    failed = sorted(name for name, passed in checks.items() if not passed)
    assert any(name.startswith(rule_id.lower().replace("-", "_")) for name in failed), failed
    assert not any(
        e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key == SERVING
        for e in result.all_events
    )
    assert digest(data_dir / "serving.duckdb") == before
    assert os.listdir(data_dir).count("serving.duckdb") == 1
