"""Category and procedure mix, and the fastest-growing category (uses the market's
comparable months)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from report.chapters.market import MarketChapter
from report.source import (
    MM,
    Fact,
    Recorder,
    Source,
)


@dataclass(frozen=True)
class CategoriesChapter:
    facts: Mapping[str, Fact]
    categories: pd.DataFrame
    procedures: pd.DataFrame


def load(db: Source, market: MarketChapter) -> CategoriesChapter:
    rec = Recorder(db)
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
    rec.fact("cat.top", "GMV最大品类", "category", cats + "select category from top", src)
    rec.fact(
        "cat.top_share",
        "最大品类GMV占比",
        "pct",
        cats + "select (select gmv from top) / sum(gmv) from cats",
        src,
    )
    rec.fact(
        "cat.top_national_share",
        "该品类全国GMV占比",
        "pct",
        cats + "select sum(gmv) filter (where category = (select category from top)) "
        "/ sum(gmv) from nat",
        src,
    )
    rec.fact(
        "cat.light_share",
        "轻医美（注射类+光电类）GMV占比",
        "pct",
        cats + "select sum(gmv) filter (where category in ('injectable', 'energy')) "
        "/ sum(gmv) from cats",
        src,
    )
    rec.fact(
        "cat.light_national_share",
        "全国轻医美GMV占比",
        "pct",
        cats + "select sum(gmv) filter (where category in ('injectable', 'energy')) "
        "/ sum(gmv) from nat",
        src,
    )
    rec.fact(
        "cat.surgical_share",
        "手术类GMV占比",
        "pct",
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
    rec.fact("proc.count", "有成交的项目数", "count", procs + "select count(*) from procs", src)
    rec.fact("proc.top_name", "GMV最高项目", "text", procs + "select name from top", src)
    rec.fact(
        "proc.top_share",
        "GMV最高项目占比",
        "pct",
        procs + "select (select gmv from top) / sum(gmv) from procs",
        src,
    )
    rec.fact("proc.top_orders", "GMV最高项目订单数", "count", procs + "select orders from top", src)
    rec.fact(
        "proc.top3_share",
        "前三项目GMV合计占比",
        "pct",
        procs + "select (select sum(gmv) from (select gmv from procs order by gmv desc "
        "limit 3)) / sum(gmv) from procs",
        src,
    )
    if market.facts["market.yoy_months"].value:
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
        rec.fact(
            "cat.fastest",
            "同比增速最快品类",
            "category",
            growth + "select category from fastest",
            src,
        )
        rec.fact(
            "cat.fastest_growth",
            "该品类GMV同比",
            "growth",
            growth + "select growth from fastest",
            src,
        )

    categories = db.frame(
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
    procedures = db.frame(
        f"""
        select procedure_code, any_value(procedure_name) as procedure_name,
            any_value(category) as category, sum(orders) as orders, sum(gmv) as gmv,
            sum(gmv) / sum(sum(gmv)) over () as share, sum(gmv) / sum(orders) as avg_paid
        from {MM} where city = $city and year(month) = $year
        group by procedure_code order by gmv desc, procedure_code
        """
    )
    return CategoriesChapter(facts=rec.frozen(), categories=categories, procedures=procedures)
