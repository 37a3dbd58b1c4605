"""governance.findings and governance.rule_results (governance.md, "Findings contract"), and
the DDL of every governance table (quality/listing_actions.py writes the listing actions,
quality/outcomes.py the run outcomes). The findings lifecycle's SQL is findings_lifecycle.sql."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from ingestion.duck import sql_literal
from quality.rules import RULE_BY_ID
from quality.waivers import Waivers

if TYPE_CHECKING:  # quality.runner loads Great Expectations, which the gate does not need
    from quality.runner import RuleOutcome, ValidationMark

# The governance tables, described once: their DDL and the comments BI tools show are derived
# from this (the findings contract of governance.md). (name, type, description) per column.
GOVERNANCE_TABLES: dict[str, tuple[str, tuple[tuple[str, str, str], ...], str]] = {
    "governance.findings": (
        "One row per entity and governance rule (GOV-01..18) it broke in any run: the latest "
        "run's row, with when it was first found, whether it is still open, was resolved or "
        "was waived by its owner.",
        (
            ("rule_id", "varchar", "Rule broken, GOV-01 .. GOV-18 (docs/rules.md)."),
            ("entity_type", "varchar", "clinic, doctor, order, review or table."),
            ("entity_id", "varchar", "The clinic, doctor, order or review id, or the table name."),
            ("clinic_id", "varchar", "The clinic concerned, where there is one."),
            ("severity", "varchar", "blocking (stops publication) or finding."),
            ("detail", "varchar", "Why the entity breaks the rule, in a short sentence."),
            ("run_id", "varchar", "The latest pipeline run that found it."),
            ("detected_at", "timestamptz", "When that run found it."),
            ("first_detected_at", "timestamptz", "When a run first found it (kept across runs)."),
            (
                "status",
                "varchar",
                "open (the latest run still finds it), resolved (a later run no longer does) "
                "or waived (its owner accepted it, see waiver_reason).",
            ),
            ("resolved_at", "timestamptz", "When a run first stopped finding it; null while open."),
            ("waiver_reason", "varchar", "Why the owner accepted it, while waived."),
            ("waived_by", "varchar", "Who accepted it (the waiver's owner), while waived."),
            ("waiver_expires_on", "date", "Last day the waiver applies, while waived."),
        ),
        "",
    ),
    "governance.listing_actions": (
        "The owners' work queue: one row per clinic or doctor with an open (not waived) "
        "finding of a listing check (GOV-01, GOV-15..18), with the action it calls for "
        "(quality/listing_actions.py).",
        (
            ("entity_type", "varchar", "clinic or doctor."),
            ("entity_id", "varchar", "The clinic_id or doctor_id."),
            ("clinic_id", "varchar", "The clinic concerned (a doctor's clinic)."),
            ("clinic_name", "varchar", "The clinic's name as listed."),
            ("city", "varchar", "The clinic's city."),
            (
                "action",
                "varchar",
                "suspend_listing (GOV-01 or GOV-15: stop showing it as a licensed clinic), "
                "correct_listing (GOV-16, GOV-17) or remove_tier_label (GOV-18); the strongest "
                "when several apply.",
            ),
            (
                "rules",
                "varchar",
                "The rules behind the action, each with its detail ('GOV-15: licence 吊销 since "
                "2026-05-03 | GOV-18: …'), ' | '-separated (a detail may hold '; ').",
            ),
            ("since", "timestamptz", "The earliest first detection among those findings."),
            ("owner", "varchar", "The owner of the strongest rule (the rule catalogue)."),
        ),
        "",
    ),
    "governance.rule_results": (
        "One row per rule per checked run: how many entities were checked and how many failed.",
        (
            ("run_id", "varchar", "The pipeline run."),
            ("rule_id", "varchar", "Rule, GOV-01 .. GOV-18."),
            ("severity", "varchar", "blocking or finding."),
            ("owner", "varchar", "Team answerable for the rule."),
            ("rule", "varchar", "The rule in one sentence."),
            ("entities_checked", "bigint", "Entities (or tables) the rule judged in the run."),
            ("entities_failing", "bigint", "Of those, how many break it."),
            ("failure_rate", "double", "entities_failing / entities_checked."),
            ("passed", "boolean", "No failing entity (a blocking rule that fails stops the run)."),
            ("checked_at", "timestamptz", "When the rule was checked."),
        ),
        "",
    ),
    "governance.validation_marks": (
        "How far each incremental fact table was validated, by which expectations "
        "(quality/runner.py).",
        (
            ("table_name", "varchar", "Fact table."),
            ("suite_fingerprint", "varchar", "Digest of the expectations that validated it."),
            ("built_at", "timestamp", "Newest built_at of the rows validated."),
            ("run_id", "varchar", "The run that validated them."),
        ),
        "primary key (table_name, suite_fingerprint)",
    ),
    "governance.run_outcomes": (
        "How each checked run ended: blocked by the gate or published. A run killed before "
        "either has no row, and its rule results are never published (serving/publish.py).",
        (
            ("run_id", "varchar primary key", "The pipeline run."),
            ("outcome", "varchar", "blocked or published."),
            ("decided_at", "timestamptz", "When the gate decided."),
        ),
        "",
    ),
}


def _ddl() -> str:
    statements = ["create schema if not exists governance;"]
    for table, (description, columns, constraint) in GOVERNANCE_TABLES.items():
        body = [f"{name} {type_}" for name, type_, _ in columns]
        if constraint:
            body.append(constraint)
        statements.append(f"create table if not exists {table} ({', '.join(body)});")
        statements.append(f"comment on table {table} is {sql_literal(description)};")
        for name, _, text in columns:
            statements.append(f"comment on column {table}.{name} is {sql_literal(text)};")
    return "\n".join(statements)


# warehouses made before the findings lifecycle: the columns are added, every row taken as open
LIFECYCLE_MIGRATION = """
alter table governance.findings add column if not exists first_detected_at timestamptz;
alter table governance.findings add column if not exists status varchar;
alter table governance.findings add column if not exists resolved_at timestamptz;
alter table governance.findings add column if not exists waiver_reason varchar;
alter table governance.findings add column if not exists waived_by varchar;
alter table governance.findings add column if not exists waiver_expires_on date;
update governance.findings set first_detected_at = detected_at where first_detected_at is null;
update governance.findings set status = 'open' where status is null;
"""
DDL = _ddl() + LIFECYCLE_MIGRATION
FINDING_COLUMNS = [name for name, _, _ in GOVERNANCE_TABLES["governance.findings"][1]]


def create_governance_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The governance tables, with the comments BI tools show, and the lifecycle's columns in a
    warehouse made before it. The governance step runs it once, before anything writes them."""
    con.execute(DDL)


def _named_statements(path: Path) -> dict[str, str]:
    """The statements of a .sql file, each headed by a ``-- name: <name>`` line."""
    statements: dict[str, list[str]] = {}
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-- name: "):
            current = statements.setdefault(line.removeprefix("-- name: ").strip(), [])
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines).strip() for name, lines in statements.items()}


# The lifecycle's SQL, in the order it runs (quality/findings_lifecycle.sql).
LIFECYCLE = _named_statements(Path(__file__).with_name("findings_lifecycle.sql"))


# The open findings a run keeps without revalidating their entities, as (rule_id, entity_id):
# a temporary table of the run's connection, filled by carry_findings and read by the
# lifecycle. They stay in the engine: at L they are ~600k a day, and taking them through
# Python and back cost about 3 s of the governance step.
CARRIED_FINDINGS = "_carried_findings"
CARRIED_DDL = (
    f"create temp table if not exists {CARRIED_FINDINGS} (rule_id varchar, entity_id varchar)"
)


def carry_findings(
    con: duckdb.DuckDBPyConnection,
    rule_ids: list[str],
    table: str,
    entity_column: str,
    since: datetime,
) -> dict[str, int]:
    """Keep the open findings of ``rule_ids`` whose entity's row in ``table`` dbt did not
    rewrite after ``since`` (validated then, unchanged since): noted for write_findings.
    Returns, per rule with any, how many."""
    con.execute(CARRIED_DDL)
    con.execute(
        f"""
        insert into {CARRIED_FINDINGS}
        select rule_id, entity_id
        from governance.findings
        where rule_id in (select unnest(?)) and status <> 'resolved'
          and entity_id in (
              select cast({entity_column} as varchar) from {table} where built_at <= ?
          )
        """,
        [rule_ids, since],
    )
    rows = con.execute(
        f"select rule_id, count(*) from {CARRIED_FINDINGS} "
        "where rule_id in (select unnest(?)) group by rule_id",
        [rule_ids],
    ).fetchall()
    return dict(rows)


def write_findings(
    con: duckdb.DuckDBPyConnection,
    outcomes: dict[str, RuleOutcome],
    run_id: str,
    marks: list[ValidationMark] = (),
    waivers: Waivers | None = None,
) -> None:
    """Bring the findings of the given rules up to this run, with the validation marks of the
    tables validated (governance.md, findings lifecycle; quality/findings_lifecycle.sql).

    An entity this run finds gets this run's row, keeping the first detection time of its
    earlier row (a resolved one is open again); a finding this run no longer sees stays,
    ``resolved`` from now; a finding carried over (an entity this run did not revalidate) keeps
    its row. Then the owners' valid waivers mark their open findings ``waived``, and a waiver
    that lapsed or was withdrawn opens its finding again. Called inside the governance step's
    transaction (``ingestion.duck.transaction``), so that it all lands or none of it.
    """
    con.execute(CARRIED_DDL)
    detected_at = datetime.now(UTC)
    rows = [
        (
            rule_id,
            RULE_BY_ID[rule_id].entity_type,
            entity_id,
            clinic_id,
            RULE_BY_ID[rule_id].severity,
            detail,
            run_id,
            detected_at,
        )
        for rule_id, outcome in sorted(outcomes.items())
        for entity_id, (clinic_id, detail) in sorted(outcome.failing.items())
    ]
    parameters = {"rules": sorted(outcomes), "detected_at": detected_at}
    con.register("_new_findings", pd.DataFrame(rows, columns=FINDING_COLUMNS[:8]))
    con.register("_waivers", (waivers or Waivers.none()).applied_frame())
    try:
        for sql in LIFECYCLE.values():
            used = {name: value for name, value in parameters.items() if f"${name}" in sql}
            con.execute(sql, used or None)
        for mark in marks:
            con.execute(
                "insert or replace into governance.validation_marks values (?, ?, ?, ?)",
                [mark.table_name, mark.suite_fingerprint, mark.built_at, run_id],
            )
    finally:
        for name in ("_new_findings", "_waivers"):
            con.unregister(name)


def write_rule_results(
    con: duckdb.DuckDBPyConnection, outcomes: dict[str, RuleOutcome], run_id: str
) -> None:
    """This run's result of every rule (replacing any earlier result of the same run)."""
    checked_at = datetime.now(UTC)
    rows = []
    for rule_id, outcome in sorted(outcomes.items()):
        rule = RULE_BY_ID[rule_id]
        failing = outcome.failing_count
        checked = max(outcome.entities_checked, failing)
        rows.append(
            [
                run_id,
                rule_id,
                rule.severity,
                rule.owner,
                rule.title,
                checked,
                failing,
                failing / checked if checked else 0.0,
                outcome.passed,
                checked_at,
            ]
        )
    con.execute("delete from governance.rule_results where run_id = ?", [run_id])
    con.executemany(
        "insert into governance.rule_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
    )
