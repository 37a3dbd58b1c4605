"""GMV, orders, growth and the city's rank (calendar months of the report year)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from report.source import (
    COMPARABLE,
    MM,
    Fact,
    Recorder,
    Source,
)


@dataclass(frozen=True)
class MarketChapter:
    facts: Mapping[str, Fact]
    monthly: pd.DataFrame
    quarterly: pd.DataFrame
    city_ranking: pd.DataFrame


def load(db: Source) -> MarketChapter:
    rec = Recorder(db)
    src = MM
    year_rows = f"from {MM} where city = $city and year(month) = $year"
    rec.fact("market.gmv", "全年GMV", "money", f"select sum(gmv) {year_rows}", src)
    rec.fact("market.orders", "完成订单数", "count", f"select sum(orders) {year_rows}", src)
    rec.fact("market.buyers", "买家人次", "count", f"select sum(buyers) {year_rows}", src)
    rec.fact(
        "market.aov",
        "单均成交额",
        "price",
        f"select sum(gmv) / sum(orders) {year_rows}",
        src,
    )
    rec.fact(
        "market.months",
        "有数据的月份数",
        "count",
        f"select count(distinct month) {year_rows}",
        src,
    )
    rec.fact(
        "market.first_month",
        "首个有数据月份",
        "year_month",
        f"select min(month) {year_rows}",
        src,
    )
    rec.fact(
        "market.last_month",
        "最后有数据月份",
        "year_month",
        f"select max(month) {year_rows}",
        src,
    )
    rec.fact(
        "market.partial_months",
        "不完整月份数",
        "count",
        f"select count(distinct month) filter (where not month_complete) {year_rows}",
        src,
    )
    rec.fact(
        "market.yoy_months",
        "可比月份数",
        "count",
        COMPARABLE + "select count(*) from comparable",
        src,
    )
    rec.fact(
        "market.gmv_yoy",
        "GMV同比",
        "growth",
        COMPARABLE + "select sum(gmv) / sum(prev_gmv) - 1 from comparable",
        src,
    )
    rec.fact(
        "market.prev_gmv",
        "上年同期GMV",
        "money",
        COMPARABLE + "select sum(prev_gmv) from comparable",
        src,
    )
    rec.fact(
        "market.orders_yoy",
        "订单同比",
        "growth",
        COMPARABLE + "select cast(sum(orders) as double) / sum(prev_orders) - 1 from comparable",
        src,
    )
    city_gmv = f"""
        with cities as (
            select city, sum(gmv) as gmv from {MM} where year(month) = $year group by city
        )
    """
    rec.fact(
        "market.rank",
        "GMV城市排名",
        "rank",
        city_gmv + "select rank from (select city, rank() over (order by gmv desc) as rank "
        "from cities) where city = $city",
        src,
    )
    rec.fact(
        "market.city_count",
        "覆盖城市数",
        "count",
        city_gmv + "select count(*) from cities",
        src,
    )
    rec.fact(
        "market.national_share",
        "占全国GMV比重",
        "pct",
        city_gmv + "select sum(gmv) filter (where city = $city) / sum(gmv) from cities",
        src,
    )
    monthly = f"""
        with months as (
            select month, sum(gmv) as gmv {year_rows} group by month
        ), peak as (select * from months order by gmv desc, month limit 1)
    """
    rec.fact("market.peak_month", "GMV最高月份", "month", monthly + "select month from peak", src)
    rec.fact("market.peak_month_gmv", "最高月份GMV", "money", monthly + "select gmv from peak", src)
    quarters = f"""
        with quarters as (
            select quarter(month) as q, sum(gmv) as gmv {year_rows} group by q
        ), top as (select * from quarters order by gmv desc, q limit 1)
    """
    rec.fact("market.top_quarter", "GMV最高季度", "quarter", quarters + "select q from top", src)
    rec.fact(
        "market.top_quarter_share",
        "最高季度GMV占全年比重",
        "pct",
        quarters + "select (select gmv from top) / sum(gmv) from quarters",
        src,
    )

    monthly = db.frame(
        f"""
        select month, year(month) as year, month(month) as m,
            sum(gmv) as gmv, sum(orders) as orders, sum(buyers) as buyers,
            sum(traveller_orders) as traveller_orders, bool_and(month_complete) as month_complete
        from {MM}
        where city = $city and year(month) in ($year, $year - 1)
        group by month order by month
        """
    )
    quarterly = db.frame(
        COMPARABLE
        + f"""
        , q as (
            select quarter(month) as quarter, sum(gmv) as gmv, sum(orders) as orders,
                sum(buyers) as buyers, count(distinct month) as months,
                count(distinct month) filter (where not month_complete) as partial_months
            {year_rows} group by quarter
        ), qc as (
            select quarter(month) as quarter, sum(gmv) / sum(prev_gmv) - 1 as gmv_yoy
            from comparable group by quarter
        )
        select q.*, q.gmv / sum(q.gmv) over () as share, qc.gmv_yoy
        from q left join qc using (quarter) order by quarter
        """
    )
    city_ranking = db.frame(
        f"select city, sum(gmv) as gmv from {MM} where year(month) = $year "
        "group by city order by gmv desc"
    )
    return MarketChapter(
        facts=rec.frozen(), monthly=monthly, quarterly=quarterly, city_ranking=city_ranking
    )
