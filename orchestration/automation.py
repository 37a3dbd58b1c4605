"""The daily path in the Dagster UI, declared on the assets instead of chained by sensors.

Each asset after ingestion (the dbt models, the governance checks, the gate, serving and the
report) is materialised when one of its upstream assets was updated since it last ran, once
nothing upstream is still running. New raw partitions thus request exactly what is
downstream of them, in one run per tick (Dagster groups the unpartitioned assets requested
together), like ``yimei run``'s own selection. ``eager()`` is not used: it waits while any
upstream partition is missing, and the raw assets keep days without a delivery missing for
good (the registries deliver a snapshot a month).

``serving/database`` carries a freshness policy: the UI marks the published data late when
no publish happened in the 24 hours before 09:00 Asia/Shanghai.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

# newly_missing: an asset never materialised (a seed, on a new warehouse) is built once too.
AFTER_UPSTREAM_UPDATES = (
    (
        dg.AutomationCondition.any_deps_updated() | dg.AutomationCondition.newly_missing()
    ).since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("after upstream updates")

# The analysts' morning: the daily_refresh schedule runs at 06:30, so 09:00 leaves room.
PUBLISHED_BY_MORNING = dg.FreshnessPolicy.cron(
    deadline_cron="0 9 * * *", lower_bound_delta=timedelta(hours=24), timezone="Asia/Shanghai"
)

daily_path = dg.AutomationConditionSensorDefinition(
    "daily_path",
    target=dg.AssetSelection.all() - dg.AssetSelection.groups("raw"),
    default_status=dg.DefaultSensorStatus.STOPPED,
    minimum_interval_seconds=30,
    description="Rebuild, check and publish what new deliveries changed (automation conditions).",
)
