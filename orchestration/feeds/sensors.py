"""Start runs when deliveries complete: a partition gains (or renews) its `_SUCCESS`."""

import hashlib
import json

import dagster as dg

from ingestion.landing import list_partitions
from orchestration.feeds.assets import FEED_ORDER, ingest_jobs
from orchestration.feeds.partitions import delivery_ranges, range_tags
from orchestration.jobs import build_and_publish_job
from orchestration.resources import WarehouseResource


@dg.sensor(
    name="landing_success_markers",
    jobs=list(ingest_jobs.values()),
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def landing_success_markers(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    """The cursor remembers the fingerprint of every complete partition seen; new or
    re-sent ones request one ingestion run per feed and range of delivery dates."""
    settings = warehouse.settings()
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    requests = []
    for feed in FEED_ORDER:
        complete = [p for p in list_partitions(settings.landing_dir, feed) if p.complete]
        changed = {p.dt: (p.key, p.quick_fingerprint()) for p in complete}
        changed = {dt: kf for dt, kf in changed.items() if seen.get(kf[0]) != kf[1]}
        for start, end in delivery_ranges([p.dt for p in complete], set(changed)):
            # One delivery state, one run: the key is the range's fingerprints.
            in_range = sorted(kf for dt, kf in changed.items() if start <= dt <= end)
            run_key = hashlib.sha256(json.dumps(in_range).encode()).hexdigest()
            requests.append(
                dg.RunRequest(
                    job_name=ingest_jobs[feed].name, run_key=run_key, tags=range_tags(start, end)
                )
            )
        seen.update(changed.values())
    if not requests:
        return dg.SkipReason("no new complete partition")
    context.update_cursor(json.dumps(seen, sort_keys=True))
    return requests


@dg.run_status_sensor(
    name="publish_after_ingestion",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=list(ingest_jobs.values()),
    request_job=build_and_publish_job,
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def publish_after_ingestion(context: dg.RunStatusSensorContext):
    """New raw data: rebuild, check and publish (runs queue one at a time, dagster.yaml)."""
    return dg.RunRequest(run_key=f"after-{context.dagster_run.run_id}")
