"""What the serving database holds, stated once.

The published marts are the models the dbt project's `bi_serving_connection` exposure depends
on (dbt_project/models/exposures.yml: BI tools see every published mart, and dbt docs draw the
lineage from it); the publish step, the PostgreSQL endpoint, GOV-10, GOV-11 (the dbt var
``published_marts``, orchestration/transform/project.py) and the tests read the list from
here. The governance tables yimei writes itself (quality/findings.py) are published beside
them. Each table's key is in its yml (``meta.gov_11``), where GOV-11 reads it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml

from ingestion.settings import DBT_PROJECT_DIR

EXPOSURES_FILE = DBT_PROJECT_DIR / "models" / "exposures.yml"
SERVING_EXPOSURE = "bi_serving_connection"
# dbt_project.yml builds every model under models/marts into this schema
MARTS_SCHEMA = "marts"
PUBLISHED_GOVERNANCE = (
    "governance.findings",
    "governance.listing_actions",
    "governance.rule_results",
)


def _published_mart_models() -> tuple[str, ...]:
    exposures = yaml.safe_load(EXPOSURES_FILE.read_text(encoding="utf-8"))["exposures"]
    (serving,) = [e for e in exposures if e["name"] == SERVING_EXPOSURE]
    marts = {path.stem for path in (DBT_PROJECT_DIR / "models" / "marts").rglob("*.sql")}
    models = []
    for ref in serving["depends_on"]:
        match = re.fullmatch(r"ref\('(\w+)'\)", ref.strip())
        model = match and match.group(1)
        if model not in marts:
            raise ValueError(f"{EXPOSURES_FILE}: {SERVING_EXPOSURE} names no mart in {ref!r}")
        models.append(model)
    return tuple(models)


# the dbt model names (the var published_marts, the tests), and the tables they publish
PUBLISHED_MART_MODELS: tuple[str, ...] = _published_mart_models()
PUBLISHED_MARTS: tuple[str, ...] = tuple(f"{MARTS_SCHEMA}.{m}" for m in PUBLISHED_MART_MODELS)
PUBLISHED_TABLES: tuple[str, ...] = PUBLISHED_MARTS + PUBLISHED_GOVERNANCE

# Columns of incremental models that record when a row was written or from what, not what it
# says (macros/incremental_months.sql): outside GOV-11's timestamp bound, never compared as
# data, never published.
BOOKKEEPING_COLUMNS: tuple[str, ...] = ("built_at", "built_as_of", "source_digest")


@dataclass(frozen=True)
class Description:
    """What a published table or column means: a Chinese label and description first (yimei's
    users are Chinese analysts), the English description kept."""

    label_zh: str
    description_zh: str
    description: str

    @property
    def comment(self) -> str:
        """The comment serving.duckdb and PostgreSQL carry, which BI tools show (the English
        alone while a Chinese description is missing: the tests fail on that, a run does not)."""
        return (
            f"{self.description_zh} — {self.description}"
            if self.description_zh
            else self.description
        )


@dataclass(frozen=True)
class TableDescription(Description):
    columns: Mapping[str, Description] = field(default_factory=dict)


def _mart_description(model: str) -> TableDescription:
    """A mart's, from its yml: ``description``, and ``config.meta`` ``label_zh`` and
    ``description_zh``, for the model and each column."""
    path = DBT_PROJECT_DIR / "models" / MARTS_SCHEMA / f"{model}.yml"
    (node,) = [
        m for m in yaml.safe_load(path.read_text(encoding="utf-8"))["models"] if m["name"] == model
    ]

    def described(entry: dict) -> Description:
        meta = (entry.get("config") or {}).get("meta") or {}
        texts = [meta.get("label_zh"), meta.get("description_zh"), entry.get("description")]
        return Description(*(" ".join(str(t or "").split()) for t in texts))

    table = described(node)
    columns = {c["name"]: described(c) for c in node.get("columns", [])}
    return TableDescription(table.label_zh, table.description_zh, table.description, columns)


def published_descriptions() -> dict[str, TableDescription]:
    """Every published table with its columns' descriptions: the marts' from their dbt yml,
    the governance tables' from quality/findings.py, where yimei writes them."""
    from quality.findings import GOVERNANCE_TABLES

    described = {f"{MARTS_SCHEMA}.{m}": _mart_description(m) for m in PUBLISHED_MART_MODELS}
    for table in PUBLISHED_GOVERNANCE:
        spec = GOVERNANCE_TABLES[table]
        described[table] = TableDescription(
            spec.label_zh,
            spec.description_zh,
            spec.description,
            {
                c.name: Description(c.label_zh, c.description_zh, c.description)
                for c in spec.columns
            },
        )
    return described


def data_dictionary_markdown() -> str:
    """docs/data_dictionary.md: every published table and column, in Chinese and English
    (`python -m quality.published > docs/data_dictionary.md`; a test keeps it in step)."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "# 数据字典 · Data dictionary",
        "",
        "`serving.duckdb`（及 PostgreSQL 端点）发布的每张表和每一列：中文名称与说明，英文说明。",
        "Every table and column published in `serving.duckdb` (and the PostgreSQL endpoint).",
        "Generated by `python -m quality.published > docs/data_dictionary.md` from the marts' dbt",
        "yml (`config.meta`: `label_zh`, `description_zh`) and `quality/findings.py`; do not edit.",
        "",
    ]
    for table, described in published_descriptions().items():
        lines += [
            f"## `{table}` {described.label_zh}",
            "",
            described.description_zh,
            "",
            described.description,
            "",
            "| 列 · column | 名称 | 说明 | description |",
            "|---|---|---|---|",
        ]
        for name, column in described.columns.items():
            if name in BOOKKEEPING_COLUMNS:
                continue
            lines.append(
                f"| `{name}` | {cell(column.label_zh)} | {cell(column.description_zh)} "
                f"| {cell(column.description)} |"
            )
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(data_dictionary_markdown(), end="")
