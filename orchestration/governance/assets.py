"""Governance: GE suites as asset checks, and the publish gate.

The governance asset runs every suite once, records findings and rule results,
and reports one asset check per rule. Checks of blocking rules (GOV-10..13) are
``blocking``: when one fails, Dagster does not run anything downstream, so the
gate and the publish step (orchestration/serving) never start and ``serving.duckdb`` is
left untouched.
Every run, blocked or not, also rebuilds the quality site: the GX Data Docs under
``<data dir>/quality/gx/`` and the summary page ``<data dir>/quality/index.html``.
"""

import dagster as dg

from ingestion import faults
from orchestration.automation import AFTER_UPSTREAM_UPDATES
from orchestration.resources import WarehouseResource
from orchestration.transform.assets import yimei_dbt_models
from quality.rules import RULE_BY_ID, RULES

FINDINGS = dg.AssetKey(["governance", "findings"])
RULE_RESULTS = dg.AssetKey(["governance", "rule_results"])
LISTING_ACTIONS = dg.AssetKey(["governance", "listing_actions"])
GATE = dg.AssetKey(["governance", "publish_gate"])

# The checks are reported on governance/rule_results, not on the tables each rule guards:
# Dagster lets a multi-asset report checks only on its own assets (quality/README.md).
rule_checks = [
    dg.AssetCheckSpec(
        name=rule.check_name,
        asset=RULE_RESULTS,
        blocking=rule.blocking,
        description=f"{rule.rule_id} ({rule.severity}, owner {rule.owner}) on "
        f"{rule.guards}: {rule.title}",
    )
    for rule in RULES
]


@dg.multi_asset(
    name="governance_checks",
    specs=[
        dg.AssetSpec(
            FINDINGS,
            group_name="governance",
            kinds={"duckdb", "great_expectations"},
            deps=list(yimei_dbt_models.keys),
            description="One row per entity and rule (governance.md).",
            automation_condition=AFTER_UPSTREAM_UPDATES,
        ),
        dg.AssetSpec(
            LISTING_ACTIONS,
            group_name="governance",
            kinds={"duckdb"},
            deps=[FINDINGS],
            description="The owners' work queue: one action per clinic or doctor with an open "
            "listing finding (GOV-01, GOV-15..18; governance.md).",
            automation_condition=AFTER_UPSTREAM_UPDATES,
        ),
        dg.AssetSpec(
            RULE_RESULTS,
            group_name="governance",
            kinds={"duckdb"},
            deps=[FINDINGS],
            description="Per run and rule: entities checked and failing, passed.",
            automation_condition=AFTER_UPSTREAM_UPDATES,
        ),
    ],
    check_specs=rule_checks,
)
def governance_checks(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    # Great Expectations takes about 4 s to import: loaded by the step that uses it, not by
    # every process that loads the definitions (`yimei run` with nothing new, the UI, sensors).
    from quality.docs import SITE_DIR
    from quality.facts import SparkFacts
    from quality.findings import record_outcome, write_findings, write_rule_results
    from quality.listing_actions import published_suspensions, write_listing_actions
    from quality.runner import Validator, run_blocking_rules, run_entity_rules
    from quality.site import write_summary
    from quality.waivers import read_waivers, record_waivers, waivers_path

    settings = warehouse.settings()
    validator = Validator(run_name=context.run_id)
    waivers = read_waivers(waivers_path(settings.data_dir), settings.as_of)
    for row in waivers.invalid:
        context.log.warning(f"waiver ignored, {waivers.path} line {row.line}: {row.problem}")
    if waivers.file_problem:
        context.log.warning(f"waivers file {waivers.path} ignored: {waivers.file_problem}")
    # on the Spark engine the facts are Spark's tables, validated by GX's Spark engine
    facts = SparkFacts(settings.spark_dir, settings.spark_master) if settings.on_spark else None
    with warehouse.connect() as con:
        outcomes, marks = run_entity_rules(con, validator, facts=facts)
        record_waivers(con, waivers, context.run_id)
        write_findings(con, outcomes, context.run_id, marks, waivers)
        faults.point("governance:findings_written")
        actions = write_listing_actions(
            con, context.run_id, published_suspensions(settings.serving_path)
        )
        # Blocking rules run after the findings and the actions are written: both are
        # published too, so they must pass GOV-10 like every other published table.
        outcomes |= run_blocking_rules(con, validator, facts=facts)
        blocking = {k: v for k, v in outcomes.items() if RULE_BY_ID[k].blocking}
        write_findings(con, blocking, context.run_id)
        write_rule_results(con, outcomes, context.run_id)
        if any(RULE_BY_ID[r].blocking and not o.passed for r, o in outcomes.items()):
            # Dagster will not start the gate: the run's outcome is decided here.
            record_outcome(con, context.run_id, "blocked")
        docs = _build_data_docs(context, validator, settings.quality_dir)
        site = write_summary(con, context.run_id, settings.quality_dir, docs, settings.as_of)
        total = con.execute("select count(*) from governance.findings").fetchone()[0]
    yield dg.MaterializeResult(
        asset_key=FINDINGS,
        metadata={
            "findings": total,
            "quality_site": dg.MetadataValue.path(str(site)),
            "data_docs": dg.MetadataValue.path(str(settings.quality_dir / SITE_DIR / "index.html"))
            if docs.error is None
            else docs.error,
        },
    )
    yield dg.MaterializeResult(asset_key=LISTING_ACTIONS, metadata={"actions": actions})
    yield dg.MaterializeResult(
        asset_key=RULE_RESULTS,
        metadata={r: o.failing_count for r, o in sorted(outcomes.items())},
    )
    for rule in RULES:
        outcome = outcomes[rule.rule_id]
        yield dg.AssetCheckResult(
            asset_key=RULE_RESULTS,
            check_name=rule.check_name,
            passed=outcome.passed,
            severity=dg.AssetCheckSeverity.ERROR if rule.blocking else dg.AssetCheckSeverity.WARN,
            metadata={
                "entities_checked": outcome.entities_checked,
                "entities_failing": outcome.failing_count,
                "sample": ", ".join(outcome.sample()),
            },
        )


def _build_data_docs(context, validator, quality_dir):
    """The Data Docs are for reading, not enforcing: a rendering error is reported on the
    quality site and in the log, and the checks still judge the run."""
    from quality.docs import DocsSite

    try:
        return validator.build_data_docs(quality_dir)
    except Exception as error:  # noqa: BLE001
        context.log.exception("building the Great Expectations Data Docs failed")
        return DocsSite(index_href=None, error=f"{type(error).__name__}: {error}")


@dg.asset(
    key=GATE,
    deps=[RULE_RESULTS],
    group_name="governance",
    automation_condition=AFTER_UPSTREAM_UPDATES,
)
def publish_gate(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Publication is allowed only when this run's blocking rules all passed."""
    from quality.findings import record_outcome

    with warehouse.connect(read_only=True) as con:
        failed = [
            rule_id
            for (rule_id,) in con.execute(
                "select rule_id from governance.rule_results "
                "where run_id = ? and severity = 'blocking' and not passed order by rule_id",
                [context.run_id],
            ).fetchall()
        ]
        judged = con.execute(
            "select count(*) from governance.rule_results "
            "where run_id = ? and severity = 'blocking'",
            [context.run_id],
        ).fetchone()[0]
    if failed or judged == 0:
        if judged:
            with warehouse.connect() as con:
                record_outcome(con, context.run_id, "blocked")
        raise dg.Failure(
            description=f"publication blocked by {', '.join(failed) or 'missing rule results'}",
            metadata={"failed_rules": ", ".join(failed)},
        )
    return dg.MaterializeResult(metadata={"blocking_rules_passed": judged})
