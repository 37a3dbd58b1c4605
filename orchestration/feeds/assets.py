"""One multi-asset per feed: each landed table is an asset under ``raw/``."""


import dagster as dg

from ingestion.contract import FEEDS
from ingestion.loader import load_feed
from orchestration.resources import WarehouseResource

# Orders are resolved against the CRM at ingestion (GOV-11): the CRM loads first.
FEED_DEPS = {"orders": [dg.AssetKey(["raw", "clinics"]), dg.AssetKey(["raw", "doctors"])]}


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


def build_feed_asset(feed: str) -> dg.AssetsDefinition:
    specs = [
        dg.AssetSpec(
            raw_key(contract.table),
            group_name="raw",
            kinds={"duckdb"},
            deps=FEED_DEPS.get(feed, []),
            description=f"Raw `{contract.table}` rows of the `{feed}` feed that passed the "
            "contract (feeds.md); rejected rows are in audit.quarantine.",
        )
        for contract in FEEDS[feed]
    ]

    @dg.multi_asset(name=f"ingest_{feed}", specs=specs)
    def ingest(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        settings = warehouse.settings()
        with warehouse.connect() as con:
            result = load_feed(con, settings.landing_dir, feed, settings.pii_key, context.run_id)
        context.log.info(
            "%s: %d partitions loaded, %d replaced, %d unchanged, %d incomplete skipped",
            feed,
            len(result.partitions_loaded),
            len(result.partitions_replaced),
            result.partitions_unchanged,
            len(result.partitions_skipped_incomplete),
        )
        for contract in FEEDS[feed]:
            yield dg.MaterializeResult(
                asset_key=raw_key(contract.table),
                metadata={
                    "rows_loaded": result.rows_loaded.get(contract.table, 0),
                    "rows_quarantined": result.rows_quarantined.get(contract.table, 0),
                    "partitions_loaded": len(result.partitions_loaded),
                    "partitions_replaced": len(result.partitions_replaced),
                    "partitions_incomplete_skipped": len(result.partitions_skipped_incomplete),
                },
            )

    return ingest


feed_assets = [build_feed_asset(feed) for feed in FEEDS]
