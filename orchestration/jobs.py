"""The jobs `yimei run`, `yimei report`, the sensors and the schedule launch.

Ingestion runs over ranges of delivery dates, all feeds in one run (orchestration/feeds); the
rest of the graph up to publication (dbt, governance checks, the publish gate, serving) is
unpartitioned and runs as one job after ingestion. The blue-book reports read the published
database and run as a job of their own after it: `yimei report`, or the daily_path automation
sensor in a deployment, renders them; a day's path to `serving.duckdb` does not wait for
5-10 s of rendering (issue 33).
"""

import dagster as dg

from orchestration.feeds.assets import ingest_job

RAW_GROUP = "raw"
REPORTS_GROUP = "reports"

build_and_publish_job = dg.define_asset_job(
    "build_check_publish",
    selection=dg.AssetSelection.all()
    - dg.AssetSelection.groups(RAW_GROUP)
    - dg.AssetSelection.groups(REPORTS_GROUP),
    description="dbt build, the governance suites, the publish gate, serving.duckdb and the "
    "PostgreSQL endpoint.",
)

reports_job = dg.define_asset_job(
    "blue_book_reports",
    selection=dg.AssetSelection.groups(REPORTS_GROUP),
    description="The blue-book reports (HTML + PDF), from the published serving.duckdb.",
)

__all__ = ["build_and_publish_job", "ingest_job", "reports_job"]
