"""governance.findings and governance.rule_results (governance.md, "Findings contract")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from quality.rules import RULE_BY_ID

if TYPE_CHECKING:  # quality.runner loads Great Expectations, which the gate does not need
    from quality.runner import RuleOutcome, ValidationMark

DDL = """
create schema if not exists governance;
create table if not exists governance.findings (
    rule_id varchar, entity_type varchar, entity_id varchar, clinic_id varchar,
    severity varchar, detail varchar, run_id varchar, detected_at timestamptz
);
create table if not exists governance.rule_results (
    run_id varchar, rule_id varchar, severity varchar, owner varchar, rule varchar,
    entities_checked bigint, entities_failing bigint, failure_rate double, passed boolean,
    checked_at timestamptz
);
-- How far each incremental fact table was validated, by which expectations (quality/runner.py).
create table if not exists governance.validation_marks (
    table_name varchar, suite_fingerprint varchar, built_at timestamp, run_id varchar,
    primary key (table_name, suite_fingerprint)
);
-- How each checked run ended: 'blocked' by the gate or 'published'. A run killed before
-- either has no row, and its rule results are never published (quality/publish.py).
create table if not exists governance.run_outcomes (
    run_id varchar primary key, outcome varchar, decided_at timestamptz
);
"""


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
