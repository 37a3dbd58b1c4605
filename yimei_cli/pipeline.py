"""`yimei run`: materialise the whole Dagster asset graph in process and summarise."""

from __future__ import annotations

import os
import time

import dagster as dg

from ingestion.duck import connect
from ingestion.settings import Settings


def use_dagster_home(settings: Settings) -> None:
    """`yimei run` and `make ui` share one Dagster instance under the data dir, so the UI
    shows the runs. Its dagster.yaml keeps everything in that folder and turns telemetry
    off: yimei runs without network access."""
    home = settings.data_dir / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    os.environ.setdefault("DAGSTER_HOME", str(home))


def run_pipeline(settings: Settings) -> int:
    use_dagster_home(settings)
    from orchestration.definitions import defs  # after settings.export(): resources read env

    started = time.monotonic()
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.get() as instance:
        # The console shows warnings and errors; every event is kept in the instance for the UI.
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
    elapsed = time.monotonic() - started
    failed_steps = [
        event.step_key for event in result.all_events if event.event_type_value == "STEP_FAILURE"
    ]
    blocked_rules = print_summary(settings, result.run_id, elapsed)
    if result.success:
        return 0
    if blocked_rules:
        print(
            f"\nPUBLICATION BLOCKED by {', '.join(blocked_rules)}: "
            f"{settings.serving_path} was left unchanged."
        )
    else:
        print(
            f"\nRUN FAILED in step(s): {', '.join(failed_steps) or 'unknown'} "
            f"(run {result.run_id}; details in the Dagster UI: make ui)."
        )
    return 1


def _query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    if not settings.warehouse_path.exists():
        return []
    con = connect(settings.warehouse_path, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    except Exception:  # a table this run never reached: nothing to show
        return []
    finally:
        con.close()


def print_summary(settings: Settings, run_id: str, elapsed: float) -> list[str]:
    print(f"\nyimei run {run_id} (as of {settings.as_of}, {elapsed:.0f} s)")
    print(f"  landing:   {settings.landing_dir}")
    print(f"  warehouse: {settings.warehouse_path}")
    loads = _query(
        settings,
        "select table_name, sum(rows_loaded), sum(rows_quarantined), count(*) "
        "filter (where file_status = 'quarantined') from audit.load_audit "
        "where run_id = ? and table_name is not null group by 1 order by 1",
        [run_id],
    )
    print("\nIngested this run (rows loaded / rows quarantined / files rejected):")
    for table, loaded, quarantined, rejected in loads:
        print(f"  {table:<14} {loaded:>10,} {quarantined:>8,} {rejected:>4}")
    if not loads:
        print("  nothing new")
    rules = _query(
        settings,
        "select rule_id, severity, entities_checked, entities_failing, passed "
        "from governance.rule_results where run_id = ? order by rule_id",
        [run_id],
    )
    print("\nGovernance rules (entities checked / failing):")
    for rule_id, severity, checked, failing, passed in rules:
        status = "ok" if passed else ("BLOCKED" if severity == "blocking" else "findings")
        print(f"  {rule_id} {severity:<8} {checked:>10,} {failing:>8,}  {status}")
    blocked = [r[0] for r in rules if r[1] == "blocking" and not r[4]]
    if settings.serving_path.exists():
        con = connect(settings.serving_path, read_only=True)
        try:
            tables = con.execute(
                "select schema_name || '.' || table_name, estimated_size from duckdb_tables() "
                "order by 1"
            ).fetchall()
        finally:
            con.close()
        print(f"\nPublished: {settings.serving_path}")
        for table, rows in tables:
            print(f"  {table:<32} {rows:>10,} rows")
    print(f"\nQuality site: {settings.quality_dir / 'index.html'}")
    print(f"Reports:      {settings.reports_dir}")
    print("Dagster UI:   make ui  (http://127.0.0.1:3000)")
    print(f"Query:        duckdb {settings.serving_path}")
    return blocked
