"""Buyer personas (the marts' 365 days up to the as-of date), small cells merged."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from report.source import (
    PS,
    Fact,
    Recorder,
    Source,
)


@dataclass(frozen=True)
class PersonasChapter:
    facts: Mapping[str, Fact]
    persona_count: int
    personas: pd.DataFrame


def load(db: Source) -> PersonasChapter:
    rec = Recorder(db)
    src = PS
    city_rows = f"from {PS} where city = $city"
    rec.fact("persona.buyers", "画像覆盖买家数", "count", f"select sum(buyers) {city_rows}", src)
    persona_count = db.scalar(f"select count(*) {city_rows}") or 0
    if not persona_count:
        personas = db.frame(f"select * {city_rows}")
        return PersonasChapter(facts=rec.frozen(), persona_count=persona_count, personas=personas)
    rec.fact(
        "persona.merged_share",
        "合并小样本买家占比",
        "pct",
        f"select coalesce(sum(buyers) filter (where age_band = 'merged'), 0) / sum(buyers) "
        f"{city_rows}",
        src,
    )
    known = f"{city_rows} and gender not in ('merged', 'U')"
    rec.fact(
        "persona.female_share",
        "女性买家占比",
        "pct",
        f"select sum(buyers) filter (where gender = 'F') / sum(buyers) {known}",
        src,
    )
    ages = f"""
        with ages as (
            select age_band, sum(buyers) as buyers {city_rows}
                and age_band not in ('merged', 'unknown') group by age_band
        ), top as (select * from ages order by buyers desc, age_band limit 1)
    """
    rec.fact(
        "persona.top_age", "买家最多的年龄段", "age_band", ages + "select age_band from top", src
    )
    rec.fact(
        "persona.top_age_share",
        "该年龄段占比",
        "pct",
        ages + "select (select buyers from top) / sum(buyers) from ages",
        src,
    )
    rec.fact(
        "persona.young_share",
        "35岁以下买家占比",
        "pct",
        ages + "select sum(buyers) filter (where age_band in ('<20', '20-24', '25-29', "
        "'30-34')) / sum(buyers) from ages",
        src,
    )
    tiers = f"{city_rows} and spend_tier <> 'merged'"
    rec.fact(
        "persona.high_spend_share",
        "年消费2万元以上买家占比",
        "pct",
        f"select coalesce(sum(buyers) filter (where spend_tier in ('20k-50k', '50k+')), 0) "
        f"/ sum(buyers) {tiers}",
        src,
    )
    weighted = "sum(repeat_buyer_rate * buyers) / sum(buyers)"
    rec.fact("persona.repeat_rate", "复购率", "pct", f"select {weighted} {city_rows}", src)
    rec.fact(
        "persona.repeat_rate_national", "全国复购率", "pct", f"select {weighted} from {PS}", src
    )
    rec.fact(
        "persona.repeat_diff",
        "复购率与全国之差",
        "pp",
        f"select (select {weighted} {city_rows}) - (select {weighted} from {PS})",
        src,
    )
    spend = "sum(avg_spend_per_buyer * buyers) / sum(buyers)"
    rec.fact("persona.avg_spend", "人均消费", "price", f"select {spend} {city_rows}", src)
    rec.fact(
        "persona.avg_spend_national", "全国人均消费", "price", f"select {spend} from {PS}", src
    )
    favs = f"""
        with favs as (
            select favourite_category, sum(buyers) as buyers {city_rows}
                and favourite_category <> 'merged' group by favourite_category
        ), top as (select * from favs order by buyers desc, favourite_category limit 1)
    """
    rec.fact(
        "persona.fav_top",
        "最受偏好品类",
        "category",
        favs + "select favourite_category from top",
        src,
    )
    rec.fact(
        "persona.fav_top_share",
        "偏好该品类的买家占比",
        "pct",
        favs + "select (select buyers from top) / sum(buyers) from favs",
        src,
    )
    personas = db.frame(f"select * {city_rows}")
    return PersonasChapter(facts=rec.frozen(), persona_count=persona_count, personas=personas)
