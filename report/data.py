"""Every query of the blue-book report, against the published ``serving.duckdb`` only.

Numbers quoted in the commentary are *facts*: a label, a value, a display format and the
one SQL statement (with its ``$city`` / ``$year`` parameters) that produced the value. The
renderer writes them next to the report (``*.facts.json``) so anyone can re-run a query and
get the number printed in the text.

Scopes: market, category, price, travel and the channel funnel use calendar months of the
report year. Personas cover the marts' 365 days up to the as-of date; the clinic scorecard
and the compliance figures cover everything the warehouse holds up to the as-of date (the
published marts carry no finer time grain for them). Each section says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

import duckdb

from report.chapters import (
    categories,
    channels,
    clinics,
    compliance,
    market,
    personas,
    prices,
    travel,
)
from report.source import MM, RR, Fact, Source


class ReportError(Exception):
    """A report cannot be produced (no data for the city and year, no serving database)."""


def cities_by_gmv(serving_path: Path, year: int) -> list[str]:
    """Cities with completed orders in the year, largest GMV first ([] without a database)."""
    if not Path(serving_path).exists():
        return []
    con = duckdb.connect(str(serving_path), read_only=True)
    try:
        rows = con.execute(
            "select city from marts.market_monthly where year(month) = ? group by city "
            "having sum(orders) > 0 order by sum(gmv) desc, city",
            [int(year)],
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def report_stem(city: str, year: int) -> str:
    return f"bluebook_{city}_{year}"


# The month-grain marts a report reads for its year: when none of their rows of that year
# changed, the year's report is already current (orchestration/reports/assets.py).
YEAR_TABLES = (
    "marts.market_monthly",
    "marts.procedure_price_index",
    "marts.travel_flows",
    "marts.channel_funnel",
)


def year_data_digest(serving_path: Path, year: int) -> str | None:
    """A digest of every published row of the year in the month-grain marts (None without a
    database). Order-independent: ``bit_xor`` of row hashes, then the row count."""
    if not Path(serving_path).exists():
        return None
    con = duckdb.connect(str(serving_path), read_only=True)
    try:
        parts = []
        for table in YEAR_TABLES:
            count, digest = con.execute(
                f"select count(*), coalesce(bit_xor(hash(t)), 0) from {table} as t "
                "where year(month) = ?",
                [int(year)],
            ).fetchone()
            parts.append(f"{table}:{count}:{digest}")
    finally:
        con.close()
    return "/".join(parts)


@dataclass(frozen=True)
class Chapters:
    """Every chapter's facts and frames, loaded in the order their dependencies need."""

    market: market.MarketChapter
    categories: categories.CategoriesChapter
    prices: prices.PricesChapter
    personas: personas.PersonasChapter
    travel: travel.TravelChapter
    channels: channels.ChannelsChapter
    clinics: clinics.ClinicsChapter
    compliance: compliance.ComplianceChapter

    @classmethod
    def load(cls, db: Source) -> Chapters:
        market_chapter = market.load(db)
        persona_chapter = personas.load(db)
        return cls(
            market=market_chapter,
            categories=categories.load(db, market_chapter),
            prices=prices.load(db),
            personas=persona_chapter,
            travel=travel.load(db),
            channels=channels.load(db, persona_chapter),
            clinics=clinics.load(db),
            compliance=compliance.load(db),
        )

    def with_values(self, values: Mapping[str, Any]) -> Chapters:
        """A copy whose facts hold other values (what-if wording, in the tests)."""
        changed = {}
        for field_ in fields(self):
            chapter = getattr(self, field_.name)
            if values.keys() & chapter.facts.keys():
                facts = {
                    key: replace(fact, value=values[key]) if key in values else fact
                    for key, fact in chapter.facts.items()
                }
                changed[field_.name] = replace(chapter, facts=MappingProxyType(facts))
        return replace(self, **changed)

    def facts(self) -> Mapping[str, Fact]:
        merged: dict[str, Fact] = {}
        for chapter in (
            self.market, self.categories, self.prices, self.personas, self.travel,
            self.channels, self.clinics, self.compliance,
        ):  # fmt: skip
            merged.update(chapter.facts)
        return MappingProxyType(merged)


class ReportData:
    """Opens serving.duckdb read-only; ``load()`` reads every chapter (report/chapters)."""

    def __init__(self, serving_path: Path, city: str, year: int, as_of: date | None = None):
        self.serving_path = Path(serving_path)
        if not self.serving_path.exists():
            raise ReportError(
                f"no published database at {self.serving_path}: run `yimei run` first "
                f"(cannot report on {city} {year})"
            )
        self.city = city
        self.year = int(year)
        self.chapters: Chapters | None = None
        self._facts: Mapping[str, Fact] = MappingProxyType({})
        self.con = duckdb.connect(str(self.serving_path), read_only=True)
        self.db = Source(self.con, city, self.year)
        try:
            self._check_has_data()
            self.run_id, self.published_on = self._publication()
            self.as_of = as_of or self.published_on
        except BaseException:
            self.con.close()
            raise

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> ReportData:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def load(self) -> ReportData:
        return self.use(Chapters.load(self.db))

    def use(self, chapters: Chapters) -> ReportData:
        self.chapters = chapters
        self._facts = chapters.facts()
        return self

    def _loaded(self) -> Chapters:
        if self.chapters is None:
            raise ReportError("ReportData.load() first")
        return self.chapters

    @property
    def facts(self) -> Mapping[str, Fact]:
        self._loaded()
        return self._facts

    def f(self, key: str) -> Fact:
        return self.facts[key]

    # the chapters' frames, as the renderer and the charts read them
    monthly = property(lambda self: self._loaded().market.monthly)
    quarterly = property(lambda self: self._loaded().market.quarterly)
    city_ranking = property(lambda self: self._loaded().market.city_ranking)
    categories = property(lambda self: self._loaded().categories.categories)
    procedures = property(lambda self: self._loaded().categories.procedures)
    prices = property(lambda self: self._loaded().prices.prices)
    persona_count = property(lambda self: self._loaded().personas.persona_count)
    personas = property(lambda self: self._loaded().personas.personas)
    origins = property(lambda self: self._loaded().travel.origins)
    destinations = property(lambda self: self._loaded().travel.destinations)
    sf_window = property(lambda self: self._loaded().travel.sf_window)
    channel_mix = property(lambda self: self._loaded().channels.channel_mix)
    funnel = property(lambda self: self._loaded().channels.funnel)
    tiers = property(lambda self: self._loaded().clinics.tiers)
    leaders = property(lambda self: self._loaded().clinics.leaders)
    trust_scores = property(lambda self: self._loaded().clinics.trust_scores)
    rule_counts = property(lambda self: self._loaded().compliance.rule_counts)

    # -- publication and coverage -----------------------------------------------------

    def _check_has_data(self) -> None:
        orders = self.db.scalar(
            f"select coalesce(sum(orders), 0) from {MM} where city = $city and year(month) = $year"
        )
        if orders:
            return
        cities = [
            r[0]
            for r in self.db.query(
                f"select city from {MM} where year(month) = $year group by city "
                "order by sum(gmv) desc"
            )
        ]
        years = [r[0] for r in self.db.query(f"select distinct year(month) from {MM} order by 1")]
        known = (
            f"cities with data in {self.year}: {', '.join(cities)}"
            if cities
            else f"years with data: {', '.join(map(str, years)) or 'none'}"
        )
        raise ReportError(
            f"no data for city {self.city} in {self.year} in {self.serving_path} "
            f"(无{self.city}{self.year}年的已完成订单数据); {known}"
        )

    def _publication(self) -> tuple[str | None, date | None]:
        row = self.db.query(
            f"select run_id, cast(timezone('Asia/Shanghai', checked_at) as date) from {RR} "
            "order by checked_at desc limit 1"
        )
        return (row[0][0], row[0][1]) if row else (None, None)

    @property
    def months_in_year(self) -> int:
        return int(self.f("market.months").value)

    @property
    def partial_year(self) -> bool:
        return self.months_in_year < 12
