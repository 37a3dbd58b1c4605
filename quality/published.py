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
