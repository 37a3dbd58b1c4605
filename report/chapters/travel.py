"""Medical-aesthetics travel: origins, destinations and the Spring Festival peak."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import pandas as pd

from report.fmt import MIN_CELL_BUYERS, SPRING_FESTIVAL
from report.source import (
    MM,
    TF,
    Fact,
    Recorder,
    Source,
)


@dataclass(frozen=True)
class TravelChapter:
    facts: Mapping[str, Fact]
    origins: pd.DataFrame
    destinations: pd.DataFrame
    sf_window: list[date]


def load(db: Source) -> TravelChapter:
    rec = Recorder(db)
    year_mm = f"from {MM} where city = $city and year(month) = $year"
    year_tf = f"from {TF} where clinic_city = $city and year(month) = $year"
    rec.fact(
        "travel.orders", "外地客完成订单", "count", f"select sum(traveller_orders) {year_mm}", MM
    )
    rec.fact(
        "travel.share",
        "外地客订单占比",
        "pct",
        f"select cast(sum(traveller_orders) as double) / sum(orders) {year_mm}",
        MM,
    )
    rec.fact(
        "travel.national_share",
        "全国外地客订单占比",
        "pct",
        f"select cast(sum(traveller_orders) as double) / sum(orders) from {MM} "
        "where year(month) = $year",
        MM,
    )
    rec.fact("travel.gmv", "外地客GMV", "money", f"select sum(gmv) {year_tf}", TF)
    rec.fact(
        "travel.gmv_share",
        "外地客GMV占比",
        "pct",
        f"select (select sum(gmv) {year_tf}) / (select sum(gmv) {year_mm})",
        f"{TF}, {MM}",
    )
    rec.fact(
        "travel.buyers", "外地买家人次", "count", f"select sum(travelling_buyers) {year_tf}", TF
    )
    rec.fact(
        "travel.origin_count",
        "来源城市数",
        "count",
        f"select count(distinct buyer_city) {year_tf}",
        TF,
    )
    origins = f"""
        with origins as (
            select buyer_city, sum(travelling_buyers) as buyers, sum(orders) as orders
            {year_tf} group by buyer_city
        ), top as (
            select * from origins where buyers >= {MIN_CELL_BUYERS}
            order by orders desc, buyer_city limit 1
        )
    """
    rec.fact(
        "travel.top_origin", "最大客源城市", "text", origins + "select buyer_city from top", TF
    )
    if rec.f("travel.top_origin").value is not None:
        rec.fact(
            "travel.top_origin_share",
            "最大客源城市订单占外地客订单比重",
            "pct",
            origins + "select (select orders from top) / sum(orders) from origins",
            TF,
        )
    peak = f"""
        with months as (select month, sum(traveller_orders) as orders {year_mm}
            group by month), peak as (select * from months order by orders desc, month
            limit 1)
    """
    rec.fact(
        "travel.peak_month", "外地客订单最多月份", "month", peak + "select month from peak", MM
    )
    rec.fact("travel.peak_orders", "该月外地客订单", "count", peak + "select orders from peak", MM)
    sf_window = _spring_festival(db, rec, year_mm)
    out = f"""
        with dest as (
            select clinic_city, sum(orders) as orders from {TF}
            where buyer_city = $city and year(month) = $year group by clinic_city
        ), top as (select * from dest order by orders desc, clinic_city limit 1)
    """
    rec.fact(
        "travel.out_orders",
        "本地买家赴外地完成订单",
        "count",
        out + "select coalesce(sum(orders), 0) from dest",
        TF,
    )
    if rec.f("travel.out_orders").value:
        rec.fact(
            "travel.out_top",
            "本地买家首选外地目的地",
            "text",
            out + "select clinic_city from top",
            TF,
        )
        rec.fact(
            "travel.out_top_share",
            "该目的地占比",
            "pct",
            out + "select (select orders from top) / sum(orders) from dest",
            TF,
        )

    # Origins with fewer than MIN_CELL_BUYERS travelling buyers are merged (GOV-13 spirit).
    origins = db.frame(
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
    destinations = db.frame(
        f"""
        select clinic_city, sum(travelling_buyers) as buyers, sum(orders) as orders,
            sum(gmv) as gmv
        from {TF} where buyer_city = $city and year(month) = $year
        group by clinic_city order by orders desc, clinic_city
        """
    )
    return TravelChapter(
        facts=rec.frozen(), origins=origins, destinations=destinations, sf_window=sf_window
    )


def _spring_festival(db: Source, rec: Recorder, year_mm: str) -> list[date]:
    festival = SPRING_FESTIVAL.get(db.year)
    sf_window: list[date] = []
    if festival is None:
        return sf_window
    sf_month = festival.replace(day=1)
    before = date(sf_month.year - (sf_month.month == 1), (sf_month.month - 2) % 12 + 1, 1)
    sf_window = [before, sf_month]
    rec.constant("travel.sf_date", "春节（正月初一）", "year_month", festival, "农历")
    params = {"sf_start": before, "sf_end": sf_month}
    between = "month between cast($sf_start as date) and cast($sf_end as date)"
    rec.fact(
        "travel.sf_months",
        "春节档有数据的月份数",
        "count",
        f"select count(distinct month) {year_mm} and {between}",
        MM,
        params,
    )
    if not rec.f("travel.sf_months").value:
        return sf_window
    window = f"""
        with months as (select month, sum(traveller_orders) as orders {year_mm}
            group by month)
    """
    rec.fact(
        "travel.sf_orders",
        "春节档外地客订单",
        "count",
        window + f"select sum(orders) from months where {between}",
        MM,
        params,
    )
    rec.fact(
        "travel.sf_ratio",
        "春节档月均外地客订单/全年月均",
        "times",
        window + f"select avg(orders) filter (where {between}) / avg(orders) from months",
        MM,
        params,
    )
    return sf_window
