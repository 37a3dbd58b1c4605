"""What each rule checks, in the plain Chinese a consumer reads on a clinic's page. The rules
themselves (severity, owner, parameters) are the catalogue's (quality/rules.py); a test keeps
every rule that can name a clinic in this table."""

from __future__ import annotations

CONSUMER_WORDS: dict[str, str] = {
    "GOV-01": "机构执业许可证与卫健委登记信息（名称、城市）一致",
    "GOV-02": "服务当日机构执业许可证有效",
    "GOV-03": "所做项目属于机构核准的诊疗科目",
    "GOV-04": "医师执业范围覆盖所做项目",
    "GOV-05": "所用药品、器械已注册且在有效期内",
    "GOV-06": "评价来自真实完成的订单",
    "GOV-07": "评价无雷同刷评嫌疑",
    "GOV-08": "收费透明，无隐藏费用",
    "GOV-09": "投诉在时限内得到回复",
    "GOV-14": "项目级别在机构类别允许的范围内",
    "GOV-15": "执业许可证今日有效",
    "GOV-16": "宣传的诊疗科目均已核准",
    "GOV-17": "展示的医师注册有效、在本机构执业",
    "GOV-18": "平台标签（严选、美钻）名副其实",
}

LISTING_STATUS_WORDS: dict[str, str] = {
    "verified": "已认证",
    "unverified": "未通过认证",
    "suspended": "已暂停展示",
}

TIER_WORDS: dict[str, str] = {"selected": "严选", "diamond": "美钻"}

# the feed contract's complaint types (ingestion/contract.py COMPLAINT_TYPES)
COMPLAINT_WORDS: dict[str, str] = {
    "infection": "感染",
    "outcome_mismatch": "效果与承诺不符",
    "hidden_fee": "隐形收费",
    "service_attitude": "服务态度",
    "other": "其他",
}
