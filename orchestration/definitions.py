"""The one place that builds the Dagster Definitions (`make ui` and `yimei run` load it)."""

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.feeds.assets import feed_assets
from orchestration.feeds.schedules import daily_refresh
from orchestration.feeds.sensors import landing_success_markers, publish_after_ingestion
from orchestration.governance.assets import governance_checks, publish_gate, serving_database
from orchestration.jobs import build_and_publish_job, ingest_jobs
from orchestration.reports.assets import blue_book_reports
from orchestration.resources import warehouse_resource
from orchestration.transform.assets import yimei_dbt_incremental_models, yimei_dbt_models
from orchestration.transform.project import yimei_dbt_project

defs = dg.Definitions(
    assets=[
        *feed_assets.values(),
        yimei_dbt_incremental_models,
        yimei_dbt_models,
        governance_checks,
        publish_gate,
        serving_database,
        blue_book_reports,
    ],
    jobs=[*ingest_jobs.values(), build_and_publish_job],
    schedules=[daily_refresh],
    sensors=[landing_success_markers, publish_after_ingestion],
    resources={
        "warehouse": warehouse_resource(),
        "dbt": DbtCliResource(project_dir=yimei_dbt_project),
    },
    # One DuckDB file has one writer: steps run one after another, in process.
    executor=dg.in_process_executor,
)
