"""Start a run when a delivery completes: a partition gains (or renews) its `_SUCCESS`."""


import hashlib
import json

import dagster as dg

from ingestion.contract import FEEDS
from ingestion.landing import list_partitions
from orchestration.resources import WarehouseResource


@dg.sensor(
    name="landing_success_markers",
    target=dg.AssetSelection.all(),
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def landing_success_markers(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    """The cursor remembers the fingerprint of every complete partition seen; a new or
    re-sent one requests a run keyed by the fingerprints, so one delivery starts one run."""
    settings = warehouse.settings()
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    changed = {}
    for feed in FEEDS:
        for partition in list_partitions(settings.landing_dir, feed):
            if partition.complete:
                fingerprint = partition.quick_fingerprint()
                if seen.get(partition.key) != fingerprint:
                    changed[partition.key] = fingerprint
    if not changed:
        return dg.SkipReason("no new complete partition")
    seen.update(changed)
    context.update_cursor(json.dumps(seen, sort_keys=True))
    run_key = hashlib.sha256(json.dumps(changed, sort_keys=True).encode()).hexdigest()
    return dg.RunRequest(
        run_key=run_key, tags={"yimei/partitions": ",".join(sorted(changed))[:1000]}
    )
