"""Compliance: licences, order and review rule rates, complaint replies, findings by rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from report.fmt import REPLY_HOURS
from report.source import (
    CS,
    GF,
    GF_STANDING,
    RR,
    Fact,
    Recorder,
    Source,
)


@dataclass(frozen=True)
class ComplianceChapter:
    facts: Mapping[str, Fact]
    rule_counts: pd.DataFrame


def load(db: Source) -> ComplianceChapter:
    rec = Recorder(db)

    def licence(where: str) -> str:
        return (
            f"select count(*) filter (where listing_status = 'verified') / count(*) from {CS} "
            f"where platform_status = 'active' {where}"
        )

    city_and = "and city = $city"
    rec.fact("comp.licence_rate", "执业许可核验通过率", "pct", licence(city_and), CS)
    rec.fact("comp.licence_rate_national", "全国执业许可核验通过率", "pct", licence(""), CS)
    rec.fact(
        "comp.unverified",
        "许可未通过核验的在营机构",
        "count",
        f"select count(*) from {CS} where platform_status = 'active' {city_and} "
        "and listing_status <> 'verified'",
        CS,
    )
    rec.fact(
        "comp.completed",
        "累计完成订单",
        "count",
        f"select sum(completed_orders) from {CS} where city = $city",
        CS,
    )

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
        rec.fact(f"comp.{key}_rate", label, "pct", order_rate(rules, city_c), f"{GF}, {CS}")
        rec.fact(
            f"comp.{key}_rate_national", f"全国{label}", "pct", order_rate(rules, ""), f"{GF}, {CS}"
        )

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

    rec.fact("comp.review_rate", "评价真实性核验通过率", "pct", review_rate(city_c), f"{GF}, {CS}")
    rec.fact(
        "comp.review_rate_national", "全国评价核验通过率", "pct", review_rate(""), f"{GF}, {CS}"
    )
    rec.fact(
        "comp.excluded_reviews",
        "被剔除的评价数",
        "count",
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

    rec.fact(
        "comp.complaints",
        "投诉数",
        "count",
        f"select sum(complaint_count) from {CS} where city = $city",
        CS,
    )
    label = f"投诉{REPLY_HOURS}小时回复率"
    rec.fact("comp.reply_rate", label, "pct", reply(city_and), CS)
    rec.fact("comp.reply_rate_national", f"全国{label}", "pct", reply(""), CS)
    rule_counts = db.frame(
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
    return ComplianceChapter(facts=rec.frozen(), rule_counts=rule_counts)
