"""The jobs `yimei run`, the sensors and the schedule launch.

Ingestion runs over ranges of delivery dates, all feeds in one run (orchestration/feeds); the
rest of the graph (dbt, governance checks, the publish gate, serving) is
unpartitioned and runs as one job after ingestion.
"""

import dagster as dg

from orchestration.feeds.assets import ingest_job

RAW_GROUP = "raw"

build_and_publish_job = dg.define_asset_job(
    "build_check_publish",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups(RAW_GROUP),
    description="dbt build, the governance suites, the publish gate, serving.duckdb and the "
    "PostgreSQL endpoint.",
)

__all__ = ["build_and_publish_job", "ingest_job"]
