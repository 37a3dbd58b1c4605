"""Per-stage timings of a `yimei run`, read back from the Dagster instance it wrote."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ingestion.contract import FEEDS
from orchestration.feeds.assets import FEED_SECONDS

# the stages of `yimei run`; "report" is the blue-book's own run after it (`yimei report`)
STAGES = ("ingest", "dbt_build", "quality", "publish")
FEED_OF_TABLE = {contract.table: feed for feed, tables in FEEDS.items() for contract in tables}

# dbt models whose execution the pandas peer redoes (orders in, market_monthly out).
MARKET_MONTHLY_PATH = (
    "staging/stg_orders__orders",
    "staging/base_platform__clinics",
    "staging/stg_platform__clinics",
    "intermediate/int_orders__enriched",
    "intermediate/int_orders__completed",
    "marts/market_monthly",
)


def stage_of(step_key: str) -> str:
    """The benchmark stage of a Dagster step key."""
    if step_key.startswith("ingest"):
        return "ingest"
    if step_key.startswith("yimei_dbt"):
        return "dbt_build"
    if step_key.startswith("governance"):
        return "quality"
    if step_key.startswith("serving"):
        return "publish"
    if step_key.startswith("reports"):
        return "report"
    return "other"


@dataclass(frozen=True)
class Step:
    run_id: str
    job: str
    step_key: str
    stage: str
    start: float  # epoch seconds
    end: float
    status: str  # success or failure
    # when the step recorded its first asset materialization, if it did: for ingestion,
    # the data is committed then, and the rest of the step is Dagster recording partitions
    first_materialization: float | None = None

    @property
    def wall_s(self) -> float:
        return self.end - self.start

    @property
    def until_first_materialization_s(self) -> float | None:
        if self.first_materialization is None:
            return None
        return self.first_materialization - self.start


@dataclass
class RunEvents:
    steps: list[Step]
    runs: list[dict]  # run_id, job, status, start, end
    dbt_model_s: dict[str, float]  # asset key -> dbt "Execution Duration"


def read_events(dagster_home: Path, since: float) -> RunEvents:
    """Steps, runs and dbt model durations of the runs that started at or after `since`."""
    import dagster as dg
    from dagster import DagsterEventType

    step_events = {
        DagsterEventType.STEP_START,
        DagsterEventType.STEP_SUCCESS,
        DagsterEventType.STEP_FAILURE,
    }
    steps: list[Step] = []
    runs: list[dict] = []
    dbt_model_s: dict[str, float] = {}
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        records = [r for r in instance.get_run_records() if (r.start_time or 0) >= since - 1]
        for record in sorted(records, key=lambda r: r.start_time or 0):
            run = record.dagster_run
            runs.append(
                {
                    "run_id": run.run_id,
                    "job": run.job_name,
                    "status": run.status.value,
                    "start": record.start_time,
                    "end": record.end_time,
                }
            )
            started: dict[str, float] = {}
            run_steps: list[Step] = []
            for entry in instance.all_logs(run.run_id, of_type=step_events):
                kind = entry.dagster_event.event_type_value
                if kind == "STEP_START":
                    started[entry.step_key] = entry.timestamp
                elif entry.step_key in started:
                    run_steps.append(
                        Step(
                            run_id=run.run_id,
                            job=run.job_name,
                            step_key=entry.step_key,
                            stage=stage_of(entry.step_key),
                            start=started.pop(entry.step_key),
                            end=entry.timestamp,
                            status="success" if kind == "STEP_SUCCESS" else "failure",
                        )
                    )
            first_seen: dict[str, float] = {}
            feed_spans: dict[str, list[float]] = {}  # feed -> [seconds, first, last]
            for entry in instance.all_logs(
                run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
            ):
                first_seen.setdefault(entry.step_key, entry.timestamp)
                materialization = entry.dagster_event.event_specific_data.materialization
                feed_s = materialization.metadata.get(FEED_SECONDS)
                if feed_s is not None:
                    feed = FEED_OF_TABLE[materialization.asset_key.path[-1]]
                    span = feed_spans.setdefault(feed, [float(feed_s.value), entry.timestamp, 0])
                    span[2] = entry.timestamp
                duration = materialization.metadata.get("Execution Duration")
                if duration is not None:
                    key = materialization.asset_key.to_user_string()
                    dbt_model_s[key] = dbt_model_s.get(key, 0.0) + float(duration.value)
            steps += [
                replace(step, first_materialization=first_seen.get(step.step_key))
                for step in run_steps
            ]
            # One ingestion step loads every feed; each feed is also told on its own, as a
            # step of stage "feed" (not summed into the stages): from the start of its load to
            # its last materialisation, the load itself ending at its first.
            steps += [
                Step(
                    run_id=run.run_id,
                    job=run.job_name,
                    step_key=f"ingest_{feed}",
                    stage="feed",
                    start=first - seconds,
                    end=last,
                    status="success",
                    first_materialization=first,
                )
                for feed, (seconds, first, last) in feed_spans.items()
            ]
    finally:
        instance.dispose()
    return RunEvents(steps=steps, runs=runs, dbt_model_s=dbt_model_s)
