"""The price index against the national median, per procedure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from report.source import (
    PPI,
    Fact,
    Recorder,
    Source,
)


@dataclass(frozen=True)
class PricesChapter:
    facts: Mapping[str, Fact]
    prices: pd.DataFrame


def load(db: Source) -> PricesChapter:
    rec = Recorder(db)
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
    rec.fact(
        "price.index",
        "综合价格指数（全国=100）",
        "index",
        f"select cast(sum(median_paid * orders) / sum(national_median_paid * orders) * 100 "
        f"as double) from {PPI} where city = $city and year(month) = $year",
        src,
    )
    hi = "(select * from idx order by price_index desc, procedure_code limit 1)"
    lo = "(select * from idx order by price_index asc, procedure_code limit 1)"
    wide = "(select * from idx order by spread desc, procedure_code limit 1)"
    rec.fact("price.max_name", "相对全国最贵项目", "text", per_proc + f"select name from {hi}", src)
    rec.fact(
        "price.max_index",
        "该项目价格指数",
        "index",
        per_proc + f"select price_index from {hi}",
        src,
    )
    rec.fact(
        "price.min_name", "相对全国最便宜项目", "text", per_proc + f"select name from {lo}", src
    )
    rec.fact(
        "price.min_index",
        "该项目价格指数",
        "index",
        per_proc + f"select price_index from {lo}",
        src,
    )
    rec.fact(
        "price.wide_name", "价格离散度最大项目", "text", per_proc + f"select name from {wide}", src
    )
    rec.fact(
        "price.wide_spread",
        "该项目四分位距/中位价",
        "pct",
        per_proc + f"select spread from {wide}",
        src,
    )
    rec.fact(
        "price.above_count",
        "价格高于全国中位价的项目数",
        "count",
        per_proc + "select count(*) filter (where price_index > 100) from idx",
        src,
    )
    rec.fact(
        "price.proc_count",
        "有价格数据的项目数",
        "count",
        per_proc + "select count(*) from idx",
        src,
    )
    prices = db.frame(per_proc + "select idx.*, procedure_code from idx order by procedure_code")
    return PricesChapter(facts=rec.frozen(), prices=prices)
