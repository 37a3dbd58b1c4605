"""Start runs when deliveries complete: a partition gains (or renews) its `_SUCCESS`."""

import hashlib
import json

import dagster as dg

from orchestration.feeds.assets import FEED_ORDER, ingest_job
from orchestration.feeds.partitions import delivery_ranges, range_tags, scan_landing
from orchestration.resources import WarehouseResource


@dg.sensor(
    name="landing_success_markers",
    job=ingest_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def landing_success_markers(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    """The cursor remembers the fingerprint of every complete partition seen; new or
    re-sent ones request one ingestion run (every feed) per range of delivery dates."""
    settings = warehouse.settings()
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    scan = scan_landing(settings.landing_dir, FEED_ORDER)
    changed = {}
    for complete in scan.complete.values():
        for p in complete:
            if seen.get(p.key) != (fingerprint := p.quick_fingerprint()):
                changed[p.key] = (p.dt, fingerprint)
    requests = []
    for start, end in delivery_ranges(scan.delivered, {dt for dt, _ in changed.values()}):
        # One delivery state, one run: the key is the range's fingerprints.
        in_range = sorted((k, f) for k, (dt, f) in changed.items() if start <= dt <= end)
        run_key = hashlib.sha256(json.dumps(in_range).encode()).hexdigest()
        requests.append(dg.RunRequest(run_key=run_key, tags=range_tags(start, end)))
    seen.update({key: fingerprint for key, (_, fingerprint) in changed.items()})
    if not requests:
        return dg.SkipReason("no new complete partition")
    context.update_cursor(json.dumps(seen, sort_keys=True))
    return requests
