"""What every chapter of the blue-book reads with: the published database, read-only, with
the report's ``$city`` / ``$year`` parameters (``Source``), and the facts a chapter quotes,
each with the one SQL statement that produced it (``Fact``, kept by a ``Recorder``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import duckdb
import pandas as pd

from report.fmt import format_value


@dataclass(frozen=True)
class Fact:
    key: str
    label: str
    kind: str
    value: Any
    sql: str | None
    params: dict = field(default_factory=dict)
    source: str = ""

    @property
    def text(self) -> str:
        return format_value(self.value, self.kind)

    def as_json(self) -> dict:
        value = self.value
        if isinstance(value, Decimal):
            value = float(value)
        elif isinstance(value, date):
            value = value.isoformat()
        return {
            "key": self.key,
            "label": self.label,
            "kind": self.kind,
            "value": value,
            "text": self.text,
            "sql": self.sql,
            "params": self.params,
            "source": self.source,
        }


def _params_for(sql: str, params: dict) -> dict:
    """DuckDB rejects named parameters a statement does not use."""
    used = set(re.findall(r"\$(\w+)", sql))
    return {k: v for k, v in params.items() if k in used}


def _plain(value):
    if isinstance(value, Decimal):
        return float(value)
    return value


MM = "marts.market_monthly"
PPI = "marts.procedure_price_index"
CS = "marts.clinic_scorecard"
PS = "marts.persona_segments"
TF = "marts.travel_flows"
CF = "marts.channel_funnel"
GF = "governance.findings"
# the findings that stand as of the run (open or waived): resolved ones are history
GF_STANDING = "(select * from governance.findings where status <> 'resolved')"
RR = "governance.rule_results"

# Months of the report year in which the city sold both then and twelve months earlier:
# year-on-year growth compares these months only, so a partial earlier year is not
# compared with a full one.
# Year-on-year pairs of the city's months: complete months only (marts.md, month_complete), so a
# month the deliveries cover in part is never compared, nor compared with.
COMPARABLE = f"""
with city_months as (
    select month, sum(gmv) as gmv, sum(orders) as orders, bool_and(month_complete) as complete
    from {MM} where city = $city group by month
), comparable as (
    select cur.month, cur.gmv, cur.orders, prev.gmv as prev_gmv, prev.orders as prev_orders
    from city_months as cur
    join city_months as prev on prev.month = cast(cur.month - interval 12 month as date)
    where year(cur.month) = $year and cur.complete and prev.complete
)
"""


class Source:
    """The published database and the report's parameters; queries only, no state."""

    def __init__(self, con: duckdb.DuckDBPyConnection, city: str, year: int):
        self.con = con
        self.city = city
        self.year = int(year)
        self.params = {"city": city, "year": self.year}

    def query(self, sql: str, params: dict | None = None) -> list[tuple]:
        merged = {**self.params, **(params or {})}
        return self.con.execute(sql, _params_for(sql, merged)).fetchall()

    def scalar(self, sql: str, params: dict | None = None):
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def frame(self, sql: str, params: dict | None = None) -> pd.DataFrame:
        merged = {**self.params, **(params or {})}
        return self.con.execute(sql, _params_for(sql, merged)).df()


class Recorder:
    """The facts one chapter quotes, in the order it computed them."""

    def __init__(self, db: Source):
        self.db = db
        self._facts: dict[str, Fact] = {}

    def fact(
        self, key: str, label: str, kind: str, sql: str, source: str, params: dict | None = None
    ) -> Fact:
        merged = {**self.db.params, **(params or {})}
        value = _plain(self.db.scalar(sql, merged))
        fact = Fact(key, label, kind, value, sql.strip(), _params_for(sql, merged), source)
        self._facts[key] = fact
        return fact

    def constant(self, key: str, label: str, kind: str, value, source: str) -> Fact:
        """A number that does not come from the warehouse (e.g. the Spring Festival date)."""
        fact = Fact(key, label, kind, value, None, {}, source)
        self._facts[key] = fact
        return fact

    def f(self, key: str) -> Fact:
        return self._facts[key]

    def frozen(self) -> Mapping[str, Fact]:
        return MappingProxyType(dict(self._facts))
