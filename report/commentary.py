"""Generated Chinese commentary: wording follows the data, numbers are facts.

Every number in a paragraph is inserted through ``_F`` as
``<span class="fact" data-fact="KEY">TEXT</span>``; the only other digits allowed in the
commentary are the report year ("2025年") and the base of the price index ("全国=100").
Tests rely on that to check every quoted number against a fresh query of serving.duckdb.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from report.data import ReportData
from report.fmt import REPLY_HOURS, chinese_count, num


class _Writer:
    def __init__(self, data: ReportData):
        self.d = data
        self.city = escape(data.city)
        self.year = data.year

    def F(self, key: str) -> Markup:  # noqa: N802 - reads like a template marker
        fact = self.d.f(key)
        return Markup('<span class="fact" data-fact="{}">{}</span>').format(key, fact.text)

    def v(self, key: str):
        fact = self.d.facts.get(key)
        return None if fact is None else num(fact.value)

    def has(self, key: str) -> bool:
        return self.v(key) is not None

    @staticmethod
    def compare(a, b, higher: str = "高于", lower: str = "低于", same: str = "与") -> str:
        """Direction words for a against b (shares compared to 0.1 percentage point)."""
        if a is None or b is None or round(abs(a - b) * 1000) == 0:
            return same
        return higher if a > b else lower


def _p(*parts) -> Markup:
    return Markup("").join(Markup(p) if isinstance(p, Markup) else escape(p) for p in parts)


def summary(d: ReportData) -> list[Markup]:
    w = _Writer(d)
    items = [
        _p(f"{w.year}年", w.city, "医美市场完成订单", w.F("market.orders"), "单，实现GMV",
           w.F("market.gmv"), "，在", w.F("market.city_count"), "个样本城市中排名",
           w.F("market.rank"),
           "，占全国GMV的", w.F("market.national_share"), "。"),
    ]
    if w.v("market.yoy_months"):
        items.append(_p("可比月份GMV同比", w.F("market.gmv_yoy"), "，订单量同比",
                        w.F("market.orders_yoy"), "。"))
    else:
        items.append(_p("上年同期暂无可比数据，本报告不计算同比增速。"))
    items.append(_p(w.F("cat.top"), "为第一大品类（GMV占比", w.F("cat.top_share"),
                    "），轻医美项目合计占", w.F("cat.light_share"), "；",
                    w.F("proc.top_name"), "是成交额最高的单项。"))
    items.append(_p("综合价格指数为", w.F("price.index"), "（全国=100），外地客订单占",
                    w.F("travel.share"), "。"))
    items.append(_p("在营机构", w.F("clinic.active"), "家，执业许可核验通过率",
                    w.F("comp.licence_rate"), "，评价真实性核验通过率",
                    w.F("comp.review_rate"), "。"))
    return items


def market(d: ReportData) -> list[Markup]:
    w = _Writer(d)
    out = []
    coverage = ""
    if d.partial_year:
        coverage = _p("（数据覆盖", w.F("market.first_month"), "至", w.F("market.last_month"),
                      "，共", w.F("market.months"), "个月）")
    out.append(_p(f"{w.year}年", coverage, "，", w.city, "医疗美容平台共完成订单",
                  w.F("market.orders"), "单，实现成交额（GMV）", w.F("market.gmv"),
                  "，服务买家", w.F("market.buyers"), "人次，单均成交额", w.F("market.aov"), "。"))
    if w.v("market.partial_months"):
        out.append(_p("其中", w.F("market.partial_months"), "个月份（数据首月或数据日所在月）",
                      "仅覆盖部分日期，图表中以“*”标注，不参与环比与同比比较。"))
    yoy_months = w.v("market.yoy_months")
    if not yoy_months:
        out.append(_p("由于上年同期没有可比的月度数据，本报告暂不计算同比增速，",
                      "待积累满一个完整年度后再做比较。"))
    else:
        g = w.v("market.gmv_yoy")
        if g >= 0.2:
            tone = "市场保持高速增长态势"
        elif g > 0.001:
            tone = "市场稳步扩容"
        elif g > -0.001:
            tone = "市场规模与上年基本持平"
        else:
            tone = "市场有所回调，需关注需求端变化"
        scope = ("与上年相比" if yoy_months >= w.v("market.months")
                 else _p("在本年与上年同期均为完整月份的", w.F("market.yoy_months"),
                         "个可比月份中"))
        out.append(_p(scope, "，上年同期GMV为", w.F("market.prev_gmv"), "，本年GMV同比",
                      w.F("market.gmv_yoy"), "，完成订单同比", w.F("market.orders_yoy"),
                      "，", tone, "。"))
    rank = w.v("market.rank")
    position = "位居各城市之首" if rank == 1 else ("处于第一梯队" if rank <= 3 else "处于中游水平")
    out.append(_p("从城市格局看，", w.city, "GMV在", w.F("market.city_count"), "个样本城市中排名",
                  w.F("market.rank"), "，占全国的", w.F("market.national_share"), "，", position,
                  "。"))
    partial = "（仅就已覆盖月份而言）" if d.partial_year else ""
    out.append(_p("从月度走势看", partial, "，", w.F("market.peak_month"), "为GMV高峰，当月成交",
                  w.F("market.peak_month_gmv"), "；分季度看，", w.F("market.top_quarter"),
                  "贡献了全年", w.F("market.top_quarter_share"), "的成交额。"))
    return out


def categories(d: ReportData) -> list[Markup]:
    w = _Writer(d)
    out = []
    rel = w.compare(w.v("cat.top_share"), w.v("cat.top_national_share"))
    relation = "与全国平均水平相当" if rel == "与" else f"{rel}全国平均水平"
    out.append(_p(w.F("cat.top"), "是", w.city, "医美消费的第一大品类，GMV占比",
                  w.F("cat.top_share"), "，", relation, "（", w.F("cat.top_national_share"),
                  "）。"))
    light = w.v("cat.light_share")
    verdict = ("轻医美已成为市场的绝对主力" if light >= 0.6 else
               "轻医美已占据半壁江山" if light >= 0.5 else "手术类项目仍占据重要地位")
    out.append(_p("以注射类和光电类为代表的轻医美项目合计占GMV的", w.F("cat.light_share"),
                  "（全国为", w.F("cat.light_national_share"), "），手术类占",
                  w.F("cat.surgical_share"), "，", verdict, "。"))
    top3 = w.v("proc.top3_share")
    concentration = "头部项目集中度较高" if top3 >= 0.5 else "项目结构较为分散"
    out.append(_p("单项目看，", w.F("proc.top_name"), "以", w.F("proc.top_share"),
                  "的GMV占比居首，全年完成", w.F("proc.top_orders"), "单；前三大项目合计贡献",
                  w.F("proc.top3_share"), "的成交额，", concentration, "。"))
    if w.has("cat.fastest_growth"):
        if w.v("cat.fastest_growth") > 0:
            out.append(_p("从同比变化看，在占比较大的品类中，", w.F("cat.fastest"),
                          "增速最快，GMV同比",
                          w.F("cat.fastest_growth"), "。"))
        else:
            out.append(_p("从同比变化看，主要品类GMV均未增长，其中", w.F("cat.fastest"),
                          "表现相对最好（同比", w.F("cat.fastest_growth"), "）。"))
    return out


def prices(d: ReportData) -> list[Markup]:
    w = _Writer(d)
    out = []
    idx = w.v("price.index")
    if idx is None:
        return [_p("本年度无可用的价格数据。")]
    level = ("整体价格水平高于全国" if idx > 103 else
             "整体价格水平低于全国" if idx < 97 else "整体价格水平与全国基本持平")
    out.append(_p("以同月全国中位价为基准（全国=100），", w.city, "综合价格指数为",
                  w.F("price.index"), "，", level, "。"))
    above, total = w.v("price.above_count"), w.v("price.proc_count")
    if above == 0:
        lead = _p("在", w.F("price.proc_count"), "个有成交的项目中，没有项目的中位价高于全国水平")
    elif above == total:
        lead = _p("在", w.F("price.proc_count"), "个有成交的项目中，所有项目的中位价均高于全国水平")
    else:
        lead = _p("在", w.F("price.proc_count"), "个有成交的项目中，有", w.F("price.above_count"),
                  "个项目的中位价高于全国水平")
    out.append(_p(lead, "；其中", w.F("price.max_name"), "相对溢价最明显（价格指数",
                  w.F("price.max_index"), "），", w.F("price.min_name"), "相对最实惠（价格指数",
                  w.F("price.min_index"), "）。"))
    spread = w.v("price.wide_spread")
    advice = ("同一项目在不同机构间价差较大，消费者宜多方比价并关注收费明细"
              if spread >= 0.3 else "各项目价格区间总体较为集中")
    out.append(_p("价格离散度方面，", w.F("price.wide_name"), "的四分位距达到中位价的",
                  w.F("price.wide_spread"), "，", advice, "。"))
    return out


def personas(d: ReportData) -> list[Markup]:
    w = _Writer(d)
    if not d.persona_count:
        return [_p(w.city, "的消费者画像单元均不足十名买家，依据小样本抑制规则不予发布画像明细。")]
    out = []
    out.append(_p("在截至数据日的近一年内，", w.city, "共有", w.F("persona.buyers"),
                  "名买家进入画像统计。在可单独展示的画像细分中，女性买家占",
                  w.F("persona.female_share"), "，",
                  w.F("persona.top_age"), "为主力消费年龄段（占", w.F("persona.top_age_share"),
                  "），三十五岁以下买家合计占", w.F("persona.young_share"), "。"))
    spend_rel = w.compare(w.v("persona.avg_spend"), w.v("persona.avg_spend_national"))
    spend_rel = "与全国平均相当" if spend_rel == "与" else f"{spend_rel}全国平均"
    repeat = w.v("persona.repeat_diff")
    loyalty = ("客户黏性较强" if repeat > 0.001 else "客户黏性有待提升" if repeat < -0.001
               else "客户黏性与全国相当")
    out.append(_p("消费能力方面，人均消费", w.F("persona.avg_spend"), "，", spend_rel, "（",
                  w.F("persona.avg_spend_national"), "）；年消费两万元以上的中高消费买家占",
                  w.F("persona.high_spend_share"), "。复购率为", w.F("persona.repeat_rate"),
                  "，较全国", w.F("persona.repeat_diff"), "，", loyalty, "。"))
    out.append(_p("偏好品类上，", w.F("persona.fav_top"), "最受欢迎，",
                  w.F("persona.fav_top_share"),
                  "的买家以其为主要消费品类。另有", w.F("persona.merged_share"),
                  "的买家因所在细分单元不足十人而并入合并组，不单独展示。"))
    return out


def travel(d: ReportData) -> list[Markup]:
    w = _Writer(d)
    out = []
    rel = w.compare(w.v("travel.share"), w.v("travel.national_share"))
    if rel == "高于":
        verdict = _p(w.city, "对外地客源具有较强吸引力，是区域性医美消费目的地")
    elif rel == "低于":
        verdict = _p(w.city, "客群以本地买家为主")
    else:
        verdict = _p("外地客占比与全国平均水平相当")
    out.append(_p(f"{w.year}年，外地买家在", w.city, "完成订单", w.F("travel.orders"),
                  "单，占全市订单的", w.F("travel.share"), "（全国平均",
                  w.F("travel.national_share"),
                  "），贡献GMV", w.F("travel.gmv"), "（占", w.F("travel.gmv_share"), "），",
                  verdict, "。"))
    if w.has("travel.top_origin"):
        out.append(_p("外地客源来自", w.F("travel.origin_count"), "个城市，其中",
                      w.F("travel.top_origin"), "为最大客源地，占外地客订单的",
                      w.F("travel.top_origin_share"), "。"))
    else:
        out.append(_p("外地客源来自", w.F("travel.origin_count"),
                      "个城市，各来源城市的买家均不足十人，客源较为分散。"))
    season = _p("外地客订单在", w.F("travel.peak_month"), "达到年内峰值（",
                w.F("travel.peak_orders"), "单）")
    if w.has("travel.sf_ratio"):
        ratio = w.v("travel.sf_ratio")
        effect = ("“打飞的”赶在春节前集中变美的特征明显" if ratio >= 1.1 else
                  "春节前后外地客流有所回落" if ratio <= 0.9 else "春节档与平常月份基本持平")
        season = _p(season, "；春节档（", w.F("travel.sf_date"), "春节所在月及前一个月）外地客订单",
                    w.F("travel.sf_orders"), "单，月均为全年月均的", w.F("travel.sf_ratio"), "，",
                    effect)
    elif w.has("travel.sf_date"):
        season = _p(season, "；本年度数据未覆盖春节档（", w.F("travel.sf_date"),
                    "），暂无法评估春节效应")
    out.append(_p(season, "。"))
    if w.v("travel.out_orders"):
        out.append(_p("与此同时，", w.city, "本地买家赴外地完成订单", w.F("travel.out_orders"),
                      "单，首选目的地为", w.F("travel.out_top"), "（占",
                      w.F("travel.out_top_share"),
                      "）。"))
    return out


def channels(d: ReportData) -> list[Markup]:
    w = _Writer(d)
    out = []
    if d.persona_count:
        out.append(_p("从近一年订单来源看，", w.F("ch.top"), "是", w.city, "第一大下单渠道，占",
                      w.F("ch.top_share"), "；直播渠道占", w.F("ch.live_stream"), "，较全国",
                      w.F("ch.live_stream_diff"), "；小程序占", w.F("ch.mini_program"),
                      "；视频面诊占", w.F("ch.video_consult"), "，较全国",
                      w.F("ch.video_consult_diff"), "。"))
    live = w.v("fn.live_refund_rate")
    rel = w.compare(live, w.v("fn.refund_rate"))
    note = ("直播带来的冲动消费需要更完善的售前咨询" if rel == "高于" else
            "直播渠道的售后表现优于平均水平" if rel == "低于" else "各渠道售后表现较为均衡")
    out.append(_p("渠道转化方面（全国口径），", f"{w.year}年全平台共创建订单", w.F("fn.created"),
                  "单，其中", w.F("fn.best_channel"), "渠道的核销率（完成/支付）最高，达",
                  w.F("fn.best_completion"), "；直播渠道退款率为", w.F("fn.live_refund_rate"),
                  "，", "与全渠道平均持平" if rel == "与" else f"{rel}全渠道平均的",
                  "" if rel == "与" else w.F("fn.refund_rate"), "，", note, "。"))
    return out


def clinics(d: ReportData) -> list[Markup]:
    w = _Writer(d)
    out = []
    out.append(_p("截至数据日，", w.city, "在册医美机构", w.F("clinic.listed"), "家，其中在营",
                  w.F("clinic.active"), "家：美钻机构", w.F("clinic.tier_diamond"), "家、严选机构",
                  w.F("clinic.tier_selected"), "家、普通机构", w.F("clinic.tier_none"), "家。"))
    bar = _p("按平台公布的美钻标准逐项复核，共有", w.F("clinic.bar"), "家在营机构达标")
    if w.v("clinic.diamond_below_bar"):
        bar = _p(bar, "；值得注意的是，有", w.F("clinic.diamond_below_bar"),
                 "家挂美钻标识的机构未满足全部美钻条件，建议平台复核")
    if w.v("clinic.bar_not_diamond"):
        bar = _p(bar, "；另有", w.F("clinic.bar_not_diamond"), "家机构已达标但尚未获得美钻标识")
    out.append(_p(bar, "。"))
    if not w.v("clinic.active"):
        return out
    rel = w.compare(w.v("clinic.trust_avg"), w.v("clinic.trust_national"))
    rel = "与全国相当" if rel == "与" else f"{rel}全国"
    score = (_p("，验证评价平均分为", w.F("clinic.avg_score")) if w.has("clinic.avg_score")
             else "")
    out.append(_p("在营机构平均信任分为", w.F("clinic.trust_avg"), "，", rel, "（",
                  w.F("clinic.trust_national"), "）；", w.F("clinic.leader"), "以",
                  w.F("clinic.leader_score"), "分居首", score, "。"))
    cr5 = w.v("clinic.cr5")
    if cr5 is not None:
        level = ("市场集中度较高" if cr5 >= 0.6 else
                 "市场集中度适中" if cr5 >= 0.3 else "市场格局较为分散")
        out.append(_p("GMV前五的机构合计占全市机构GMV的", w.F("clinic.cr5"), "，", level, "。"))
    return out


def compliance(d: ReportData) -> list[Markup]:
    w = _Writer(d)
    out = []
    lic = _p(w.city, "在营机构执业许可核验通过率为", w.F("comp.licence_rate"), "（全国",
             w.F("comp.licence_rate_national"), "）")
    if w.v("comp.unverified"):
        lic = _p(lic, "，有", w.F("comp.unverified"),
                 "家机构的许可信息与官方登记不符、未登记或当前已失效（吊销、注销、过期等），"
                 "已在平台标注为未核验或暂停展示")
    else:
        lic = _p(lic, "，全部在营机构均通过核验")
    out.append(_p(lic, "。"))
    out.append(_p("订单合规方面，在累计", w.F("comp.completed"), "单完成订单中，超范围执业"
                  "（科目或医师超范围）订单率为", w.F("comp.scope_rate"), "（全国",
                  w.F("comp.scope_rate_national"), "），使用未注册产品或缺少设备序列号的订单率为",
                  w.F("comp.product_rate"), "（全国", w.F("comp.product_rate_national"),
                  "），服务时许可无效的订单率为", w.F("comp.licence_service_rate"),
                  "，价格不透明订单率为", w.F("comp.price_rate"),
                  "，超出机构级别开展手术（分级管理）的订单率为", w.F("comp.grade_rate"), "（全国",
                  w.F("comp.grade_rate_national"), "）。"))
    reply = (_p("投诉", w.F("comp.complaints"), f"条，{chinese_count(REPLY_HOURS)}小时内回复率为",
                w.F("comp.reply_rate"), "（全国", w.F("comp.reply_rate_national"), "）")
             if w.v("comp.complaints") else _p("本期无投诉记录"))
    out.append(_p("评价与投诉方面，评价真实性核验通过率为", w.F("comp.review_rate"), "（全国",
                  w.F("comp.review_rate_national"), "），共有", w.F("comp.excluded_reviews"),
                  "条评价因未通过核验或存在刷评嫌疑而被剔除出评分；", reply, "。"))
    better = worse = 0
    for key, good_high in (("licence_rate", True), ("scope_rate", False), ("product_rate", False),
                           ("licence_service_rate", False), ("price_rate", False),
                           ("review_rate", True), ("reply_rate", True)):
        a, b = w.v(f"comp.{key}"), w.v(f"comp.{key}_national")
        if a is None or b is None or round(abs(a - b) * 1000) == 0:
            continue
        if (a > b) == good_high:
            better += 1
        else:
            worse += 1
    if better > worse:
        verdict = "总体来看，本市在多数合规与信任指标上优于全国平均水平。"
    elif worse > better:
        verdict = "总体来看，本市在多数合规与信任指标上弱于全国平均水平，需加强监管与平台治理。"
    else:
        verdict = "总体来看，本市合规与信任表现与全国平均水平大体相当。"
    out.append(_p(verdict))
    return out


SECTIONS = {
    "summary": summary,
    "market": market,
    "categories": categories,
    "prices": prices,
    "personas": personas,
    "travel": travel,
    "channels": channels,
    "clinics": clinics,
    "compliance": compliance,
}


def write_all(d: ReportData) -> dict[str, list[Markup]]:
    return {name: write(d) for name, write in SECTIONS.items()}
