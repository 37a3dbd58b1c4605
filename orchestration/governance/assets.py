"""Governance: the GE suites, the rule checks, and the publish gate.

The governance asset runs every suite once and records, in one transaction, the findings, the
listing actions and the rule results. Each rule is then an asset check on the asset it judges:
a finding rule's on the dbt model whose column decides it (its catalogue ``guards``), reported
from this run's rule results by ``finding_rule_checks``; a blocking rule's (GOV-10..13, which
judge what is about to be published) on the publish gate. The gate's checks are ``blocking``
and the gate itself fails when one of them fails or a blocking rule was not judged, so the
publish step (orchestration/serving) never starts and ``serving.duckdb`` is left untouched;
the gate records the run ``blocked`` (quality/outcomes.py).
Every run, blocked or not, also rebuilds the quality site: the GX Data Docs under
``<data dir>/quality/gx/`` and the summary page ``<data dir>/quality/index.html``.
"""

import dagster as dg

from ingestion import faults
from ingestion.duck import transaction
from orchestration.automation import AFTER_UPSTREAM_UPDATES
from orchestration.resources import WarehouseResource
from orchestration.transform.assets import yimei_dbt_models
from quality.rules import RULES, Rule

FINDINGS = dg.AssetKey(["governance", "findings"])
RULE_RESULTS = dg.AssetKey(["governance", "rule_results"])
LISTING_ACTIONS = dg.AssetKey(["governance", "listing_actions"])
GATE = dg.AssetKey(["governance", "publish_gate"])
BLOCKING_RULES = tuple(rule for rule in RULES if rule.blocking)
FINDING_RULES = tuple(rule for rule in RULES if not rule.blocking)
# a failing blocking rule is an error (it stops publication), a finding rule's a warning
SEVERITY = {True: dg.AssetCheckSeverity.ERROR, False: dg.AssetCheckSeverity.WARN}


def judged_asset(rule: Rule) -> dg.AssetKey:
    """The asset a rule's check is reported on: the dbt model a finding rule judges, the
    publish gate for a blocking rule (it judges the publication)."""
    return GATE if rule.blocking else dg.AssetKey(rule.guards.split("."))


def _check_spec(rule: Rule) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        name=rule.check_name,
        asset=judged_asset(rule),
        blocking=rule.blocking,
        # a finding rule's check reads what the governance step recorded
        additional_deps=[] if rule.blocking else [RULE_RESULTS],
        description=f"{rule.rule_id} ({rule.severity}, owner {rule.owner}) on "
        f"{rule.guards}: {rule.title}",
    )


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
)
def governance_checks(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    # Great Expectations takes about 4 s to import: loaded by the step that uses it, not by
    # every process that loads the definitions (`yimei run` with nothing new, the UI, sensors).
    from quality.docs import SITE_DIR
    from quality.facts import SparkFacts
    from quality.findings import create_governance_tables, write_findings, write_rule_results
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
        # what this step records lands together or not at all: a run killed in the middle
        # leaves the last run's findings, actions and results as they were
        with transaction(con):
            create_governance_tables(con)
            outcomes, marks = run_entity_rules(con, validator, facts=facts)
            record_waivers(con, waivers, context.run_id)
            write_findings(con, outcomes, context.run_id, marks, waivers)
            faults.point("governance:findings_written")
            actions = write_listing_actions(
                con, context.run_id, published_suspensions(settings.serving_path)
            )
            # The blocking rules judge the findings and the actions as they will be published
            # (GOV-10 reads every published table), so they run after both are written; their
            # own findings follow. In a run that publishes they have none: a blocking finding
            # stops publication.
            blocking = run_blocking_rules(con, validator, facts=facts)
            write_findings(con, blocking, context.run_id)
            outcomes |= blocking
            write_rule_results(con, outcomes, context.run_id)
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


def _build_data_docs(context, validator, quality_dir):
    """The Data Docs are for reading, not enforcing: a rendering error is reported on the
    quality site and in the log, and the checks still judge the run."""
    from quality.docs import DocsSite

    try:
        return validator.build_data_docs(quality_dir)
    except Exception as error:  # noqa: BLE001
        context.log.exception("building the Great Expectations Data Docs failed")
        return DocsSite(index_href=None, error=f"{type(error).__name__}: {error}")


def _rule_check_results(
    con, run_id: str, rules: tuple[Rule, ...]
) -> list[tuple[Rule, dg.AssetCheckResult]]:
    """This run's result of each of ``rules`` that it judged, as the rule's check result:
    entities checked and failing, and the ten smallest failing entity ids."""
    by_id = {rule.rule_id: rule for rule in rules}
    judged = con.execute(
        "select rule_id, entities_checked, entities_failing, passed "
        "from governance.rule_results where run_id = ? and rule_id in (select unnest(?))",
        [run_id, list(by_id)],
    ).fetchall()
    samples: dict[str, list[str]] = {}
    for rule_id, entity_id in con.execute(
        "select rule_id, entity_id from governance.findings "
        "where status <> 'resolved' and rule_id in (select unnest(?)) "
        "qualify row_number() over (partition by rule_id order by entity_id) <= 10 "
        "order by rule_id, entity_id",
        [list(by_id)],
    ).fetchall():
        samples.setdefault(rule_id, []).append(entity_id)
    return [
        (
            rule,
            dg.AssetCheckResult(
                asset_key=judged_asset(rule),
                check_name=rule.check_name,
                passed=passed,
                severity=SEVERITY[rule.blocking],
                metadata={
                    "entities_checked": checked,
                    "entities_failing": failing,
                    "sample": ", ".join(samples.get(rule_id, [])),
                },
            ),
        )
        for rule_id, checked, failing, passed in sorted(judged)
        for rule in [by_id[rule_id]]
    ]


@dg.multi_asset_check(
    name="finding_rule_checks",
    specs=[_check_spec(rule) for rule in FINDING_RULES],
    # a run that builds some of the judged models reports the checks of those
    can_subset=True,
)
def finding_rule_checks(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
    """GOV-01..09 and GOV-14..18, each on the model it judges, as this run's governance step
    found them; none when the run did not judge them (the governance step not selected)."""
    selected = {key.name for key in context.selected_asset_check_keys}
    with warehouse.connect(read_only=True) as con:
        judged = _rule_check_results(
            con, context.run.run_id, tuple(r for r in FINDING_RULES if r.check_name in selected)
        )
    for _, result in judged:
        yield result


@dg.asset(
    key=GATE,
    deps=[RULE_RESULTS],
    group_name="governance",
    automation_condition=AFTER_UPSTREAM_UPDATES,
    check_specs=[_check_spec(rule) for rule in BLOCKING_RULES],
)
def publish_gate(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Publication is allowed only when this run's blocking rules were all judged and all
    passed; otherwise the run is recorded ``blocked`` and the gate fails, so the publish step
    never starts."""
    from quality.outcomes import BLOCKED, record_outcome

    with warehouse.connect(read_only=True) as con:
        judged = _rule_check_results(con, context.run_id, BLOCKING_RULES)
    results = [result for _, result in judged]
    failed = [rule.rule_id for rule, result in judged if not result.passed]
    if len(judged) < len(BLOCKING_RULES):  # a run whose governance step judged nothing
        raise dg.Failure(
            description="publication blocked by missing rule results",
            metadata={"failed_rules": ""},
        )
    if failed:
        with warehouse.connect() as con:
            record_outcome(con, context.run_id, BLOCKED)
        yield from results
        raise dg.Failure(
            description=f"publication blocked by {', '.join(failed)}",
            metadata={"failed_rules": ", ".join(failed)},
        )
    yield dg.MaterializeResult(
        metadata={"blocking_rules_passed": len(results)}, check_results=results
    )
