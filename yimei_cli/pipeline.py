"""`yimei run`: materialise the Dagster asset graph up to publication in process and
summarise; `yimei report`: the blue-book reports' own run after it."""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

import dagster as dg

from ingestion import run_lock
from ingestion.audit import feeds_loaded_since, known_deliveries
from ingestion.duck import connect
from ingestion.loader import pending_partitions
from ingestion.settings import EngineMismatch, Settings
from orchestration.event_log import instance_for_runs
from orchestration.runs import fail_dead_runs
from yimei_cli import heap
from yimei_cli.failures import describe_step_failures
from yimei_cli.progress import (
    RunProgress,
    log_path_for,
    run_logger,
    run_output,
    stage_line,
)

# Dagster's console logger stays quiet: a failed step is told by describe_step_failures,
# in words, after the run; every event (tracebacks included) is kept for the UI.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
# In `yimei run` the console logger writes every event to the run's log file instead, and
# the progress logger turns the events into the stage lines.
PROGRESS_LOGGER = "yimei_progress"
LOGGED_RUN = {"loggers": {"console": {"config": {"log_level": "DEBUG"}}, PROGRESS_LOGGER: {}}}
STAGES = ("ingest", "plan", "dbt", "governance", "publish")
SUMMARY_WIDTH = 96


def use_dagster_home(settings: Settings) -> None:
    """`yimei run` and `make ui` share one Dagster instance under the data dir, so the UI
    shows the runs. Its dagster.yaml keeps everything in that folder, turns telemetry
    off (yimei runs without network access) and lets one run at a time write the
    warehouse: DuckDB has a single writer."""
    home = settings.data_dir / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(
            "telemetry:\n  enabled: false\nconcurrency:\n  runs:\n    max_concurrent_runs: 1\n",
            encoding="utf-8",
        )
    os.environ.setdefault("DAGSTER_HOME", str(home))
    # A range run (a first load, a backfill) then plans its partitions in one event per
    # asset instead of one per partition: SQLite stores each event in its own transaction,
    # about 14 ms, which made a year of daily partitions cost more than loading them.
    # The price: a failed range run does not mark each of its partitions as failed.
    os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "1")


def _instance() -> dg.DagsterInstance:
    """The instance use_dagster_home chose, its event log written through kept connections
    (orchestration/event_log.py: about 3 s of a tiny run's 28 s)."""
    return instance_for_runs(Path(os.environ["DAGSTER_HOME"]))


def pending_ranges(settings: Settings) -> list[tuple[date, date]]:
    """Ranges of delivery dates to ingest (every feed in one run per range): the complete
    partitions that are new or re-sent."""
    from orchestration.feeds.assets import FEED_ORDER
    from orchestration.feeds.partitions import FIRST_DELIVERY_DATE, delivery_ranges, scan_landing

    con = connect(settings.warehouse_path)
    try:
        known = {feed: known_deliveries(con, feed) for feed in FEED_ORDER}
    finally:
        con.close()
    scan = scan_landing(settings.landing_dir, FEED_ORDER)
    for p in scan.too_early:
        print(f"  {p.key}: before the first delivery date {FIRST_DELIVERY_DATE}, not loaded")
    pending = {
        p.dt
        for feed, complete in scan.complete.items()
        for p in pending_partitions(complete, known[feed])
    }
    return delivery_ranges(scan.delivered, pending)


def loads_watermark(settings: Settings) -> str:
    """Changes whenever a partition is loaded or replaced."""
    rows = _query(
        settings,
        "select count(*), coalesce(sum(deliveries), 0), max(loaded_at)::varchar "
        "from audit.partition_loads",
    )
    return "/".join(str(v) for v in rows[0]) if rows else ""


def run_pipeline(
    settings: Settings, rebuild: bool = False, full_refresh: bool = False, verbose: bool = False
) -> int:
    """Ingest every pending range of delivery dates (one Dagster run each, all feeds), then
    build, check and publish what changed (one run): the jobs the sensors launch.

    The whole of it holds the data directory's run lock (``run_lock``): a second run
    waits, then finds what the first loaded already loaded. When nothing was ingested
    and the last successful build was for the same run date, loads and dbt project,
    serving.duckdb is already current: the build is skipped unless ``rebuild``."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with run_lock.hold(settings.data_dir, f"yimei run (as of {settings.as_of})"):
        try:
            settings.claim_engine()
        except EngineMismatch as error:
            print(f"yimei run: {error}")
            return 2
        use_dagster_home(settings)
        with _instance() as instance:
            for dead in fail_dead_runs(instance):
                print(f"run {dead} had died without finishing (killed?): marked failed")
        return _run_locked(settings, rebuild or full_refresh, full_refresh, verbose)


def stage_of_step() -> dict[str, str]:
    """The stage each step of the ingest and build jobs belongs to, for the stage lines."""
    from orchestration.feeds.assets import ingest_feeds
    from orchestration.governance.alerts import governance_alerts
    from orchestration.governance.assets import finding_rule_checks, governance_checks, publish_gate
    from orchestration.serving.assets import postgres_endpoint, serving_database
    from orchestration.transform.assets import yimei_dbt_models

    stages = {
        "ingest": [ingest_feeds],
        "dbt": [yimei_dbt_models],
        "governance": [governance_checks, finding_rule_checks, governance_alerts, publish_gate],
        "publish": [serving_database, postgres_endpoint],
    }
    return {d.node_def.name: stage for stage, defs in stages.items() for d in defs}


def _with_progress(job: dg.JobDefinition, progress: RunProgress) -> dg.JobDefinition:
    return job.with_logger_defs({**job.loggers, PROGRESS_LOGGER: run_logger(progress)})


def _run_locked(settings: Settings, rebuild: bool, full_refresh: bool, verbose: bool) -> int:
    from orchestration.jobs import build_and_publish_job
    from orchestration.transform.selection import (
        AS_OF_TAG,
        LOADS_TAG,
        PROJECT_TAG,
        last_successful_build,
        project_fingerprint,
    )

    started = time.monotonic()
    pending = pending_ranges(settings)
    built_from = {
        AS_OF_TAG: settings.as_of.isoformat(),
        LOADS_TAG: loads_watermark(settings),
        PROJECT_TAG: project_fingerprint(),
    }
    if not rebuild and not pending and settings.serving_path.exists():
        # Checked before the asset graph (and dbt's manifest) is loaded: a few seconds.
        with _instance() as instance:
            last_build = last_successful_build(instance, build_and_publish_job.name)
            if last_build and last_build.built_from(built_from):
                print(
                    f"Nothing new since the last publish for {settings.as_of}: "
                    f"{settings.serving_path} is current (yimei run --rebuild rebuilds anyway)."
                )
                _catch_up_endpoint(settings)
                return 0
    with heap.loading_for_good():
        from orchestration.definitions import defs  # after settings.export(): env is read
        from orchestration.feeds.partitions import range_tags
        from orchestration.jobs import ingest_job
        from orchestration.serving.assets import SERVING
        from orchestration.transform.assets import yimei_dbt_models
        from orchestration.transform.selection import plan_build

    log_path = log_path_for(settings.data_dir)
    print(f"yimei run as of {settings.as_of}; the full log: {log_path}")
    progress = RunProgress(stage_of_step(), STAGES)
    ingest_run_ids: list[str] = []
    result, published = None, False
    with run_output(log_path, verbose, progress) as console, _instance() as instance:
        job = _with_progress(defs.resolve_job_def(ingest_job.name), progress)
        progress.ingest_tables = len(job.asset_layer.executable_asset_keys)
        progress.open("ingest")
        for start, end in pending:
            result = job.execute_in_process(
                instance=instance,
                raise_on_error=False,
                run_config=LOGGED_RUN,
                tags=range_tags(start, end),
            )
            ingest_run_ids.append(result.run_id)
            if not result.success:
                progress.close()
                break
        else:
            progress.close(ingest_outcome(settings, ingest_run_ids))
            if ingest_run_ids:  # the loads moved on: tag the build with what it is built from
                built_from[LOADS_TAG] = loads_watermark(settings)
            build_job = _with_progress(defs.resolve_job_def(build_and_publish_job.name), progress)
            plan = plan_build(
                defs.resolve_asset_graph(),
                set(build_job.asset_layer.executable_asset_keys),
                last_successful_build(instance, build_job.name),
                built_from,
                lambda since: _feeds_loaded_since(settings, since),
                rebuild=rebuild,
                full_refresh=full_refresh,
            )
            console.line(stage_line("plan", plan.reason))
            run_config = {**LOGGED_RUN, "ops": {}}
            if plan.full_refresh:
                run_config["ops"][yimei_dbt_models.op.name] = {"config": {"full_refresh": True}}
            result = build_job.execute_in_process(
                instance=instance,
                raise_on_error=False,
                run_config=run_config,
                tags=built_from,
                asset_selection=plan.selection,
            )
            progress.close()
            published = SERVING in {e.asset_key for e in result.get_asset_materialization_events()}
            if result.success and not published:
                # Dagster calls a run whose steps were skipped a success; it published
                # nothing, so it is recorded failed: the next run must not take it for the
                # last publish.
                instance.report_run_failed(
                    result.dagster_run, message="the run did not publish: a step was skipped"
                )
    elapsed = time.monotonic() - started
    if result.success and published:
        print_summary(settings, ingest_run_ids, result.run_id, elapsed, log_path)
        return 0
    return _failed(settings, result, ingest_run_ids, elapsed, log_path)


def ingest_outcome(settings: Settings, ingest_run_ids: list[str]) -> str:
    """The ingest stage's line: what this run's ingest runs loaded (the load audit)."""
    if not ingest_run_ids:
        return f"nothing new in {settings.landing_dir}"
    feeds, files, loaded, quarantined, rejected = _query(
        settings,
        "select count(distinct feed), count(*), coalesce(sum(rows_loaded), 0), "
        "coalesce(sum(rows_quarantined), 0), count(*) filter (where file_status = "
        "'quarantined') from audit.load_audit where run_id in (select unnest(?))",
        [ingest_run_ids],
    )[0]
    return (
        f"{files:,} files of {feeds} feeds: {loaded:,} rows loaded, {quarantined:,} rows "
        f"quarantined, {rejected:,} files rejected"
    )


def last_published_as_of(settings: Settings) -> date | None:
    """The run date of the last publish (its run's tag), which a report describes."""
    from orchestration.jobs import build_and_publish_job
    from orchestration.transform.selection import last_successful_build

    use_dagster_home(settings)
    with _instance() as instance:
        last_build = last_successful_build(instance, build_and_publish_job.name)
    return last_build.as_of if last_build else None


def run_reports(settings: Settings, force: bool = False) -> int:
    """The blue-book reports from the published database, as a Dagster run of their own (the
    one the daily_path sensor launches after a publish in a deployment); the warehouse
    resource holds the run lock, so no publish replaces serving.duckdb under it."""
    if not settings.serving_path.exists():
        print(f"yimei report: nothing published yet in {settings.data_dir}: run `yimei run`")
        return 1
    use_dagster_home(settings)
    with heap.loading_for_good():
        from orchestration.definitions import defs  # after settings.export(): env is read
        from orchestration.jobs import reports_job
        from orchestration.reports.assets import blue_book_reports
    reports = {blue_book_reports.op.name: {"config": {"force": force}}}
    run_config = {**QUIET_CONSOLE, "ops": reports}
    with _instance() as instance:
        result = defs.resolve_job_def(reports_job.name).execute_in_process(
            instance=instance, raise_on_error=False, run_config=run_config
        )
    if not result.success:
        failures = describe_step_failures(settings, result) or ["no step failed; the run did"]
        print(f"REPORTS FAILED (run {result.run_id}; every event is in the Dagster UI: make ui)")
        for line in failures:
            print(f"  {line}")
        return 1
    for event in result.get_asset_materialization_events():
        meta = {key: value.value for key, value in event.materialization.metadata.items()}
        print(
            stage_line(
                "reports", f"blue-book reports for {meta['year']} in {settings.reports_dir}:"
            )
        )
        for label, key in (
            ("rendered", "paths"),
            ("unchanged", "unchanged"),
            ("skipped", "skipped"),
        ):
            if meta.get(key):
                print(f"  {label}: " + str(meta[key]).replace("\n", "\n  " + " " * len(label)))
    return 0


def _feeds_loaded_since(settings: Settings, since) -> set[str]:
    con = connect(settings.warehouse_path, read_only=True)
    try:
        return feeds_loaded_since(con, since)
    finally:
        con.close()


def _failed(
    settings: Settings, result, ingest_run_ids: list[str], elapsed: float, log_path: Path
) -> int:
    blocked_rules = print_summary(settings, ingest_run_ids, result.run_id, elapsed, log_path)
    if blocked_rules:
        print(
            f"\nPUBLICATION BLOCKED by {', '.join(blocked_rules)}: "
            f"{settings.serving_path} was left unchanged."
        )
        # the run-failure sensor's alert, which no daemon sends for an in-process run
        from orchestration.governance.alerts import notify_blocked_run

        notify_blocked_run(result.run_id, settings)
    else:
        failures = describe_step_failures(settings, result) or ["no step failed; the run did"]
        headline = "RUN FAILED" if not result.success else "RUN DID NOT PUBLISH"
        print(f"\n{headline} (run {result.run_id}; every event is in the Dagster UI: make ui)")
        for line in failures:
            print(f"  {line}")
        print(f"  {settings.serving_path} still holds the last published version.")
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


def print_summary(
    settings: Settings, ingest_run_ids: list[str], run_id: str, elapsed: float, log_path: Path
) -> list[str]:
    """What the run wrote, in a screenful: rows loaded by table, each rule's failing entities,
    the published tables, where everything is. Returns the blocking rules that failed."""
    print(f"\nyimei run {run_id} (as of {settings.as_of}, {elapsed:.0f} s)")
    loads = _query(
        settings,
        "select table_name, sum(rows_loaded), sum(rows_quarantined) + count(*) "
        "filter (where file_status = 'quarantined') from audit.load_audit "
        "where run_id in (select unnest(?)) and table_name is not null group by 1 order by 1",
        [ingest_run_ids],
    )
    if loads:
        print("Rows loaded (rows and files quarantined):")
        _print_columns(
            (table, f"{loaded:,}", f"({quarantined:,})" if quarantined else "")
            for table, loaded, quarantined in loads
        )
    rules = _query(
        settings,
        "select rule_id, severity, entities_failing, passed "
        "from governance.rule_results where run_id = ? order by rule_id",
        [run_id],
    )
    blocking = [r[0] for r in rules if r[1] == "blocking"]
    if rules:
        print(f"Entities failing each rule (blocking: {', '.join(blocking)}):")
        _print_columns((rule_id, f"{failing:,}", "") for rule_id, _, failing, _ in rules)
    if settings.serving_path.exists():
        con = connect(settings.serving_path, read_only=True)
        try:
            tables = con.execute(
                "select schema_name || '.' || table_name, estimated_size from duckdb_tables() "
                "order by 1"
            ).fetchall()
        finally:
            con.close()
        print("Published tables (rows):")
        _print_columns((table, f"{rows:,}", "") for table, rows in tables)
    print(f"\nWarehouse:    {settings.warehouse_path}")
    print(
        f"Published:    {settings.serving_path}  (query: duckdb -readonly {settings.serving_path})"
    )
    _print_endpoint(settings)
    print(f"Quality site: {settings.quality_dir / 'index.html'}")
    print(f"Reports:      {settings.reports_dir}  (yimei report renders them from this publish)")
    print(f"Run log:      {log_path}")
    print("Dagster UI:   make ui  (http://127.0.0.1:3000)")
    return [r[0] for r in rules if r[1] == "blocking" and not r[3]]


def _print_columns(cells) -> None:
    """(name, figure, note) cells in aligned columns, as many as fit in SUMMARY_WIDTH."""
    cells = list(cells)
    widths = [max(len(cell[i]) for cell in cells) for i in range(3)]
    cell_width = widths[0] + 1 + widths[1] + (1 + widths[2] if widths[2] else 0)
    per_line = max(1, (SUMMARY_WIDTH - 2) // (cell_width + 4))
    for i in range(0, len(cells), per_line):
        row = [
            f"{name:<{widths[0]}} {figure:>{widths[1]}}"
            + (f" {note:<{widths[2]}}" if widths[2] else "")
            for name, figure, note in cells[i : i + per_line]
        ]
        print(("  " + "    ".join(row)).rstrip())


def _print_endpoint(settings: Settings) -> None:
    """The PostgreSQL endpoint's state after this run, when there is one (serving/endpoint)."""
    from serving.endpoint import read_status

    status = read_status(settings.data_dir)
    if status is None or status.state == "not configured":
        return
    if status.behind:
        print(
            f"PostgreSQL:   BEHIND ({status.endpoint}): {status.detail}; serves "
            f"{status.version or 'nothing yet'}, the next run catches up"
        )
    else:
        print(f"PostgreSQL:   current ({status.endpoint}), version {status.version}")


def _catch_up_endpoint(settings: Settings) -> None:
    """Nothing to build, but an endpoint left behind by an earlier run is brought current."""
    from serving.endpoint import keep_current, read_status

    status = read_status(settings.data_dir)
    if status is not None and status.behind:
        keep_current(settings.data_dir, settings.serving_path, settings.warehouse_path)
        _print_endpoint(settings)
