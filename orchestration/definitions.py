"""The one place that builds the Dagster Definitions (`make ui` and `yimei run` load it)."""

import dagster as dg

from orchestration.automation import daily_path
from orchestration.feeds.assets import ingest_feeds
from orchestration.feeds.schedules import daily_refresh
from orchestration.feeds.sensors import landing_success_markers
from orchestration.governance.alerts import governance_alerts, governance_alerts_on_blocked_run
from orchestration.governance.assets import (
    finding_rule_checks,
    governance_checks,
    publish_gate,
)
from orchestration.jobs import build_and_publish_job, ingest_job, reports_job
from orchestration.reports.assets import blue_book_reports
from orchestration.resources import warehouse_resource
from orchestration.serving.assets import postgres_endpoint, serving_database
from orchestration.transform.assets import yimei_dbt_models
from orchestration.transform.project import yimei_dbt_project
from orchestration.transform.resources import OfflineDbtCliResource

defs = dg.Definitions(
    assets=[
        ingest_feeds,
        yimei_dbt_models,
        governance_checks,
        governance_alerts,
        publish_gate,
        serving_database,
        postgres_endpoint,
        blue_book_reports,
    ],
    asset_checks=[finding_rule_checks],
    jobs=[ingest_job, build_and_publish_job, reports_job],
    schedules=[daily_refresh],
    sensors=[landing_success_markers, daily_path, governance_alerts_on_blocked_run],
    resources={
        "warehouse": warehouse_resource(),
        "dbt": OfflineDbtCliResource(project_dir=yimei_dbt_project),
    },
    # One DuckDB file has one writer: steps run one after another, in process.
    executor=dg.in_process_executor,
)
