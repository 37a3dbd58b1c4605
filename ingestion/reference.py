"""Reference data owned by the warehouse, read from the dbt seeds (one source of truth)."""

from __future__ import annotations

import csv
from functools import cache

from ingestion.settings import DBT_PROJECT_DIR


@cache
def procedure_codes() -> tuple[str, ...]:
    with (DBT_PROJECT_DIR / "seeds" / "procedures.csv").open(encoding="utf-8") as handle:
        return tuple(row["procedure_code"] for row in csv.DictReader(handle))
