"""governance.findings and governance.rule_results (governance.md, "Findings contract"), and
the DDL of every governance table (quality/listing_actions.py writes the listing actions,
quality/outcomes.py the run outcomes). The findings lifecycle's SQL is findings_lifecycle.sql."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    label_zh: str
    description_zh: str


@dataclass(frozen=True)
class GovernanceTable:
    description: str
    label_zh: str
    description_zh: str
    columns: tuple[Column, ...]
    constraint: str = ""


# The governance tables, described once, in English and Chinese: their DDL, the warehouse's
# comments and the published ones (quality/published.py) are derived from this (the findings
# contract of governance.md).
GOVERNANCE_TABLES: dict[str, GovernanceTable] = {
    "governance.findings": GovernanceTable(
        "One row per entity and governance rule (GOV-01..18) it broke in any run: the latest "
        "run's row, with when it was first found, whether it is still open, was resolved or "
        "was waived by its owner.",
        "治理发现",
        "每个实体（诊所、医生、订单、评价或数据表）违反的每条治理规则（GOV-01..18）一行，跨运行保留："
        "最近一次运行的记录，何时首次发现，仍未解决、已解决还是已由负责人豁免。",
        (
            Column(
                "rule_id",
                "varchar",
                "Rule broken, GOV-01 .. GOV-18 (docs/rules.md).",
                "规则编号",
                "违反的规则，GOV-01 至 GOV-18（见 docs/rules.md）。",
            ),
            Column(
                "entity_type",
                "varchar",
                "clinic, doctor, order, review or table.",
                "实体类型",
                "clinic（诊所）、doctor（医生）、order（订单）、review（评价）或 table（数据表）。",
            ),
            Column(
                "entity_id",
                "varchar",
                "The clinic, doctor, order or review id, or the table name.",
                "实体编号",
                "诊所、医生、订单或评价的编号，或数据表名。",
            ),
            Column(
                "clinic_id",
                "varchar",
                "The clinic concerned, where there is one.",
                "诊所编号",
                "相关的诊所（如有）。",
            ),
            Column(
                "severity",
                "varchar",
                "blocking (stops publication) or finding.",
                "严重级别",
                "blocking（阻断发布）或 finding（治理发现）。",
            ),
            Column(
                "detail",
                "varchar",
                "Why the entity breaks the rule, in a short sentence.",
                "详情",
                "该实体为何违反规则，一句话说明。",
            ),
            Column(
                "run_id",
                "varchar",
                "The latest pipeline run that found it.",
                "运行编号",
                "最近一次发现它的流水线运行。",
            ),
            Column(
                "detected_at",
                "timestamptz",
                "When that run found it.",
                "发现时间",
                "该次运行发现它的时间。",
            ),
            Column(
                "first_detected_at",
                "timestamptz",
                "When a run first found it (kept across runs).",
                "首次发现时间",
                "首次被运行发现的时间（跨运行保留）。",
            ),
            Column(
                "status",
                "varchar",
                "open (the latest run still finds it), resolved (a later run no longer does) "
                "or waived (its owner accepted it, see waiver_reason).",
                "状态",
                "open（最近一次运行仍发现）、resolved（之后的运行不再发现）"
                "或 waived（负责人已豁免，见 waiver_reason）。",
            ),
            Column(
                "resolved_at",
                "timestamptz",
                "When a run first stopped finding it; null while open.",
                "解决时间",
                "运行首次不再发现它的时间；未解决时为空。",
            ),
            Column(
                "waiver_reason",
                "varchar",
                "Why the owner accepted it, while waived.",
                "豁免原因",
                "负责人接受该问题的原因（豁免期间）。",
            ),
            Column(
                "waived_by",
                "varchar",
                "Who accepted it (the waiver's owner), while waived.",
                "豁免人",
                "接受该问题的负责人（豁免期间）。",
            ),
            Column(
                "waiver_expires_on",
                "date",
                "Last day the waiver applies, while waived.",
                "豁免截止日",
                "豁免生效的最后一天（豁免期间）。",
            ),
        ),
    ),
    "governance.listing_actions": GovernanceTable(
        "The owners' work queue: one row per clinic or doctor with an open (not waived) "
        "finding of a listing check (GOV-01, GOV-15..18), with the action it calls for "
        "(quality/listing_actions.py).",
        "上架处置清单",
        "负责人的待办队列：每个存在未解决（未豁免）上架检查（GOV-01、GOV-15..18）治理发现的诊所或医生一行，"
        "以及应采取的处置。",
        (
            Column(
                "entity_type",
                "varchar",
                "clinic or doctor.",
                "实体类型",
                "clinic（诊所）或 doctor（医生）。",
            ),
            Column(
                "entity_id",
                "varchar",
                "The clinic_id or doctor_id.",
                "实体编号",
                "clinic_id 或 doctor_id。",
            ),
            Column(
                "clinic_id",
                "varchar",
                "The clinic concerned (a doctor's clinic).",
                "诊所编号",
                "相关的诊所（医生所在的诊所）。",
            ),
            Column(
                "clinic_name",
                "varchar",
                "The clinic's name as listed.",
                "诊所名称",
                "平台展示的诊所名称。",
            ),
            Column("city", "varchar", "The clinic's city.", "城市", "诊所所在城市。"),
            Column(
                "action",
                "varchar",
                "suspend_listing (GOV-01 or GOV-15: stop showing it as a licensed clinic), "
                "correct_listing (GOV-16, GOV-17) or remove_tier_label (GOV-18); the strongest "
                "when several apply.",
                "处置",
                "suspend_listing（GOV-01 或 GOV-15：停止以持证诊所身份展示）、"
                "correct_listing（GOV-16、GOV-17：更正展示信息）"
                "或 remove_tier_label（GOV-18：撤下等级标签）；多项适用时取最严格的一项。",
            ),
            Column(
                "rules",
                "varchar",
                "The rules behind the action, each with its detail ('GOV-15: licence 吊销 since "
                "2026-05-03 | GOV-18: …'), ' | '-separated (a detail may hold '; ').",
                "依据规则",
                "处置所依据的规则及各自详情"
                "（如 'GOV-15: licence 吊销 since 2026-05-03 | GOV-18: …'），"
                "以 ' | ' 分隔（详情中可含 '; '）。",
            ),
            Column(
                "since",
                "timestamptz",
                "The earliest first detection among those findings.",
                "起始时间",
                "这些治理发现中最早的首次发现时间。",
            ),
            Column(
                "owner",
                "varchar",
                "The owner of the strongest rule (the rule catalogue).",
                "负责团队",
                "最严格那条规则的负责团队（见规则目录）。",
            ),
        ),
    ),
    "governance.rule_results": GovernanceTable(
        "One row per rule per checked run: how many entities were checked and how many failed.",
        "规则结果",
        "每次检查运行的每条规则一行：检查了多少实体，其中多少未通过。",
        (
            Column("run_id", "varchar", "The pipeline run.", "运行编号", "流水线运行。"),
            Column(
                "rule_id",
                "varchar",
                "Rule, GOV-01 .. GOV-18.",
                "规则编号",
                "规则，GOV-01 至 GOV-18。",
            ),
            Column(
                "severity",
                "varchar",
                "blocking or finding.",
                "严重级别",
                "blocking（阻断发布）或 finding（治理发现）。",
            ),
            Column(
                "owner",
                "varchar",
                "Team answerable for the rule.",
                "负责团队",
                "对该规则负责的团队。",
            ),
            Column(
                "rule", "varchar", "The rule in one sentence.", "规则说明", "一句话说明该规则。"
            ),
            Column(
                "entities_checked",
                "bigint",
                "Entities (or tables) the rule judged in the run.",
                "检查实体数",
                "本次运行该规则判定的实体（或数据表）数。",
            ),
            Column(
                "entities_failing",
                "bigint",
                "Of those, how many break it.",
                "未通过实体数",
                "其中违反该规则的数量。",
            ),
            Column(
                "failure_rate",
                "double",
                "entities_failing / entities_checked.",
                "未通过率",
                "未通过实体占检查实体的比例：entities_failing / entities_checked。",
            ),
            Column(
                "passed",
                "boolean",
                "No failing entity (a blocking rule that fails stops the run).",
                "是否通过",
                "true 表示没有未通过的实体（阻断级规则未通过会阻止本次发布）。",
            ),
            Column(
                "checked_at",
                "timestamptz",
                "When the rule was checked.",
                "检查时间",
                "检查该规则的时间。",
            ),
        ),
    ),
    "governance.validation_marks": GovernanceTable(
        "How far each incremental fact table was validated, by which expectations "
        "(quality/runner.py).",
        "校验进度",
        "每张增量事实表已校验到哪里、由哪组期望校验（quality/runner.py）。",
        (
            Column("table_name", "varchar", "Fact table.", "事实表", "增量事实表。"),
            Column(
                "suite_fingerprint",
                "varchar",
                "Digest of the expectations that validated it.",
                "期望摘要",
                "校验它的期望集合的摘要。",
            ),
            Column(
                "built_at",
                "timestamp",
                "Newest built_at of the rows validated.",
                "校验截至",
                "已校验行中最新的 built_at。",
            ),
            Column(
                "run_id",
                "varchar",
                "The run that validated them.",
                "运行编号",
                "校验这些行的运行。",
            ),
        ),
        "primary key (table_name, suite_fingerprint)",
    ),
    "governance.run_outcomes": GovernanceTable(
        "How each checked run ended: blocked by the gate or published. A run killed before "
        "either has no row, and its rule results are never published (serving/publish.py).",
        "运行结果",
        "每次检查运行的结局：被发布闸门拦截或已发布。在此之前被终止的运行没有记录，其规则结果也不会发布。",
        (
            Column(
                "run_id", "varchar primary key", "The pipeline run.", "运行编号", "流水线运行。"
            ),
            Column(
                "outcome",
                "varchar",
                "blocked or published.",
                "结果",
                "blocked（被拦截）或 published（已发布）。",
            ),
            Column(
                "decided_at",
                "timestamptz",
                "When the gate decided.",
                "决定时间",
                "作出决定的时间。",
            ),
        ),
    ),
}


def _ddl() -> str:
    statements = ["create schema if not exists governance;"]
    for table, spec in GOVERNANCE_TABLES.items():
        body = [f"{column.name} {column.type}" for column in spec.columns]
        if spec.constraint:
            body.append(spec.constraint)
        statements.append(f"create table if not exists {table} ({', '.join(body)});")
        statements.append(f"comment on table {table} is {sql_literal(spec.description)};")
        for column in spec.columns:
            statements.append(
                f"comment on column {table}.{column.name} is {sql_literal(column.description)};"
            )
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
FINDING_COLUMNS = [column.name for column in GOVERNANCE_TABLES["governance.findings"].columns]


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
