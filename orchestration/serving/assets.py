"""Serving: the checked version published, once the gate has said yes."""

import dagster as dg

from orchestration.automation import AFTER_UPSTREAM_UPDATES, PUBLISHED_BY_MORNING
from orchestration.governance.assets import GATE
from orchestration.resources import WarehouseResource
from quality.outcomes import PUBLISHED, record_outcome
from serving.publish import publish

SERVING = dg.AssetKey(["serving", "database"])


@dg.asset(
    key=SERVING,
    deps=[GATE],
    group_name="serving",
    kinds={"duckdb"},
    automation_condition=AFTER_UPSTREAM_UPDATES,
    freshness_policy=PUBLISHED_BY_MORNING,
)
def serving_database(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """The published, read-only, PII-free database for analysts, BI and reports."""
    settings = warehouse.settings()
    tables = publish(settings.warehouse_path, settings.serving_path, context.run_id)
    with warehouse.connect() as con:
        record_outcome(con, context.run_id, PUBLISHED)
    return dg.MaterializeResult(
        metadata={"path": str(settings.serving_path), "tables": ", ".join(tables)}
    )


POSTGRES = dg.AssetKey(["serving", "postgres"])
ENDPOINT_CURRENT = "endpoint_current"


@dg.asset(
    key=POSTGRES,
    deps=[SERVING],
    group_name="serving",
    kinds={"postgres"},
    automation_condition=AFTER_UPSTREAM_UPDATES,
    check_specs=[
        dg.AssetCheckSpec(
            ENDPOINT_CURRENT,
            asset=POSTGRES,
            description="PostgreSQL serves the version serving.duckdb holds (warns when behind: "
            "serving.duckdb is published either way, and the next run catches up).",
        )
    ],
)
def postgres_endpoint(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """The published tables in PostgreSQL, for BI tools (serving/endpoint.py); nothing to do
    when no endpoint is configured."""
    from serving.endpoint import keep_current

    settings = warehouse.settings()
    status = keep_current(settings.data_dir, settings.serving_path, settings.warehouse_path)
    if status.behind:
        context.log.warning(f"PostgreSQL endpoint behind ({status.endpoint}): {status.detail}")
    metadata = {
        "state": status.state,
        "endpoint": status.endpoint,
        "version": status.version or "",
        "serving_version": status.serving_version or "",
        "detail": status.detail,
    }
    yield dg.MaterializeResult(asset_key=POSTGRES, metadata=metadata)
    yield dg.AssetCheckResult(
        asset_key=POSTGRES,
        check_name=ENDPOINT_CURRENT,
        passed=not status.behind,
        severity=dg.AssetCheckSeverity.WARN,
        metadata=metadata,
    )
