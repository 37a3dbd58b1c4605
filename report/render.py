"""Assemble the blue-book report: query, write commentary, draw charts, render HTML and PDF."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from report import charts, commentary
from report.data import ReportData, ReportError, report_stem
from report.fmt import (
    AGE_BAND,
    CATEGORY,
    CHANNEL,
    DIAMOND_BAR,
    MIN_CELL_BUYERS,
    QUARTER,
    REPLY_HOURS,
    RULE,
    SPEND_TIER,
    TIER,
    count,
    format_value,
    money,
    pct,
    price,
)

TEMPLATES = Path(__file__).parent / "templates"
TITLE = "{city}医疗美容产业发展报告（{year}）"

SECTIONS = [
    ("summary", "报告摘要"),
    ("market", "一、市场规模与增长"),
    ("categories", "二、品类结构"),
    ("prices", "三、价格指数"),
    ("personas", "四、消费者画像"),
    ("travel", "五、医美旅游（打飞的）"),
    ("channels", "六、渠道结构"),
    ("clinics", "七、机构格局"),
    ("compliance", "八、合规与信任"),
    ("methodology", "附录：方法说明"),
]


@dataclass
class ReportResult:
    city: str
    year: int
    html_path: Path
    pdf_path: Path
    facts_path: Path
    seconds: float
    facts: int


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=money,
        price=price,
        count=count,
        pct=pct,
        index=lambda v: format_value(v, "index"),
        score=lambda v: format_value(v, "score"),
        growth=lambda v: format_value(None if v != v else v, "growth"),  # NaN -> dash
        category=lambda v: {**CATEGORY, "merged": "合并小样本"}.get(v, v),
        rule=lambda v: RULE.get(v, v),
        channel=lambda v: CHANNEL.get(v, v),
        tier=lambda v: TIER.get(v, v),
        age_band=lambda v: AGE_BAND.get(v, v),
        spend_tier=lambda v: SPEND_TIER.get(v, v),
        quarter=lambda v: QUARTER[int(v)],
        yes_no=lambda v: "是" if v else "否",
    )
    return env


def _compliance_rows(d: ReportData) -> tuple[list, list]:
    def rate(key):
        fact = d.facts.get(key)
        return None if fact is None or fact.value is None else float(fact.value)

    passing = [
        ("执业许可核验通过率", rate("comp.licence_rate"), rate("comp.licence_rate_national")),
        ("评价真实性核验通过率", rate("comp.review_rate"), rate("comp.review_rate_national")),
        (f"投诉{REPLY_HOURS}小时回复率", rate("comp.reply_rate"), rate("comp.reply_rate_national")),
    ]
    problems = [
        ("超范围执业订单率", rate("comp.scope_rate"), rate("comp.scope_rate_national")),
        ("未注册产品订单率", rate("comp.product_rate"), rate("comp.product_rate_national")),
        ("服务时许可无效订单率", rate("comp.licence_service_rate"),
         rate("comp.licence_service_rate_national")),
        ("价格不透明订单率", rate("comp.price_rate"), rate("comp.price_rate_national")),
        ("超出机构级别的手术订单率", rate("comp.grade_rate"), rate("comp.grade_rate_national")),
    ]
    return passing, problems


def _figures(d: ReportData) -> dict[str, str]:
    passing, problems = _compliance_rows(d)
    figures = {
        "market_monthly": charts.market_monthly(d.monthly, d.year),
        "city_ranking": charts.city_ranking(d.city_ranking, d.city),
        "categories": charts.categories(d.categories, d.procedures),
        "category_vs_national": charts.category_vs_national(d.categories),
        "price_ranges": charts.price_ranges(d.prices),
        "travel_monthly": charts.travel_monthly(d.monthly, d.year, d.sf_window),
        "funnel": charts.funnel(d.funnel),
        "channel_mix": charts.channel_mix(d.channel_mix),
        "compliance_pass": charts.compliance(passing),
        "compliance_problems": charts.compliance(problems),
    }
    if d.persona_count:
        figures["persona_age_gender"] = charts.persona_age_gender(d.personas)
        figures["persona_favourites"] = charts.persona_favourites(d.personas)
    if len(d.origins):
        figures["travel_origins"] = charts.travel_origins(d.origins)
    if d.f("clinic.active").value:
        figures["clinics"] = charts.clinics(d.tiers, d.trust_scores)
    return figures


def render_html(d: ReportData, generated_on: date) -> str:
    texts = commentary.write_all(d)
    env = _environment()
    template = env.get_template("report.html.j2")
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    passing, problems = _compliance_rows(d)
    return template.render(
        d=d,
        title=TITLE.format(city=d.city, year=d.year),
        city=d.city,
        year=d.year,
        as_of=d.as_of.isoformat() if d.as_of else "未知",
        run_id=d.run_id or "未知",
        generated_on=generated_on.isoformat(),
        sections=SECTIONS,
        text=texts,
        fig=_figures(d),
        css=Markup(css),
        min_cell=MIN_CELL_BUYERS,
        reply_hours=REPLY_HOURS,
        bar=DIAMOND_BAR,
        passing=passing,
        problems=problems,
    )


def generate_report(
    serving_path: Path,
    city: str,
    year: int,
    out_dir: Path,
    as_of: date | None = None,
    pdf: bool = True,
) -> ReportResult:
    """Writes ``bluebook_<city>_<year>.html``, ``.pdf`` and ``.facts.json`` into ``out_dir``.

    Raises ReportError (before writing anything) when the city has no data in that year.
    """
    started = time.monotonic()
    with ReportData(serving_path, city, year, as_of) as d:
        d.load()
        html = render_html(d, datetime.now(ZoneInfo("Asia/Shanghai")).date())
        facts = [fact.as_json() for fact in d.facts.values()]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = report_stem(city, year)
    html_path = out_dir / f"{stem}.html"
    pdf_path = out_dir / f"{stem}.pdf"
    facts_path = out_dir / f"{stem}.facts.json"
    html_path.write_text(html, encoding="utf-8")
    facts_path.write_text(
        json.dumps(
            {"city": city, "year": year, "serving": str(serving_path), "facts": facts},
            ensure_ascii=False,
            indent=1,
            default=str,
        ),
        encoding="utf-8",
    )
    if pdf:
        write_pdf(html, pdf_path)
    return ReportResult(
        city, year, html_path, pdf_path, facts_path, time.monotonic() - started, len(facts)
    )


def write_pdf(html: str, pdf_path: Path) -> None:
    # WeasyPrint is imported lazily: it loads pango through ctypes.
    try:
        from weasyprint import HTML
    except OSError as exc:  # pango missing
        raise ReportError(f"cannot load WeasyPrint ({exc}): install pango (`make setup`)") from exc
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    tmp = pdf_path.with_name(f".{pdf_path.name}.tmp")
    HTML(string=html, base_url=str(TEMPLATES)).write_pdf(tmp)
    tmp.replace(pdf_path)


__all__ = ["ReportError", "ReportResult", "generate_report", "render_html", "report_stem"]
