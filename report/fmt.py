"""Chinese number formatting and labels: 万元 / 亿元, percentages, growth wording.

Every number the report prints goes through ``format_value``, so a quoted number can be
re-derived from the warehouse value alone (the tests do exactly that).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from quality.rules import RULE_BY_ID, parameter

CATEGORY = {
    "surgical": "手术类",
    "injectable": "注射类",
    "energy": "光电类",
    "dental": "齿科美容",
    "tcm": "中医美容",
}
CHANNEL = {
    "app": "App",
    "mini_program": "小程序",
    "live_stream": "直播",
    "video_consult": "视频面诊",
    "offline_referral": "线下转介",
}
CHANNELS = list(CHANNEL)
GENDER = {"F": "女性", "M": "男性", "U": "未知", "merged": "合并小样本"}
SPEND_TIER = {
    "<5k": "5千元以下",
    "5k-20k": "5千至2万元",
    "20k-50k": "2万至5万元",
    "50k+": "5万元以上",
    "merged": "合并小样本",
}
SPEND_TIERS = ["<5k", "5k-20k", "20k-50k", "50k+"]
AGE_BANDS = ["<20", "20-24", "25-29", "30-34", "35-39", "40-49", "50+", "unknown"]
AGE_BAND = {b: (f"{b}岁" if b not in ("unknown", "merged") else b) for b in AGE_BANDS}
AGE_BAND.update({"<20": "20岁以下", "50+": "50岁及以上", "unknown": "未知", "merged": "合并小样本"})
TIER = {"none": "普通", "selected": "严选", "diamond": "美钻"}
QUARTER = {1: "一季度", 2: "二季度", 3: "三季度", 4: "四季度"}
# the rule catalogue's numbers, as the report prints them (quality/rules.py)
REPLY_HOURS = parameter("GOV-09", "reply_within_hours")
# the diamond (美钻) bar, GOV-18's parameters
DIAMOND_BAR = RULE_BY_ID["GOV-18"].parameters
# GOV-13: no published or printed cell about buyers describes fewer than this many buyers.
MIN_CELL_BUYERS = parameter("GOV-13", "min_buyers")
RULE = {
    "GOV-01": "机构执业许可核验",
    "GOV-02": "服务时许可有效",
    "GOV-03": "诊疗科目在核准范围内",
    "GOV-04": "医师执业范围",
    "GOV-05": "产品注册与设备序列号",
    "GOV-06": "评价真实性核验",
    "GOV-07": "刷评识别",
    "GOV-08": "价格透明",
    "GOV-09": f"投诉{REPLY_HOURS}小时内回复",
    "GOV-10": "个人信息不出库",
    "GOV-11": "发布数据完整性",
    "GOV-12": "数据新鲜度与量级",
    "GOV-13": "画像小样本抑制",
    "GOV-14": "手术分级不超机构级别",
    "GOV-15": "上架机构许可今日有效",
    "GOV-16": "宣传科目已获许可",
    "GOV-17": "上架医师注册核验",
    "GOV-18": "等级标识名副其实",
}

# Spring Festival (正月初一), for the travel peak-season analysis.
SPRING_FESTIVAL = {
    2020: date(2020, 1, 25),
    2021: date(2021, 2, 12),
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
}


def chinese_count(n: int) -> str:
    """A small whole number in Chinese numerals (12 -> 十二), as prose writes a rule's
    number: the commentary's Arabic digits are reserved for facts from the warehouse."""
    digits = "零一二三四五六七八九"
    if not 0 <= n < 10_000:
        raise ValueError(f"{n} is out of range")
    if n < 10:
        return digits[n]
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d:
            if zero and out:
                out += "零"
            out += ("" if (d == 1 and unit == "十" and not out) else digits[d]) + unit
            zero = False
        elif out:
            zero = True
    return out


def num(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    return value


def money(value) -> str:
    """CNY the Chinese way: 亿元 from 1e8, 万元 from 1e4, else 元."""
    v = num(value)
    if v is None:
        return "—"
    if abs(v) >= 1e8:
        return f"{v / 1e8:.2f}亿元"
    if abs(v) >= 1e4:
        return f"{v / 1e4:.1f}万元"
    return f"{v:,.0f}元"


def price(value) -> str:
    """A unit price, to the yuan."""
    v = num(value)
    return "—" if v is None else f"{v:,.0f}元"


def count(value) -> str:
    v = num(value)
    if v is None:
        return "—"
    if abs(v) >= 1e5:
        return f"{v / 1e4:.1f}万"
    return f"{int(round(v)):,}"


def pct(value, digits: int = 1) -> str:
    v = num(value)
    return "—" if v is None else f"{v * 100:.{digits}f}%"


def growth(value) -> str:
    """A signed ratio as words: 增长12.3% / 下降4.5% / 基本持平."""
    v = num(value)
    if v is None:
        return "—"
    if round(abs(v) * 100, 1) == 0:
        return "基本持平"
    return f"{'增长' if v > 0 else '下降'}{abs(v) * 100:.1f}%"


def pp_diff(value) -> str:
    """A difference of two shares, in percentage points, with its direction."""
    v = num(value)
    if v is None:
        return "—"
    if round(abs(v) * 100, 1) == 0:
        return "持平"
    return f"{'高' if v > 0 else '低'}{abs(v) * 100:.1f}个百分点"


def month(value) -> str:
    if value is None:
        return "—"
    return f"{value.month}月"


def year_month(value) -> str:
    if value is None:
        return "—"
    return f"{value.year}年{value.month}月"


FORMATS = {
    "money": money,
    "price": price,
    "count": count,
    "pct": pct,
    "growth": growth,
    "pp": pp_diff,
    "month": month,
    "year_month": year_month,
    "quarter": lambda v: "—" if v is None else QUARTER[int(v)],
    "index": lambda v: "—" if v is None else f"{num(v):.1f}",
    "score": lambda v: "—" if v is None else f"{num(v):.2f}分",
    "times": lambda v: "—" if v is None else f"{num(v):.2f}倍",
    "rank": lambda v: "—" if v is None else f"第{int(v)}",
    "category": lambda v: "—" if v is None else CATEGORY.get(v, v),
    "channel": lambda v: "—" if v is None else CHANNEL.get(v, v),
    "age_band": lambda v: "—" if v is None else AGE_BAND.get(v, v),
    "spend_tier": lambda v: "—" if v is None else SPEND_TIER.get(v, v),
    "text": lambda v: "—" if v is None else str(v),
}


def format_value(value, kind: str) -> str:
    return FORMATS[kind](value)
