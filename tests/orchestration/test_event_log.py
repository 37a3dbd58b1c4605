"""The run's event log (orchestration/event_log.py): Dagster's SQLite files, written through
connections kept open, read back by Dagster's own storage as the UI reads them."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import dagster as dg
import pytest

from orchestration.event_log import OPEN_FILES, PooledSqliteEventLogStorage, instance_for_runs
from orchestration.serving.assets import SERVING
from quality.rules import RULES
from yimei_cli.pipeline import use_dagster_home

RUNS = OPEN_FILES + 3  # more runs than files kept open


@dg.asset
def clinics() -> int:
    return 20


@dg.asset_check(asset=clinics)
def clinics_listed() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A data directory's Dagster home, its dagster.yaml written as `yimei run` writes it."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "data" / "dagster"))
    use_dagster_home(SimpleNamespace(data_dir=tmp_path / "data"))
    return tmp_path / "data" / "dagster"


def test_runs_written_through_kept_connections_are_read_back_by_another_instance(home):
    with instance_for_runs(home) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        run_ids = [
            dg.materialize([clinics, clinics_listed], instance=instance).run_id for _ in range(RUNS)
        ]
        assert len(storage._engines) <= OPEN_FILES  # older files are closed
        # the UI's instance, Dagster's own storage, while this one keeps its connections open
        with dg.DagsterInstance.from_config(str(home)) as ui:
            assert type(ui.event_log_storage) is not PooledSqliteEventLogStorage
            for run_id in run_ids:
                types = [
                    r.event_log_entry.dagster_event_type
                    for r in ui.get_records_for_run(run_id).records
                    if r.event_log_entry.is_dagster_event
                ]
                assert types.count(dg.DagsterEventType.ASSET_MATERIALIZATION) == 1, run_id
                assert types.count(dg.DagsterEventType.ASSET_CHECK_EVALUATION) == 1, run_id
                assert types[-1] == dg.DagsterEventType.RUN_SUCCESS, run_id
            latest = ui.get_latest_materialization_event(dg.AssetKey("clinics"))
            assert latest.run_id == run_ids[-1]
    # history (home/history/runs), where Dagster's default storage keeps it
    assert {p.stem for p in (home / "history" / "runs").glob("*.db")} == {*run_ids, "index"}


@pytest.mark.pipeline
def test_the_events_of_a_pipeline_run_are_read_by_dagsters_own_storage(clean_run, tmp_path):
    """The real `yimei run`: its instance, copied, read as the UI reads it."""
    home = tmp_path / "dagster"
    shutil.copytree(clean_run["data_dir"] / "dagster", home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        published = instance.get_latest_materialization_event(SERVING)
        assert published is not None
        run = instance.get_run_by_id(published.run_id)
        assert run.status == dg.DagsterRunStatus.SUCCESS
        checks = {
            r.event_log_entry.dagster_event.asset_check_evaluation_data.check_name
            for r in instance.get_records_for_run(
                published.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=10_000
            ).records
        }
    assert {rule.check_name for rule in RULES} <= checks
    assert any(name.startswith("declared_not_null_") for name in checks)  # dbt's tests, checks too
