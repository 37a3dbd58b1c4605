"""One multi-asset per feed: each landed table is an asset under ``raw/``, partitioned
by delivery date. A run loads the partitions of its range that are complete and new
or re-sent; everything else in the range is left as it is."""

from datetime import date

import dagster as dg

from ingestion.contract import FEEDS
from ingestion.loader import load_feed
from orchestration.feeds.partitions import delivery_dates
from orchestration.resources import WarehouseResource

# Orders are resolved against the CRM at ingestion (GOV-11): the CRM loads first.
FEED_DEPS = {"orders": ["clinics", "doctors"]}
# The order in which `yimei run` ingests the feeds.
FEED_ORDER = ("clinics", "registry", "reviews", "orders")


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


def build_feed_asset(feed: str) -> dg.AssetsDefinition:
    specs = [
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
        name=f"ingest_{feed}",
        specs=specs,
        # A range of delivery dates (a backfill, a first load) is one run, one pass.
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def ingest(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        settings = warehouse.settings()
        requested = {date.fromisoformat(key) for key in context.partition_keys}
        with warehouse.connect() as con:
            result = load_feed(
                con, settings.landing_dir, feed, settings.pii_key, context.run_id, requested
            )
        context.log.info(
            "%s: %d partitions loaded, %d replaced, %d unchanged, %d incomplete skipped",
            feed,
            len(result.partitions_loaded),
            len(result.partitions_replaced),
            result.partitions_unchanged,
            len(result.partitions_skipped_incomplete),
        )
        # One materialisation per partition that delivered and loaded, rather than one per
        # day of the range: a first load crosses days on which a feed sent nothing (the
        # registries send a snapshot a month), and those stay unmaterialised.
        replaced = set(result.partitions_replaced)
        for dt in sorted(result.partitions_loaded + result.partitions_replaced):
            for contract in FEEDS[feed]:
                loaded, quarantined = result.partition_rows.get((contract.table, dt), (0, 0))
                yield dg.AssetMaterialization(
                    asset_key=raw_key(contract.table),
                    partition=dt.isoformat(),
                    metadata={
                        "rows_loaded": loaded,
                        "rows_quarantined": quarantined,
                        "replaced_earlier_delivery": dt in replaced,
                    },
                )

    return ingest


feed_assets = {feed: build_feed_asset(feed) for feed in FEEDS}

ingest_jobs = {
    feed: dg.define_asset_job(
        f"ingest_{feed}_job",
        selection=dg.AssetSelection.assets(assets_def),
        partitions_def=delivery_dates,
        description=f"Load delivered `{feed}` partitions into raw (one run per range).",
    )
    for feed, assets_def in feed_assets.items()
}
