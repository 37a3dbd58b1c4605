"""governance.findings and governance.rule_results (governance.md, "Findings contract")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from ingestion.duck import sql_literal
from quality.rules import RULE_BY_ID

if TYPE_CHECKING:  # quality.runner loads Great Expectations, which the gate does not need
    from quality.runner import RuleOutcome, ValidationMark

# The governance tables, described once: their DDL and the comments BI tools show are derived
# from this (the findings contract of governance.md). (name, type, description) per column.
GOVERNANCE_TABLES: dict[str, tuple[str, tuple[tuple[str, str, str], ...], str]] = {
    "governance.findings": (
        "One row per entity breaking a governance rule (GOV-01..13), from the latest run that "
        "validated it.",
        (
            ("rule_id", "varchar", "Rule broken, GOV-01 .. GOV-13 (docs/rules.md)."),
            ("entity_type", "varchar", "clinic, doctor, order, review or table."),
            ("entity_id", "varchar", "The clinic, doctor, order or review id, or the table name."),
            ("clinic_id", "varchar", "The clinic concerned, where there is one."),
            ("severity", "varchar", "blocking (stops publication) or finding."),
            ("detail", "varchar", "Why the entity breaks the rule, in a short sentence."),
            ("run_id", "varchar", "The pipeline run that found it."),
            ("detected_at", "timestamptz", "When that run found it."),
        ),
        "",
    ),
    "governance.rule_results": (
        "One row per rule per checked run: how many entities were checked and how many failed.",
        (
            ("run_id", "varchar", "The pipeline run."),
            ("rule_id", "varchar", "Rule, GOV-01 .. GOV-13."),
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


DDL = _ddl()


def write_findings(
    con: duckdb.DuckDBPyConnection,
    outcomes: dict[str, RuleOutcome],
    run_id: str,
    marks: list[ValidationMark] = (),
) -> None:
    """Replace the findings of the given rules with this run's, in one transaction with the
    validation marks of the tables validated.

    One entity breaking one rule is one row: the latest run's row is kept, and
    an entity that no longer breaks a rule drops out of the table. A finding carried over
    (an entity this run did not revalidate) keeps its row as it was.
    """
    con.execute(DDL)
    detected_at = datetime.now(UTC)
    carried = [(rule_id, e) for rule_id, o in outcomes.items() for e in sorted(o.carried)]
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
        if entity_id not in outcome.carried
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "rule_id",
            "entity_type",
            "entity_id",
            "clinic_id",
            "severity",
            "detail",
            "run_id",
            "detected_at",
        ],
    )
    kept = pd.DataFrame(carried, columns=["rule_id", "entity_id"], dtype="string")
    con.execute("begin transaction")
    try:
        con.register("_kept_findings", kept)
        con.execute(
            "delete from governance.findings where rule_id in (select unnest(?)) "
            "and (rule_id, entity_id) not in (select (rule_id, entity_id) from _kept_findings)",
            [sorted(outcomes)],
        )
        con.unregister("_kept_findings")
        con.register("_new_findings", frame)
        con.execute("insert into governance.findings select * from _new_findings")
        con.unregister("_new_findings")
        for mark in marks:
            con.execute(
                "insert or replace into governance.validation_marks values (?, ?, ?, ?)",
                [mark.table_name, mark.suite_fingerprint, mark.built_at, run_id],
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def write_rule_results(
    con: duckdb.DuckDBPyConnection, outcomes: dict[str, RuleOutcome], run_id: str
) -> None:
    """This run's result of every rule, in one transaction: all or none."""
    con.execute(DDL)
    checked_at = datetime.now(UTC)
    rows = []
    for rule_id, outcome in sorted(outcomes.items()):
        rule = RULE_BY_ID[rule_id]
        failing = len(outcome.failing)
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
    con.execute("begin transaction")
    try:
        con.execute("delete from governance.rule_results where run_id = ?", [run_id])
        con.executemany(
            "insert into governance.rule_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def record_outcome(con: duckdb.DuckDBPyConnection, run_id: str, outcome: str) -> None:
    """How a checked run ended: ``blocked`` or ``published``."""
    con.execute(DDL)
    con.execute(
        "insert or replace into governance.run_outcomes values (?, ?, ?)",
        [run_id, outcome, datetime.now(UTC)],
    )
