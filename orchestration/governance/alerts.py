"""Alerts to the rules' owners (quality/alerts.py), as Dagster shows them.

``governance/alerts`` runs after ``governance/rule_results`` on every run that was not
blocked and posts a threshold breach of new findings; a blocked run stops before it (the
blocking checks skip everything downstream), so the run-failure sensor
``governance_alerts_on_blocked_run`` posts that run's alert. Both also post what earlier
runs failed to deliver. A webhook's failure is logged, never raised.
"""

import dagster as dg

from ingestion import run_lock
from ingestion.duck import connect
from ingestion.settings import Settings
from orchestration.automation import AFTER_UPSTREAM_UPDATES
from orchestration.governance.assets import RULE_RESULTS
from orchestration.jobs import build_and_publish_job
from orchestration.resources import WarehouseResource
from quality.alerts import notify
from quality.outcomes import BLOCKED, outcome_of

ALERTS = dg.AssetKey(["governance", "alerts"])


def _site(settings: Settings) -> str:
    return str(settings.quality_dir / "index.html")


@dg.asset(
    key=ALERTS,
    deps=[RULE_RESULTS],
    group_name="governance",
    kinds={"duckdb"},
    automation_condition=AFTER_UPSTREAM_UPDATES,
    description="Alerts the rules' owners of new findings above a rule's threshold "
    "(YIMEI_ALERT_WEBHOOKS: WeCom, DingTalk, Slack); retries earlier failed posts.",
)
def governance_alerts(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    settings = warehouse.settings()
    with warehouse.connect() as con:
        deliveries = notify(con, context.run_id, _site(settings))
    for d in deliveries:
        if not d.ok:
            context.log.warning(
                f"alert of run {d.run_id} not delivered, retried next run: {d.error}"
            )
    return dg.MaterializeResult(
        metadata={
            "posted": sum(d.ok for d in deliveries),
            "failed, kept for the next run": sum(not d.ok for d in deliveries),
        }
    )


def notify_blocked_run(run_id: str, settings: Settings, log=print) -> None:
    """The alert of a run that ended blocked; `yimei run` calls it too (no daemon there)."""
    with run_lock.hold(settings.data_dir, f"alerts of run {run_id}", on_wait=log):
        con = connect(settings.warehouse_path)
        try:
            if outcome_of(con, run_id) != BLOCKED:
                return  # failed for another reason: no rule to name
            for d in notify(con, run_id, _site(settings)):
                if not d.ok:
                    log(f"alert of run {d.run_id} not delivered, retried next run: {d.error}")
        finally:
            con.close()


@dg.run_failure_sensor(
    name="governance_alerts_on_blocked_run",
    monitored_jobs=[build_and_publish_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts the rules' owners when a run's publication was blocked.",
)
def governance_alerts_on_blocked_run(context: dg.RunFailureSensorContext):
    try:
        notify_blocked_run(
            context.dagster_run.run_id, Settings.from_env().resolved(), context.log.warning
        )
    except Exception as error:  # an alert never fails anything, not even the sensor
        context.log.error(f"alerts of run {context.dagster_run.run_id}: {error}")
