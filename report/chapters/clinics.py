"""The clinic landscape: tiers, the diamond bar, trust scores."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from report.source import (
    CS,
    Fact,
    Recorder,
    Source,
)


@dataclass(frozen=True)
class ClinicsChapter:
    facts: Mapping[str, Fact]
    tiers: pd.DataFrame
    leaders: pd.DataFrame
    trust_scores: pd.DataFrame


def load(db: Source) -> ClinicsChapter:
    rec = Recorder(db)
    src = CS
    active = f"from {CS} where city = $city and platform_status = 'active'"
    rec.fact(
        "clinic.listed", "在册机构数", "count", f"select count(*) from {CS} where city = $city", src
    )
    rec.fact("clinic.active", "在营机构数", "count", f"select count(*) {active}", src)
    for tier in ("diamond", "selected", "none"):
        rec.fact(
            f"clinic.tier_{tier}",
            f"{tier}机构数",
            "count",
            f"select count(*) {active} and tier = '{tier}'",
            src,
        )
    rec.fact(
        "clinic.bar",
        "达到美钻标准的机构数",
        "count",
        f"select count(*) {active} and meets_diamond_bar",
        src,
    )
    rec.fact(
        "clinic.diamond_below_bar",
        "挂美钻标识但未达标准的机构数",
        "count",
        f"select count(*) {active} and tier = 'diamond' and not meets_diamond_bar",
        src,
    )
    rec.fact(
        "clinic.bar_not_diamond",
        "达标但未获美钻标识的机构数",
        "count",
        f"select count(*) {active} and tier <> 'diamond' and meets_diamond_bar",
        src,
    )
    rec.fact("clinic.trust_avg", "平均信任分", "index", f"select avg(trust_score) {active}", src)
    rec.fact(
        "clinic.trust_national",
        "全国平均信任分",
        "index",
        f"select avg(trust_score) from {CS} where platform_status = 'active'",
        src,
    )
    leader = (
        f"(select * from {CS} where city = $city and platform_status = 'active' "
        "order by trust_score desc, gmv desc, clinic_id limit 1)"
    )
    rec.fact("clinic.leader", "信任分最高机构", "text", f"select name from {leader}", src)
    rec.fact("clinic.leader_score", "其信任分", "index", f"select trust_score from {leader}", src)
    rec.fact(
        "clinic.cr5",
        "GMV前五机构集中度",
        "pct",
        f"select (select sum(gmv) from (select gmv from {CS} where city = $city "
        f"order by gmv desc limit 5)) / nullif(sum(gmv), 0) from {CS} where city = $city",
        src,
    )
    rec.fact(
        "clinic.avg_score",
        "验证评价平均分",
        "score",
        f"select sum(avg_score_overall * verified_review_count) / "
        f"nullif(sum(verified_review_count), 0) from {CS} where city = $city",
        src,
    )
    tiers = db.frame(
        f"""
        select tier, count(*) as clinics,
            count(*) filter (where meets_diamond_bar) as meets_bar,
            avg(trust_score) as trust_score, sum(gmv) as gmv
        {active} group by tier
        order by case tier when 'diamond' then 0 when 'selected' then 1 else 2 end
        """
    )
    leaders = db.frame(
        f"""
        select name, tier, meets_diamond_bar, trust_score, verified_review_count,
            avg_score_overall, completed_orders, gmv, listing_status
        {active} order by trust_score desc, gmv desc, clinic_id limit 10
        """
    )
    trust_scores = db.frame(f"select trust_score, gmv, tier {active}")
    return ClinicsChapter(
        facts=rec.frozen(), tiers=tiers, leaders=leaders, trust_scores=trust_scores
    )
