"""Every landed table is an asset under ``raw/``, partitioned by delivery date; one
multi-asset loads them all. A run loads the partitions of its range that are complete and
new or re-sent, two feeds at a time (``ingestion.loader.load_feeds``: the orders once the
CRM is in); everything else in the range is left as it is.

One step rather than one per feed: the orders resolve against the CRM loaded in the same run
(GOV-11), and a step that loads nothing must not make Dagster skip the ones after it (a feed
that did not deliver in the range materialises nothing). The multi-asset can be subset: a
run that selects only the registry tables loads only the registry feed.
"""

from datetime import date

import dagster as dg
import duckdb

from ingestion.contract import FEEDS, RESOLVED_AGAINST
from ingestion.loader import FeedLoadResult, load_feed, load_feeds
from orchestration.feeds.partitions import delivery_dates
from orchestration.resources import WarehouseResource

# Orders are resolved against the CRM at ingestion (GOV-11): the CRM's tables come first.
FEED_DEPS = {
    feed: [c.table for needed in feeds for c in FEEDS[needed]]
    for feed, feeds in RESOLVED_AGAINST.items()
}
# The order in which the feeds start loading, two at a time: the CRM and the registry, then
# the orders as soon as the CRM is in and the reviews as a lane frees, two lanes of about the
# same length (at 10M orders, loaded outside Dagster: 167 s and 183 s).
FEED_ORDER = ("clinics", "registry", "orders", "reviews")
# Metadata of each raw materialisation: seconds the loader spent on its whole feed this run
# (the benchmark's per-feed figures).
FEED_SECONDS = "feed_load_seconds"


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


def feed_specs(feed: str) -> list[dg.AssetSpec]:
    return [
        dg.AssetSpec(
            raw_key(contract.table),
            group_name="raw",
            kinds={"duckdb"},
            # An order resolves against the whole CRM loaded so far, not one day of it.
            deps=[
                dg.AssetDep(raw_key(t), partition_mapping=dg.AllPartitionMapping())
                for t in FEED_DEPS.get(feed, [])
            ],
            partitions_def=delivery_dates,
            # materialised per delivered partition below, not for every day of the range
            skippable=True,
            description=f"Raw `{contract.table}` rows of the `{feed}` feed that passed the "
            "contract (feeds.md); rejected rows are in audit.quarantine.",
        )
        for contract in FEEDS[feed]
    ]


@dg.multi_asset(
    name="ingest_feeds",
    specs=[spec for feed in FEED_ORDER for spec in feed_specs(feed)],
    can_subset=True,
    # A range of delivery dates (a backfill, a first load) is one run, one pass.
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def ingest_feeds(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    settings = warehouse.settings()
    requested = {date.fromisoformat(key) for key in context.partition_keys}
    selected = context.selected_asset_keys
    feeds = [f for f in FEED_ORDER if any(raw_key(c.table) in selected for c in FEEDS[f])]

    def load(con: duckdb.DuckDBPyConnection, feed: str) -> FeedLoadResult:
        return load_feed(
            con,
            settings.landing_dir,
            feed,
            settings.pii_key,
            context.run_id,
            requested,
            lake_dir=settings.lake_dir if settings.on_spark else None,
        )

    for result in load_feeds(warehouse.connect, feeds, load):
        context.log.info(
            "%s: %d partitions loaded, %d replaced, %d unchanged, %d incomplete skipped (%.1f s)",
            result.feed,
            len(result.partitions_loaded),
            len(result.partitions_replaced),
            result.partitions_unchanged,
            len(result.partitions_skipped_incomplete),
            result.seconds,
        )
        # One materialisation per partition that delivered and loaded, rather than one per
        # day of the range: a first load crosses days on which a feed sent nothing (the
        # registries send a snapshot a month), and those stay unmaterialised.
        replaced = set(result.partitions_replaced)
        for dt in sorted(result.partitions_loaded + result.partitions_replaced):
            for contract in FEEDS[result.feed]:
                loaded, quarantined = result.partition_rows.get((contract.table, dt), (0, 0))
                yield dg.AssetMaterialization(
                    asset_key=raw_key(contract.table),
                    partition=dt.isoformat(),
                    metadata={
                        "rows_loaded": loaded,
                        "rows_quarantined": quarantined,
                        "replaced_earlier_delivery": dt in replaced,
                        FEED_SECONDS: round(result.seconds, 3),
                    },
                )


# A day's deliveries are one run (a first load too): each run costs about a second of
# Dagster bookkeeping, and the feeds of a day arrive together.
ingest_job = dg.define_asset_job(
    "ingest_deliveries",
    selection=dg.AssetSelection.assets(ingest_feeds),
    partitions_def=delivery_dates,
    description="Load the complete, new or re-sent partitions of every feed into raw.",
)
