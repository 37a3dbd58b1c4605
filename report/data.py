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

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from report.fmt import CHANNELS, MIN_CELL_BUYERS, REPLY_HOURS, SPRING_FESTIVAL, format_value


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


@dataclass
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
COMPARABLE = f"""
with city_months as (
    select month, sum(gmv) as gmv, sum(orders) as orders
    from {MM} where city = $city group by month
), comparable as (
    select cur.month, cur.gmv, cur.orders, prev.gmv as prev_gmv, prev.orders as prev_orders
    from city_months as cur
    join city_months as prev on prev.month = cast(cur.month - interval 12 month as date)
    where year(cur.month) = $year
)
"""


class ReportData:
    """Opens serving.duckdb read-only, runs every query and keeps the facts it used."""

    def __init__(self, serving_path: Path, city: str, year: int, as_of: date | None = None):
        self.serving_path = Path(serving_path)
        if not self.serving_path.exists():
            raise ReportError(
                f"no published database at {self.serving_path}: run `yimei run` first "
                f"(cannot report on {city} {year})"
            )
        self.city = city
        self.year = int(year)
        self.params = {"city": city, "year": self.year}
        self.facts: dict[str, Fact] = {}
        self.con = duckdb.connect(str(self.serving_path), read_only=True)
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

    # -- primitives -------------------------------------------------------------------

    def query(self, sql: str, params: dict | None = None) -> list[tuple]:
        merged = {**self.params, **(params or {})}
        return self.con.execute(sql, _params_for(sql, merged)).fetchall()

    def scalar(self, sql: str, params: dict | None = None):
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def frame(self, sql: str, params: dict | None = None) -> pd.DataFrame:
        merged = {**self.params, **(params or {})}
        return self.con.execute(sql, _params_for(sql, merged)).df()

    def fact(
        self, key: str, label: str, kind: str, sql: str, source: str, params: dict | None = None
    ) -> Fact:
        merged = {**self.params, **(params or {})}
        value = _plain(self.scalar(sql, merged))
        fact = Fact(key, label, kind, value, sql.strip(), _params_for(sql, merged), source)
        self.facts[key] = fact
        return fact

    def constant(self, key: str, label: str, kind: str, value, source: str) -> Fact:
        """A number that does not come from the warehouse (e.g. the Spring Festival date)."""
        fact = Fact(key, label, kind, value, None, {}, source)
        self.facts[key] = fact
        return fact

    def f(self, key: str) -> Fact:
        return self.facts[key]

    # -- publication and coverage -----------------------------------------------------

    def _check_has_data(self) -> None:
        orders = self.scalar(
            f"select coalesce(sum(orders), 0) from {MM} where city = $city and year(month) = $year"
        )
        if orders:
            return
        cities = [
            r[0]
            for r in self.query(
                f"select city from {MM} where year(month) = $year group by city "
                "order by sum(gmv) desc"
            )
        ]
        years = [r[0] for r in self.query(f"select distinct year(month) from {MM} order by 1")]
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
        row = self.query(
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

    # -- sections ---------------------------------------------------------------------

    def load(self) -> ReportData:
        self.load_market()
        self.load_categories()
        self.load_prices()
        self.load_personas()
        self.load_travel()
        self.load_channels()
        self.load_clinics()
        self.load_compliance()
        return self

    def load_market(self) -> None:
        src = MM
        year_rows = f"from {MM} where city = $city and year(month) = $year"
        self.fact("market.gmv", "全年GMV", "money", f"select sum(gmv) {year_rows}", src)
        self.fact("market.orders", "完成订单数", "count", f"select sum(orders) {year_rows}", src)
        self.fact("market.buyers", "买家人次", "count", f"select sum(buyers) {year_rows}", src)
        self.fact(
            "market.aov",
            "单均成交额",
            "price",
            f"select sum(gmv) / sum(orders) {year_rows}",
            src,
        )
        self.fact(
            "market.months", "有数据的月份数", "count",
            f"select count(distinct month) {year_rows}", src,
        )
        self.fact(
            "market.first_month", "首个有数据月份", "year_month",
            f"select min(month) {year_rows}", src,
        )
        self.fact(
            "market.last_month", "最后有数据月份", "year_month",
            f"select max(month) {year_rows}", src,
        )
        self.fact(
            "market.yoy_months", "可比月份数", "count",
            COMPARABLE + "select count(*) from comparable", src,
        )
        self.fact(
            "market.gmv_yoy", "GMV同比", "growth",
            COMPARABLE + "select sum(gmv) / sum(prev_gmv) - 1 from comparable", src,
        )
        self.fact(
            "market.prev_gmv", "上年同期GMV", "money",
            COMPARABLE + "select sum(prev_gmv) from comparable", src,
        )
        self.fact(
            "market.orders_yoy", "订单同比", "growth",
            COMPARABLE
            + "select cast(sum(orders) as double) / sum(prev_orders) - 1 from comparable",
            src,
        )
        city_gmv = f"""
            with cities as (
                select city, sum(gmv) as gmv from {MM} where year(month) = $year group by city
            )
        """
        self.fact(
            "market.rank", "GMV城市排名", "rank",
            city_gmv + "select rank from (select city, rank() over (order by gmv desc) as rank "
            "from cities) where city = $city",
            src,
        )
        self.fact(
            "market.city_count", "覆盖城市数", "count",
            city_gmv + "select count(*) from cities", src,
        )
        self.fact(
            "market.national_share", "占全国GMV比重", "pct",
            city_gmv + "select sum(gmv) filter (where city = $city) / sum(gmv) from cities",
            src,
        )
        monthly = f"""
            with months as (
                select month, sum(gmv) as gmv {year_rows} group by month
            ), peak as (select * from months order by gmv desc, month limit 1)
        """
        self.fact("market.peak_month", "GMV最高月份", "month",
                  monthly + "select month from peak", src)
        self.fact("market.peak_month_gmv", "最高月份GMV", "money",
                  monthly + "select gmv from peak", src)
        quarters = f"""
            with quarters as (
                select quarter(month) as q, sum(gmv) as gmv {year_rows} group by q
            ), top as (select * from quarters order by gmv desc, q limit 1)
        """
        self.fact("market.top_quarter", "GMV最高季度", "quarter",
                  quarters + "select q from top", src)
        self.fact(
            "market.top_quarter_share", "最高季度GMV占全年比重", "pct",
            quarters + "select (select gmv from top) / sum(gmv) from quarters", src,
        )

        self.monthly = self.frame(
            f"""
            select month, year(month) as year, month(month) as m,
                sum(gmv) as gmv, sum(orders) as orders, sum(buyers) as buyers,
                sum(traveller_orders) as traveller_orders
            from {MM}
            where city = $city and year(month) in ($year, $year - 1)
            group by month order by month
            """
        )
        self.quarterly = self.frame(
            COMPARABLE
            + f"""
            , q as (
                select quarter(month) as quarter, sum(gmv) as gmv, sum(orders) as orders,
                    sum(buyers) as buyers, count(distinct month) as months
                {year_rows} group by quarter
            ), qc as (
                select quarter(month) as quarter, sum(gmv) / sum(prev_gmv) - 1 as gmv_yoy
                from comparable group by quarter
            )
            select q.*, q.gmv / sum(q.gmv) over () as share, qc.gmv_yoy
            from q left join qc using (quarter) order by quarter
            """
        )
        self.city_ranking = self.frame(
            f"select city, sum(gmv) as gmv from {MM} where year(month) = $year "
            "group by city order by gmv desc"
        )

    def load_categories(self) -> None:
        src = MM
        cats = f"""
            with cats as (
                select category, sum(gmv) as gmv, sum(orders) as orders
                from {MM} where city = $city and year(month) = $year group by category
            ), nat as (
                select category, sum(gmv) as gmv from {MM} where year(month) = $year
                group by category
            ), top as (select * from cats order by gmv desc, category limit 1)
        """
        self.fact("cat.top", "GMV最大品类", "category", cats + "select category from top", src)
        self.fact(
            "cat.top_share", "最大品类GMV占比", "pct",
            cats + "select (select gmv from top) / sum(gmv) from cats", src,
        )
        self.fact(
            "cat.top_national_share", "该品类全国GMV占比", "pct",
            cats + "select sum(gmv) filter (where category = (select category from top)) "
            "/ sum(gmv) from nat",
            src,
        )
        self.fact(
            "cat.light_share", "轻医美（注射类+光电类）GMV占比", "pct",
            cats + "select sum(gmv) filter (where category in ('injectable', 'energy')) "
            "/ sum(gmv) from cats",
            src,
        )
        self.fact(
            "cat.light_national_share", "全国轻医美GMV占比", "pct",
            cats + "select sum(gmv) filter (where category in ('injectable', 'energy')) "
            "/ sum(gmv) from nat",
            src,
        )
        self.fact(
            "cat.surgical_share", "手术类GMV占比", "pct",
            cats + "select coalesce(sum(gmv) filter (where category = 'surgical'), 0) "
            "/ sum(gmv) from cats",
            src,
        )
        procs = f"""
            with procs as (
                select procedure_code, any_value(procedure_name) as name,
                    sum(gmv) as gmv, sum(orders) as orders
                from {MM} where city = $city and year(month) = $year group by procedure_code
            ), top as (select * from procs order by gmv desc, procedure_code limit 1)
        """
        self.fact("proc.count", "有成交的项目数", "count",
                  procs + "select count(*) from procs", src)
        self.fact("proc.top_name", "GMV最高项目", "text", procs + "select name from top", src)
        self.fact(
            "proc.top_share", "GMV最高项目占比", "pct",
            procs + "select (select gmv from top) / sum(gmv) from procs", src,
        )
        self.fact("proc.top_orders", "GMV最高项目订单数", "count",
                  procs + "select orders from top", src)
        self.fact(
            "proc.top3_share", "前三项目GMV合计占比", "pct",
            procs + "select (select sum(gmv) from (select gmv from procs order by gmv desc "
            "limit 3)) / sum(gmv) from procs",
            src,
        )
        if self.f("market.yoy_months").value:
            growth = f"""
                with city_cat as (
                    select month, category, sum(gmv) as gmv from {MM}
                    where city = $city group by month, category
                ), pairs as (
                    select cur.category, sum(cur.gmv) as gmv, sum(prev.gmv) as prev_gmv
                    from city_cat as cur
                    join city_cat as prev
                        on prev.category = cur.category
                        and prev.month = cast(cur.month - interval 12 month as date)
                    where year(cur.month) = $year group by cur.category
                ), fastest as (
                    -- categories under 5% of the comparable months' GMV are too small to rank
                    select category, gmv / prev_gmv - 1 as growth from pairs
                    where gmv >= 0.05 * (select sum(gmv) from pairs)
                    order by growth desc, category limit 1
                )
            """
            self.fact("cat.fastest", "同比增速最快品类", "category",
                      growth + "select category from fastest", src)
            self.fact("cat.fastest_growth", "该品类GMV同比", "growth",
                      growth + "select growth from fastest", src)

        self.categories = self.frame(
            f"""
            with cats as (
                select category, sum(gmv) as gmv, sum(orders) as orders
                from {MM} where city = $city and year(month) = $year group by category
            ), nat as (
                select category, sum(gmv) as nat_gmv from {MM} where year(month) = $year
                group by category
            )
            select cats.category, cats.gmv, cats.orders, cats.gmv / sum(cats.gmv) over ()
                as share, nat.nat_gmv / (select sum(nat_gmv) from nat) as national_share
            from cats left join nat using (category) order by cats.gmv desc
            """
        )
        self.procedures = self.frame(
            f"""
            select procedure_code, any_value(procedure_name) as procedure_name,
                any_value(category) as category, sum(orders) as orders, sum(gmv) as gmv,
                sum(gmv) / sum(sum(gmv)) over () as share, sum(gmv) / sum(orders) as avg_paid
            from {MM} where city = $city and year(month) = $year
            group by procedure_code order by gmv desc, procedure_code
            """
        )

    def load_prices(self) -> None:
        src = PPI
        # Yearly figures are order-weighted averages of the monthly medians / quartiles; the
        # national median is taken in the same months, weighted by the city's orders, so the
        # index compares like with like.
        per_proc = f"""
            with p as (
                select procedure_code, any_value(procedure_name) as name, sum(orders) as orders,
                    sum(median_paid * orders) / sum(orders) as median_paid,
                    sum(p25_paid * orders) / sum(orders) as p25_paid,
                    sum(p75_paid * orders) / sum(orders) as p75_paid,
                    sum(national_median_paid * orders) / sum(orders) as national_median_paid
                from {PPI} where city = $city and year(month) = $year
                group by procedure_code
            ), idx as (
                select *, cast(median_paid / national_median_paid * 100 as double) as price_index,
                    cast((p75_paid - p25_paid) / median_paid as double) as spread
                from p
            )
        """
        self.fact(
            "price.index", "综合价格指数（全国=100）", "index",
            f"select cast(sum(median_paid * orders) / sum(national_median_paid * orders) * 100 "
            f"as double) from {PPI} where city = $city and year(month) = $year",
            src,
        )
        hi = "(select * from idx order by price_index desc, procedure_code limit 1)"
        lo = "(select * from idx order by price_index asc, procedure_code limit 1)"
        wide = "(select * from idx order by spread desc, procedure_code limit 1)"
        self.fact("price.max_name", "相对全国最贵项目", "text", per_proc + f"select name from {hi}",
                  src)
        self.fact("price.max_index", "该项目价格指数", "index",
                  per_proc + f"select price_index from {hi}", src)
        self.fact("price.min_name", "相对全国最便宜项目", "text",
                  per_proc + f"select name from {lo}", src)
        self.fact("price.min_index", "该项目价格指数", "index",
                  per_proc + f"select price_index from {lo}", src)
        self.fact("price.wide_name", "价格离散度最大项目", "text",
                  per_proc + f"select name from {wide}", src)
        self.fact("price.wide_spread", "该项目四分位距/中位价", "pct",
                  per_proc + f"select spread from {wide}", src)
        self.fact(
            "price.above_count", "价格高于全国中位价的项目数", "count",
            per_proc + "select count(*) filter (where price_index > 100) from idx", src,
        )
        self.fact("price.proc_count", "有价格数据的项目数", "count",
                  per_proc + "select count(*) from idx", src)
        self.prices = self.frame(
            per_proc + "select idx.*, procedure_code from idx order by procedure_code"
        )

    def load_personas(self) -> None:
        src = PS
        city_rows = f"from {PS} where city = $city"
        self.fact("persona.buyers", "画像覆盖买家数", "count",
                  f"select sum(buyers) {city_rows}", src)
        self.persona_count = self.scalar(f"select count(*) {city_rows}") or 0
        if not self.persona_count:
            self.personas = self.frame(f"select * {city_rows}")
            return
        self.fact(
            "persona.merged_share", "合并小样本买家占比", "pct",
            f"select coalesce(sum(buyers) filter (where age_band = 'merged'), 0) / sum(buyers) "
            f"{city_rows}",
            src,
        )
        known = f"{city_rows} and gender not in ('merged', 'U')"
        self.fact(
            "persona.female_share", "女性买家占比", "pct",
            f"select sum(buyers) filter (where gender = 'F') / sum(buyers) {known}", src,
        )
        ages = f"""
            with ages as (
                select age_band, sum(buyers) as buyers {city_rows}
                    and age_band not in ('merged', 'unknown') group by age_band
            ), top as (select * from ages order by buyers desc, age_band limit 1)
        """
        self.fact("persona.top_age", "买家最多的年龄段", "age_band",
                  ages + "select age_band from top", src)
        self.fact(
            "persona.top_age_share", "该年龄段占比", "pct",
            ages + "select (select buyers from top) / sum(buyers) from ages", src,
        )
        self.fact(
            "persona.young_share", "35岁以下买家占比", "pct",
            ages + "select sum(buyers) filter (where age_band in ('<20', '20-24', '25-29', "
            "'30-34')) / sum(buyers) from ages",
            src,
        )
        tiers = f"{city_rows} and spend_tier <> 'merged'"
        self.fact(
            "persona.high_spend_share", "年消费2万元以上买家占比", "pct",
            f"select coalesce(sum(buyers) filter (where spend_tier in ('20k-50k', '50k+')), 0) "
            f"/ sum(buyers) {tiers}",
            src,
        )
        weighted = "sum(repeat_buyer_rate * buyers) / sum(buyers)"
        self.fact("persona.repeat_rate", "复购率", "pct", f"select {weighted} {city_rows}", src)
        self.fact("persona.repeat_rate_national", "全国复购率", "pct",
                  f"select {weighted} from {PS}", src)
        self.fact(
            "persona.repeat_diff", "复购率与全国之差", "pp",
            f"select (select {weighted} {city_rows}) - (select {weighted} from {PS})", src,
        )
        spend = "sum(avg_spend_per_buyer * buyers) / sum(buyers)"
        self.fact("persona.avg_spend", "人均消费", "price", f"select {spend} {city_rows}", src)
        self.fact("persona.avg_spend_national", "全国人均消费", "price",
                  f"select {spend} from {PS}", src)
        favs = f"""
            with favs as (
                select favourite_category, sum(buyers) as buyers {city_rows}
                    and favourite_category <> 'merged' group by favourite_category
            ), top as (select * from favs order by buyers desc, favourite_category limit 1)
        """
        self.fact("persona.fav_top", "最受偏好品类", "category",
                  favs + "select favourite_category from top", src)
        self.fact(
            "persona.fav_top_share", "偏好该品类的买家占比", "pct",
            favs + "select (select buyers from top) / sum(buyers) from favs", src,
        )
        self.personas = self.frame(f"select * {city_rows}")

    def load_travel(self) -> None:
        year_mm = f"from {MM} where city = $city and year(month) = $year"
        year_tf = f"from {TF} where clinic_city = $city and year(month) = $year"
        self.fact("travel.orders", "外地客完成订单", "count",
                  f"select sum(traveller_orders) {year_mm}", MM)
        self.fact(
            "travel.share", "外地客订单占比", "pct",
            f"select cast(sum(traveller_orders) as double) / sum(orders) {year_mm}", MM,
        )
        self.fact(
            "travel.national_share", "全国外地客订单占比", "pct",
            f"select cast(sum(traveller_orders) as double) / sum(orders) from {MM} "
            "where year(month) = $year",
            MM,
        )
        self.fact("travel.gmv", "外地客GMV", "money", f"select sum(gmv) {year_tf}", TF)
        self.fact(
            "travel.gmv_share", "外地客GMV占比", "pct",
            f"select (select sum(gmv) {year_tf}) / (select sum(gmv) {year_mm})", f"{TF}, {MM}",
        )
        self.fact("travel.buyers", "外地买家人次", "count",
                  f"select sum(travelling_buyers) {year_tf}", TF)
        self.fact("travel.origin_count", "来源城市数", "count",
                  f"select count(distinct buyer_city) {year_tf}", TF)
        origins = f"""
            with origins as (
                select buyer_city, sum(travelling_buyers) as buyers, sum(orders) as orders
                {year_tf} group by buyer_city
            ), top as (
                select * from origins where buyers >= {MIN_CELL_BUYERS}
                order by orders desc, buyer_city limit 1
            )
        """
        self.fact("travel.top_origin", "最大客源城市", "text",
                  origins + "select buyer_city from top", TF)
        if self.f("travel.top_origin").value is not None:
            self.fact(
                "travel.top_origin_share", "最大客源城市订单占外地客订单比重", "pct",
                origins + "select (select orders from top) / sum(orders) from origins", TF,
            )
        peak = f"""
            with months as (select month, sum(traveller_orders) as orders {year_mm}
                group by month), peak as (select * from months order by orders desc, month
                limit 1)
        """
        self.fact("travel.peak_month", "外地客订单最多月份", "month",
                  peak + "select month from peak", MM)
        self.fact("travel.peak_orders", "该月外地客订单", "count",
                  peak + "select orders from peak", MM)
        self._spring_festival(year_mm)
        out = f"""
            with dest as (
                select clinic_city, sum(orders) as orders from {TF}
                where buyer_city = $city and year(month) = $year group by clinic_city
            ), top as (select * from dest order by orders desc, clinic_city limit 1)
        """
        self.fact("travel.out_orders", "本地买家赴外地完成订单", "count",
                  out + "select coalesce(sum(orders), 0) from dest", TF)
        if self.f("travel.out_orders").value:
            self.fact("travel.out_top", "本地买家首选外地目的地", "text",
                      out + "select clinic_city from top", TF)
            self.fact(
                "travel.out_top_share", "该目的地占比", "pct",
                out + "select (select orders from top) / sum(orders) from dest", TF,
            )

        # Origins with fewer than MIN_CELL_BUYERS travelling buyers are merged (GOV-13 spirit).
        self.origins = self.frame(
            f"""
            with origins as (
                select buyer_city, sum(travelling_buyers) as buyers, sum(orders) as orders,
                    sum(gmv) as gmv
                {year_tf} group by buyer_city
            ), labelled as (
                select case when buyers >= {MIN_CELL_BUYERS} then buyer_city else '其他城市'
                    end as buyer_city, buyers, orders, gmv
                from origins
            )
            select buyer_city, sum(buyers) as buyers, sum(orders) as orders, sum(gmv) as gmv,
                sum(orders) / sum(sum(orders)) over () as share
            from labelled group by buyer_city
            order by buyer_city = '其他城市', orders desc, buyer_city
            """
        )
        self.destinations = self.frame(
            f"""
            select clinic_city, sum(travelling_buyers) as buyers, sum(orders) as orders,
                sum(gmv) as gmv
            from {TF} where buyer_city = $city and year(month) = $year
            group by clinic_city order by orders desc, clinic_city
            """
        )

    def _spring_festival(self, year_mm: str) -> None:
        festival = SPRING_FESTIVAL.get(self.year)
        self.sf_window: list[date] = []
        if festival is None:
            return
        sf_month = festival.replace(day=1)
        before = date(sf_month.year - (sf_month.month == 1), (sf_month.month - 2) % 12 + 1, 1)
        self.sf_window = [before, sf_month]
        self.constant("travel.sf_date", "春节（正月初一）", "year_month", festival, "农历")
        params = {"sf_start": before, "sf_end": sf_month}
        between = "month between cast($sf_start as date) and cast($sf_end as date)"
        self.fact(
            "travel.sf_months", "春节档有数据的月份数", "count",
            f"select count(distinct month) {year_mm} and {between}",
            MM, params,
        )
        if not self.f("travel.sf_months").value:
            return
        window = f"""
            with months as (select month, sum(traveller_orders) as orders {year_mm}
                group by month)
        """
        self.fact(
            "travel.sf_orders", "春节档外地客订单", "count",
            window + f"select sum(orders) from months where {between}",
            MM, params,
        )
        self.fact(
            "travel.sf_ratio", "春节档月均外地客订单/全年月均", "times",
            window + f"select avg(orders) filter (where {between}) "
            "/ avg(orders) from months",
            MM, params,
        )

    def load_channels(self) -> None:
        def mix(where: str) -> str:
            parts = ", ".join(
                f"sum(share_{c} * orders) / sum(orders) as {c}" for c in CHANNELS
            )
            return f"select {parts} from {PS} {where}"

        city_where = "where city = $city"
        if self.persona_count:
            for c in CHANNELS:
                self.fact(
                    f"ch.{c}", f"本市{c}渠道订单占比", "pct",
                    f"select sum(share_{c} * orders) / sum(orders) from {PS} {city_where}", PS,
                )
            unpivot = f"""
                with mix as ({mix(city_where)}),
                long as (unpivot mix on {', '.join(CHANNELS)} into name channel value share),
                top as (select * from long order by share desc, channel limit 1)
            """
            self.fact("ch.top", "第一大渠道", "channel", unpivot + "select channel from top", PS)
            self.fact("ch.top_share", "第一大渠道占比", "pct", unpivot + "select share from top",
                      PS)
            for c in ("live_stream", "video_consult"):
                self.fact(
                    f"ch.{c}_diff", f"{c}占比与全国之差", "pp",
                    f"select (select sum(share_{c} * orders) / sum(orders) from {PS} "
                    f"{city_where}) - (select sum(share_{c} * orders) / sum(orders) from {PS})",
                    PS,
                )
        self.channel_mix = self.frame(
            f"""
            with city as ({mix(city_where)}), nat as ({mix('')})
            select 'city' as scope, * from city union all select 'national', * from nat
            """
        )
        funnel = f"""
            with f as (
                select channel, sum(orders_created) as created, sum(orders_paid) as paid,
                    sum(orders_completed) as completed, sum(orders_refunded) as refunded
                from {CF} where year(month) = $year group by channel
            )
        """
        self.fact(
            "fn.created", "全国下单量", "count", funnel + "select sum(created) from f", CF
        )
        best = "(select * from f order by completed / paid desc, channel limit 1)"
        self.fact("fn.best_channel", "核销率最高渠道", "channel",
                  funnel + f"select channel from {best}", CF)
        self.fact("fn.best_completion", "该渠道核销率", "pct",
                  funnel + f"select completed / paid from {best}", CF)
        self.fact("fn.refund_rate", "全渠道退款率", "pct",
                  funnel + "select sum(refunded) / sum(paid) from f", CF)
        self.fact(
            "fn.live_refund_rate", "直播渠道退款率", "pct",
            funnel + "select refunded / paid from f where channel = 'live_stream'", CF,
        )
        self.funnel = self.frame(
            funnel
            + """
            select channel, created, paid, completed, refunded,
                paid / created as paid_rate, completed / paid as completion_rate,
                refunded / paid as refund_rate
            from f order by created desc
            """
        )

    def load_clinics(self) -> None:
        src = CS
        active = f"from {CS} where city = $city and platform_status = 'active'"
        self.fact("clinic.listed", "在册机构数", "count",
                  f"select count(*) from {CS} where city = $city", src)
        self.fact("clinic.active", "在营机构数", "count", f"select count(*) {active}", src)
        for tier in ("diamond", "selected", "none"):
            self.fact(f"clinic.tier_{tier}", f"{tier}机构数", "count",
                      f"select count(*) {active} and tier = '{tier}'", src)
        self.fact("clinic.bar", "达到美钻标准的机构数", "count",
                  f"select count(*) {active} and meets_diamond_bar", src)
        self.fact("clinic.diamond_below_bar", "挂美钻标识但未达标准的机构数", "count",
                  f"select count(*) {active} and tier = 'diamond' and not meets_diamond_bar", src)
        self.fact("clinic.bar_not_diamond", "达标但未获美钻标识的机构数", "count",
                  f"select count(*) {active} and tier <> 'diamond' and meets_diamond_bar", src)
        self.fact("clinic.trust_avg", "平均信任分", "index", f"select avg(trust_score) {active}",
                  src)
        self.fact(
            "clinic.trust_national", "全国平均信任分", "index",
            f"select avg(trust_score) from {CS} where platform_status = 'active'", src,
        )
        leader = f"(select * from {CS} where city = $city and platform_status = 'active' " \
                 "order by trust_score desc, gmv desc, clinic_id limit 1)"
        self.fact("clinic.leader", "信任分最高机构", "text", f"select name from {leader}", src)
        self.fact("clinic.leader_score", "其信任分", "index",
                  f"select trust_score from {leader}", src)
        self.fact(
            "clinic.cr5", "GMV前五机构集中度", "pct",
            f"select (select sum(gmv) from (select gmv from {CS} where city = $city "
            f"order by gmv desc limit 5)) / nullif(sum(gmv), 0) from {CS} where city = $city",
            src,
        )
        self.fact(
            "clinic.avg_score", "验证评价平均分", "score",
            f"select sum(avg_score_overall * verified_review_count) / "
            f"nullif(sum(verified_review_count), 0) from {CS} where city = $city",
            src,
        )
        self.tiers = self.frame(
            f"""
            select tier, count(*) as clinics,
                count(*) filter (where meets_diamond_bar) as meets_bar,
                avg(trust_score) as trust_score, sum(gmv) as gmv
            {active} group by tier
            order by case tier when 'diamond' then 0 when 'selected' then 1 else 2 end
            """
        )
        self.leaders = self.frame(
            f"""
            select name, tier, meets_diamond_bar, trust_score, verified_review_count,
                avg_score_overall, completed_orders, gmv, licence_verified
            {active} order by trust_score desc, gmv desc, clinic_id limit 10
            """
        )
        self.trust_scores = self.frame(f"select trust_score, gmv, tier {active}")

    def load_compliance(self) -> None:
        def licence(where: str) -> str:
            return (
                f"select count(*) filter (where licence_verified) / count(*) from {CS} "
                f"where platform_status = 'active' {where}"
            )

        city_and = "and city = $city"
        self.fact("comp.licence_rate", "执业许可核验通过率", "pct", licence(city_and), CS)
        self.fact("comp.licence_rate_national", "全国执业许可核验通过率", "pct", licence(""), CS)
        self.fact(
            "comp.unverified", "许可未通过核验的在营机构", "count",
            f"select count(*) from {CS} where platform_status = 'active' {city_and} "
            "and not licence_verified",
            CS,
        )
        self.fact("comp.completed", "累计完成订单", "count",
                  f"select sum(completed_orders) from {CS} where city = $city", CS)

        def order_rate(rules: tuple[str, ...], where: str) -> str:
            ids = ", ".join(f"'{r}'" for r in rules)
            return f"""
                select (select count(distinct f.entity_id) from {GF_STANDING} as f
                        join {CS} as c using (clinic_id)
                        where f.rule_id in ({ids}) and f.entity_type = 'order' {where})
                    / (select sum(completed_orders) from {CS} as c where true {where})
            """

        city_c = "and c.city = $city"
        rates = {
            "scope": (("GOV-03", "GOV-04"), "超范围执业订单率（科目或医师超范围）"),
            "product": (("GOV-05",), "未注册产品/缺设备序列号订单率"),
            "licence_service": (("GOV-02",), "服务时许可无效订单率"),
            "price": (("GOV-08",), "价格不透明订单率"),
            "grade": (("GOV-14",), "超出机构级别的手术订单率（分级管理）"),
        }
        for key, (rules, label) in rates.items():
            self.fact(f"comp.{key}_rate", label, "pct", order_rate(rules, city_c), f"{GF}, {CS}")
            self.fact(f"comp.{key}_rate_national", f"全国{label}", "pct", order_rate(rules, ""),
                      f"{GF}, {CS}")

        def review_rate(where: str) -> str:
            return f"""
                with excluded as (
                    select count(distinct f.entity_id) as n from {GF_STANDING} as f
                    join {CS} as c using (clinic_id)
                    where f.rule_id in ('GOV-06', 'GOV-07') and f.entity_type = 'review' {where}
                ), verified as (
                    select sum(verified_review_count) as n from {CS} as c where true {where}
                )
                select verified.n / (verified.n + excluded.n) from verified, excluded
            """

        self.fact("comp.review_rate", "评价真实性核验通过率", "pct", review_rate(city_c),
                  f"{GF}, {CS}")
        self.fact("comp.review_rate_national", "全国评价核验通过率", "pct", review_rate(""),
                  f"{GF}, {CS}")
        self.fact(
            "comp.excluded_reviews", "被剔除的评价数", "count",
            f"select count(distinct f.entity_id) from {GF_STANDING} as f "
            f"join {CS} as c using (clinic_id) "
            "where f.rule_id in ('GOV-06', 'GOV-07') and f.entity_type = 'review' "
            "and c.city = $city",
            f"{GF}, {CS}",
        )

        def reply(where: str) -> str:
            return (
                "select sum(round(complaint_count * coalesce(complaint_reply_rate, 0))) "
                f"/ nullif(sum(complaint_count), 0) from {CS} where true {where}"
            )

        self.fact("comp.complaints", "投诉数", "count",
                  f"select sum(complaint_count) from {CS} where city = $city", CS)
        label = f"投诉{REPLY_HOURS}小时回复率"
        self.fact("comp.reply_rate", label, "pct", reply(city_and), CS)
        self.fact("comp.reply_rate_national", f"全国{label}", "pct", reply(""), CS)
        self.rule_counts = self.frame(
            f"""
            with city as (
                select f.rule_id, count(distinct f.entity_id) as city_entities
                from {GF_STANDING} as f join {CS} as c using (clinic_id)
                where c.city = $city group by f.rule_id
            ), latest as (
                select * from {RR}
                where run_id = (select run_id from {RR} order by checked_at desc limit 1)
            )
            select latest.rule_id, latest.rule, latest.severity, latest.entities_checked,
                latest.entities_failing, latest.failure_rate,
                coalesce(city.city_entities, 0) as city_entities
            from latest left join city using (rule_id) order by latest.rule_id
            """
        )
