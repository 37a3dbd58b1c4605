"""Run the governance suites against the warehouse and collect rule outcomes.

Great Expectations is the enforcing layer: every pass/fail below comes from a GX
validation result. GX's SQL datasource returns empty metrics on DuckDB (GX issue
11579), so on DuckDB suites run on pandas frames, and nothing large is loaded whole; on
the Spark engine they validate Spark DataFrames on GX's Spark execution engine
(quality/facts.py says where each reads):

- entity rules (GOV-01..09, GOV-14..18) validate compact fact tables built by dbt (an id,
  the clinic, one boolean and one reason per rule): the engine scans every row and hands GX
  those holding a value outside an expectation's set (``EntityTarget.value_sets``), streamed
  from DuckDB in Arrow record batches of ``BATCH_ROWS`` rows (quality/facts.py), one GX
  validation per batch;
- table rules (GOV-11..13) validate the facts dbt builds beside the entity facts
  (models/governance: one row per table or feed, a flag and its reason);
- GOV-10 validates the values of the published tables' text columns that the engine found
  matching a pattern, all tables in one validation.
Every result is also kept, in GX's SUMMARY format, for the run's Data Docs
(quality/docs.py). See quality/README.md.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from quality import suites
from quality.facts import DuckDBFacts, SparkFacts
from quality.findings import carry_findings
from quality.outcomes import decided_runs
from quality.published import PUBLISHED_TABLES
from quality.rules import RULE_BY_ID, RULES

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
import great_expectations as gx  # noqa: E402  (analytics must be off before import)
import great_expectations.expectations as gxe  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402

from quality.docs import DataDocs, DocsSite  # noqa: E402

log = logging.getLogger(__name__)


@dataclass
class RuleOutcome:
    rule_id: str
    entities_checked: int = 0
    failing: dict[str, tuple[str | None, str]] = field(
        default_factory=dict
    )  # id -> (clinic, detail), of the entities this run validated
    # findings of entities this run did not revalidate, kept as they were (run, detection time)
    # in the warehouse (quality/findings.py, carry_findings): their number
    carried: int = 0

    @property
    def failing_count(self) -> int:
        return len(self.failing) + self.carried

    @property
    def passed(self) -> bool:
        return self.failing_count == 0


@dataclass(frozen=True)
class ValidationMark:
    """How far a fact table was validated: its rows up to ``built_at``, by these expectations."""

    table_name: str
    suite_fingerprint: str
    built_at: datetime


@dataclass(frozen=True)
class EntityTarget:
    """A fact table whose rows are the entities of one or more finding rules."""

    table: str
    entity_column: str
    clinic_column: str
    suite: gx.ExpectationSuite

    def reason_columns(self) -> list[str]:
        return [e.meta["reason_column"] for e in self.suite.expectations]

    def rule_ids(self) -> list[str]:
        return sorted({e.meta["rule_id"] for e in self.suite.expectations})

    def columns(self) -> list[str]:
        rule_columns = [e.column for e in self.suite.expectations]
        columns = [self.entity_column, self.clinic_column, *rule_columns, *self.reason_columns()]
        return list(dict.fromkeys(columns))

    def value_sets(self) -> list[tuple[str, list]] | None:
        """(column, allowed values) of each expectation, when every one is a plain
        ExpectColumnValuesToBeInSet: then the engine can hand GX just the rows holding a value
        outside a set, the only rows GX could find unexpected. None: GX needs every row."""
        sets = []
        for e in self.suite.expectations:
            if not isinstance(e, gxe.ExpectColumnValuesToBeInSet) or e.mostly != 1:
                return None
            sets.append((e.column, list(e.value_set)))
        return sets

    def suite_fingerprint(self) -> str:
        """Changes when an expectation does: then every row is validated again."""
        described = [
            (type(e).__name__, e.column, sorted((k, str(v)) for k, v in e.meta.items()))
            for e in self.suite.expectations
        ]
        return hashlib.sha256(repr(described).encode()).hexdigest()[:16]


ENTITY_TARGETS = (
    EntityTarget(
        "intermediate.int_clinic_licence_verification",
        "clinic_id",
        "clinic_id",
        suites.build_clinic_licence_suite(),
    ),
    EntityTarget(
        "intermediate.int_doctor_listing_checks",
        "doctor_id",
        "clinic_id",
        suites.build_doctor_listing_suite(),
    ),
    EntityTarget(
        "intermediate.int_clinic_tier_checks",
        "clinic_id",
        "clinic_id",
        suites.build_clinic_tier_suite(),
    ),
    EntityTarget(
        "intermediate.int_order_compliance",
        "order_id",
        "clinic_id",
        suites.build_order_compliance_suite(),
    ),
    EntityTarget(
        "intermediate.int_review_verification",
        "review_id",
        "clinic_id",
        suites.build_review_verification_suite(),
    ),
    EntityTarget(
        "intermediate.int_complaint_response",
        "review_id",
        "clinic_id",
        suites.build_complaint_response_suite(),
    ),
)


class Validator:
    """One ephemeral GX context per run; one dataframe asset per validated table.

    Given a ``run_name``, every validation result is also kept (in SUMMARY form) for
    this run's Data Docs, rendered by ``build_data_docs`` (quality/docs.py).
    """

    def __init__(self, run_name: str | None = None) -> None:
        self.context = gx.get_context(mode="ephemeral")
        # Progress bars are for notebooks; in the pipeline they only flood the log.
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.source = self.context.data_sources.add_pandas("warehouse")
        self._spark_source = None  # GX's Spark engine, for Spark DataFrames (quality/facts.py)
        self._definitions: dict[tuple[str, str], object] = {}
        self.docs = DataDocs(self.context, run_name) if run_name else None

    def _source_of(self, frame):
        if isinstance(frame, pd.DataFrame):
            return "pandas", self.source
        if self._spark_source is None:
            self._spark_source = self.context.data_sources.add_spark("spark")
        return "spark", self._spark_source

    def validate(self, name: str, frame, suite: gx.ExpectationSuite, index: list[str]):
        """Validate a pandas or a Spark DataFrame; each runs on its own GX execution engine."""
        kind, source = self._source_of(frame)
        if (kind, name) not in self._definitions:
            asset = source.add_dataframe_asset(name)
            self._definitions[kind, name] = asset.add_batch_definition_whole_dataframe("batch")
        batch = self._definitions[kind, name].get_batch(batch_parameters={"dataframe": frame})
        result_format = {"result_format": "COMPLETE"}
        if index and kind == "spark":  # GX's Spark engine refuses an empty list of index columns
            result_format["unexpected_index_column_names"] = index
        result = batch.validate(suite, result_format=result_format)
        if index and kind == "pandas":
            _name_unexpected_rows(result, frame, index)
        if self.docs is not None:
            self.docs.record(name, suite, result, _rows_validated(frame, result))
        return result

    def build_data_docs(self, quality_dir: Path) -> DocsSite:
        if self.docs is None:
            raise ValueError("this Validator keeps no results: give it a run_name")
        return self.docs.build(quality_dir)


def _name_unexpected_rows(result, frame: pd.DataFrame, index: list[str]) -> None:
    """GX's pandas engine lists the unexpected rows by their frame labels; each becomes the
    ``index`` columns of its row, as GX's ``unexpected_index_column_names`` gives them. Asked
    of GX itself, that lookup is one ``DataFrame.at`` per row and column: 70 of the 91 s the
    entity rules took on a first run at L (py-spy; 500k failing rows, 8 index columns)."""
    for item in result.results:
        labels = item.result.get("unexpected_index_list")
        if labels is not None:
            item.result["unexpected_index_list"] = frame.loc[labels, index].to_dict("records")


def _rows_validated(frame, result) -> int:
    if isinstance(frame, pd.DataFrame):
        return len(frame)
    counts = [r.result.get("element_count") for r in result.results]
    return max((c for c in counts if c is not None), default=0)


def validation_marks(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], datetime]:
    """(table, suite fingerprint) -> the ``built_at`` up to which its rows were validated.

    Only marks of runs that were decided (published or blocked: governance.run_outcomes)
    count: the findings of a run killed before that are never published under its name, so
    the next run validates every row again rather than carry them."""
    return {
        (table, fingerprint): built_at
        for table, fingerprint, built_at in con.execute(
            "select table_name, suite_fingerprint, built_at from governance.validation_marks "
            f"where run_id in ({decided_runs()})"
        ).fetchall()
    }


def run_entity_rules(
    con: duckdb.DuckDBPyConnection,
    validator: Validator,
    incremental: bool = True,
    facts: DuckDBFacts | SparkFacts | None = None,
) -> tuple[dict[str, RuleOutcome], list[ValidationMark]]:
    """The finding rules: every failing row of a fact table is one finding.

    The facts are read from ``facts`` (DuckDB's tables by default, Spark's on the Spark
    engine); the findings' history is in ``con``'s warehouse either way.
    An incremental fact table (one with ``built_at``, macros/incremental_months.sql) is
    validated only where dbt rewrote it since its last validation by the same expectations;
    the findings of its other rows are carried over as they are, detection times included
    (the untouched rows are the rows that were validated). Every entity still counts as
    checked. ``incremental=False`` (and Spark) validates every row."""
    facts = facts or DuckDBFacts(con)
    outcomes = {r.rule_id: RuleOutcome(r.rule_id) for r in RULES if not r.blocking}
    marks: list[ValidationMark] = []
    done = validation_marks(con) if incremental and facts.incremental else {}
    for target in ENTITY_TARGETS:
        index = [target.entity_column, target.clinic_column, *target.reason_columns()]
        index = list(dict.fromkeys(index))
        fingerprint = target.suite_fingerprint()
        newest = facts.newest_built_at(target.table)
        since = done.get((target.table, fingerprint)) if newest is not None else None
        if since is not None:
            carried = carry_findings(
                con, target.rule_ids(), target.table, target.entity_column, since
            )
            for rule_id, count in carried.items():
                outcomes[rule_id].carried += count
        if newest is not None:
            marks.append(ValidationMark(target.table, fingerprint, newest))
        frames = facts.frames(
            target.table, target.columns(), built_after=since, outside=target.value_sets() or ()
        )
        for frame in frames:
            result = validator.validate(target.table.split(".")[-1], frame, target.suite, index)
            for item in result.results:
                meta = item.expectation_config.meta
                outcome = outcomes[meta["rule_id"]]
                for row in item.result.get("unexpected_index_list") or []:
                    detail = row.get(meta["reason_column"]) or RULE_BY_ID[meta["rule_id"]].title
                    outcome.failing[str(row[target.entity_column])] = (
                        row.get(target.clinic_column),
                        str(detail),
                    )
        checked = facts.count(target.table)
        for rule_id in target.rule_ids():
            outcomes[rule_id].entities_checked += checked
    return outcomes, marks


# Dagster run ids are UUIDs, the same form as a device id: they identify pipeline
# runs, never a person, so GOV-10 does not scan them.
PIPELINE_ID_COLUMNS = ("run_id",)


def _personal_data(sources: list, validator, outcome: RuleOutcome) -> None:
    """GOV-10: every text column of every published table, where it is (the first of
    ``sources`` that has it: the marts Spark built, the findings in the warehouse).

    The engine scans every row of every table in one query and hands GX the values that
    match one of the patterns, with their table and column; GX validates them with the same
    patterns, and a table fails when any of its values is left. One validation for all the
    tables (one per engine on Spark): a GX validation costs about 80 ms however few its rows,
    and one per table cost 14 of an S day's 23 (1.1 s of its governance step, py-spy)."""
    patterns = list(suites.PERSONAL_DATA_PATTERNS.values())
    text_columns: dict[int, dict[str, list[str]]] = {}
    for table in PUBLISHED_TABLES:
        facts = next((f for f in sources if f.exists(table)), None)
        if facts is None:
            continue
        outcome.entities_checked += 1
        columns = [c for c, text in facts.columns(table) if text and c not in PIPELINE_ID_COLUMNS]
        text_columns.setdefault(sources.index(facts), {})[table] = columns
    suite = suites.build_personal_data_suite()
    for position, columns in sorted(text_columns.items()):
        for frame in sources[position].matching_text(columns, patterns):
            result = validator.validate(
                "personal_data", frame, suite, ["table_name", "column_name"]
            )
            for item in result.results:
                kind = item.expectation_config.meta["kind"]
                for row in item.result.get("unexpected_index_list") or []:
                    table, column = row["table_name"], row["column_name"]
                    detail = f"clear-text {kind} in {table}.{column}"
                    outcome.failing.setdefault(table, (None, detail))


@dataclass(frozen=True)
class TableJudgement:
    """A dbt model of a table rule's facts (models/governance): one row per table or feed,
    a flag and its reason column; its suite validates the flag."""

    table: str
    entity_column: str
    entity_prefix: str  # how the entity is named in the findings: "feed:orders"
    suite: gx.ExpectationSuite

    def rule_id(self) -> str:
        return self.suite.expectations[0].meta["rule_id"]


TABLE_JUDGEMENTS = (
    TableJudgement(
        "governance.gov_table_profiles", "table_name", "", suites.build_table_integrity_suite()
    ),
    TableJudgement(
        "governance.gov_feed_status", "feed", "feed:", suites.build_feed_freshness_suite()
    ),
    TableJudgement(
        "governance.gov_small_cells", "table_name", "", suites.build_persona_segments_suite()
    ),
)


def _judge_tables(facts, validator, judgement: TableJudgement, outcome: RuleOutcome) -> None:
    """GOV-11..13: the facts dbt computed, streamed and validated; a missing model fails."""
    if not facts.exists(judgement.table):
        outcome.entities_checked += 1
        outcome.failing[judgement.table] = (None, f"{judgement.table} was not built")
        return
    (expectation,) = judgement.suite.expectations
    reason = expectation.meta["reason_column"]
    index = [judgement.entity_column, reason]
    columns = [judgement.entity_column, expectation.column, reason]
    outcome.entities_checked += facts.count(judgement.table)
    for frame in facts.frames(judgement.table, columns):
        name = judgement.table.split(".")[-1]
        result = validator.validate(name, frame, judgement.suite, index)
        for item in result.results:
            for row in item.result.get("unexpected_index_list") or []:
                entity = f"{judgement.entity_prefix}{row[judgement.entity_column]}"
                outcome.failing.setdefault(entity, (None, str(row.get(reason) or "")))


def run_blocking_rules(
    con: duckdb.DuckDBPyConnection,
    validator: Validator,
    facts: DuckDBFacts | SparkFacts | None = None,
) -> dict[str, RuleOutcome]:
    """GOV-10 on the published tables themselves; GOV-11..13 on the facts dbt judged
    (read from ``facts``: DuckDB's tables by default, Spark's on the Spark engine)."""
    warehouse = DuckDBFacts(con)
    facts = facts or warehouse
    outcomes = {r.rule_id: RuleOutcome(r.rule_id) for r in RULES if r.blocking}
    _personal_data([facts, warehouse], validator, outcomes["GOV-10"])
    for judgement in TABLE_JUDGEMENTS:
        _judge_tables(facts, validator, judgement, outcomes[judgement.rule_id()])
    return outcomes
