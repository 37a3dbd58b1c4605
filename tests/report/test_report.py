"""Blue-book reports on the small published warehouse: every quoted number is the
warehouse's number, every section is in the PDF, Chinese is set in an embedded CJK font."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from orchestration.reports.assets import blue_book_reports, configured_cities
from orchestration.resources import WarehouseResource
from report import commentary
from report.data import ReportData
from report.fmt import format_value, growth, money, pct, pp_diff
from report.render import SECTIONS
from tests.conftest import AS_OF, run_yimei

pytestmark = pytest.mark.pipeline

YEAR = AS_OF.year  # the small sample covers the 120 days before AS_OF
FACT_SPAN = re.compile(r'<span class="fact" data-fact="([^"]+)">([^<]*)</span>')
COMMENTARY = re.compile(r'<p class="commentary">(.*?)</p>', re.S)


@pytest.fixture(scope="module")
def serving_path(published) -> Path:
    result = published["result"]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return published["data_dir"] / "serving.duckdb"


@pytest.fixture(scope="module")
def city(serving_path) -> str:
    con = duckdb.connect(str(serving_path), read_only=True)
    try:
        months = con.execute(
            "select count(distinct month) from marts.market_monthly where year(month) = ?", [YEAR]
        ).fetchone()[0]
        assert months >= 3, f"the sample should cover several months of {YEAR}"
        return con.execute(
            "select city from marts.market_monthly where year(month) = ? group by city "
            "order by sum(gmv) desc limit 1",
            [YEAR],
        ).fetchone()[0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def report(published, serving_path, city, tmp_path_factory) -> dict:
    """`yimei report` once, through the real CLI."""
    out = tmp_path_factory.mktemp("reports")
    result = run_yimei(
        "report", "--city", city, "--year", str(YEAR),
        "--data-dir", str(published["data_dir"]), "--out", str(out),
        "--as-of", AS_OF.isoformat(),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    stem = out / f"bluebook_{city}_{YEAR}"
    return {
        "result": result,
        "out": out,
        "html": Path(f"{stem}.html").read_text(encoding="utf-8"),
        "pdf": Path(f"{stem}.pdf"),
        "facts": json.loads(Path(f"{stem}.facts.json").read_text(encoding="utf-8")),
    }


def _plain(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def test_cli_writes_html_pdf_and_facts_quickly(report):
    out = report["result"].stdout
    assert "blue-book report for" in out
    seconds = float(re.search(r"\(([\d.]+) s,", out).group(1))
    assert seconds < 30, f"generation took {seconds} s"
    assert report["pdf"].stat().st_size > 50_000
    assert len(report["facts"]["facts"]) > 60


def test_every_fact_equals_a_fresh_query_of_serving(report, serving_path):
    facts = report["facts"]["facts"]
    con = duckdb.connect(str(serving_path), read_only=True)
    try:
        for fact in facts:
            if fact["sql"] is None:  # calendar constants (Spring Festival), not warehouse data
                assert fact["source"] == "农历", fact
                continue
            fresh = con.execute(fact["sql"], fact["params"]).fetchall()[0][0]
            value = _plain(fresh)
            if isinstance(value, float):
                assert fact["value"] == pytest.approx(value, rel=1e-9, abs=1e-12), fact["key"]
            else:
                assert fact["value"] == value, fact["key"]
            assert format_value(fresh, fact["kind"]) == fact["text"], fact["key"]
    finally:
        con.close()


def test_every_number_in_the_text_is_a_fact(report):
    facts = {f["key"]: f for f in report["facts"]["facts"]}
    page = report["html"]
    used = FACT_SPAN.findall(page)
    assert len({key for key, _ in used}) > 50
    for key, text in used:
        assert key in facts, key
        assert html.unescape(text) == facts[key]["text"], key
    paragraphs = COMMENTARY.findall(page)
    assert len(paragraphs) >= 20
    for paragraph in paragraphs:
        bare = re.sub(r"<[^>]+>", "", FACT_SPAN.sub("", paragraph))
        bare = re.sub(r"\d{4}年|全国=100", "", bare)  # the year and the index base
        assert not re.search(r"[0-9０-９]", bare), bare


def test_quoted_numbers_appear_in_the_pdf(report):
    text = _pdftotext(report["pdf"])
    flat = re.sub(r"\s+", "", text)
    for key, shown in FACT_SPAN.findall(report["html"]):
        assert re.sub(r"\s+", "", html.unescape(shown)) in flat, key


def test_every_figure_and_table_names_its_source_and_as_of(report):
    page = report["html"]
    figures = re.findall(r"<figure>.*?</figure>", page, re.S)
    tables = re.findall(r'<div class="tblock">.*?</div>', page, re.S)
    assert len(figures) >= 10 and len(tables) >= 5
    for block in figures + tables:
        assert "数据来源：" in block, block[:200]
        assert "marts." in block or "governance." in block, block[:200]
        assert f"数据截至 {AS_OF.isoformat()}" in block, block[:200]
    # charts are vector SVG with the text drawn in the CJK font
    assert page.count("data:image/svg+xml;base64,") == len(figures)


def test_pdf_has_cover_toc_sections_and_page_numbers(report):
    text = _pdftotext(report["pdf"])
    assert "医疗美容产业发展报告" in text and "目" in text and "录" in text
    for _, title in SECTIONS:
        assert text.count(title) >= 2, title  # in the table of contents and as a heading
    toc = text.split("报告摘要")[1]
    numbers = [int(n) for n in re.findall(r"·\s*(\d+)\s*$", text, re.M)]
    assert len(numbers) == len(SECTIONS) and numbers == sorted(numbers), toc[:500]
    assert re.search(r"—\s*3\s*—", text)


def test_pdf_embeds_a_cjk_font_and_renders_chinese(report, tmp_path):
    fonts = subprocess.run(
        ["pdffonts", str(report["pdf"])], capture_output=True, text=True, check=True
    ).stdout
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk, fonts
    assert all(line.split()[-5] == "yes" for line in cjk), fonts  # emb column
    text = _pdftotext(report["pdf"])
    assert len(re.findall(r"[\u4e00-\u9fff]", text)) > 3000
    subprocess.run(
        ["pdftoppm", "-r", "50", "-gray", "-f", "1", "-l", "3", str(report["pdf"]),
         str(tmp_path / "page")],
        check=True,
    )
    pages = sorted(tmp_path.glob("page-*.pgm"))
    assert len(pages) == 3
    for page in pages:
        pixels = page.read_bytes().split(b"\n", 3)[3]
        assert sum(1 for b in pixels if b < 128) > 300, page  # ink on the page


def test_a_city_without_data_is_a_clear_error(published, tmp_path, city):
    for args in (("--city", "拉萨", "--year", str(YEAR)), ("--city", city, "--year", "2019")):
        result = run_yimei(
            "report", *args, "--data-dir", str(published["data_dir"]), "--out", str(tmp_path)
        )
        assert result.returncode != 0
        assert args[1] in result.stderr and args[3] in result.stderr, result.stderr
        assert "no data" in result.stderr
    assert not list(tmp_path.iterdir())


def test_wording_follows_the_data(serving_path, city):
    with ReportData(serving_path, city, YEAR, AS_OF) as d:
        loaded = d.load().chapters
        d.use(loaded.with_values({"market.yoy_months": 2, "market.gmv_yoy": -0.1,
                                  "market.orders_yoy": 0.05}))
        down = "".join(commentary.market(d))
        assert "同比<span" in down and "下降10.0%" in down and "市场有所回调" in down
        assert "增长5.0%" in down
        d.use(loaded.with_values({"market.yoy_months": 2, "market.gmv_yoy": 0.25}))
        up = "".join(commentary.market(d))
        assert "增长25.0%" in up and "高速增长" in up
        d.use(loaded.with_values({"market.yoy_months": 0}))
        assert "暂不计算同比" in "".join(commentary.market(d))


def test_partial_months_are_marked_and_never_compared(serving_path, city, report):
    """marts.md: the sample starts mid-month and the run date falls inside a month, so the first
    and the last month are incomplete; no growth is computed for them or against them, and the
    blue-book marks them and compares complete months only."""
    con = duckdb.connect(str(serving_path), read_only=True)
    try:
        months = con.execute(
            "select month, bool_and(month_complete), count(gmv_mom_growth), "
            "count(gmv_yoy_growth) from marts.market_monthly group by month order by month"
        ).fetchall()
        others = {
            table: dict(con.execute(
                f"select month, bool_and(month_complete) from {table} group by month"
            ).fetchall())
            for table in ("marts.procedure_price_index", "marts.travel_flows",
                          "marts.channel_funnel")
        }
    finally:
        con.close()
    (first, first_complete, *first_growth), *middle, (last, last_complete, *last_growth) = months
    assert last == AS_OF.replace(day=1)
    assert not first_complete and not last_complete and first_growth == last_growth == [0, 0]
    assert middle and all(complete for _, complete, _, _ in middle)
    assert middle[0][2] == 0, "the month after the first compares with an incomplete month"
    assert any(mom for _, _, mom, _ in middle[1:]), "complete months do compare"
    for table, flags in others.items():
        assert flags[first] is False and flags[last] is False, table
        assert all(flags[m] for m, *_ in middle if m in flags), table
    with ReportData(serving_path, city, YEAR, AS_OF) as d:
        market = d.load().chapters.market
        flags = {
            pd.Timestamp(month).date(): complete
            for month, complete in zip(
                market.monthly["month"], market.monthly["month_complete"], strict=True
            )
        }
        assert not flags[first] and not flags[last] and all(flags[m] for m, *_ in middle)
        assert market.facts["market.partial_months"].value == 2
        assert market.quarterly["partial_months"].sum() == 2
    assert "不完整月份" in report["html"] and "个不完整月*" in report["html"]


def test_chinese_number_formats():
    assert money(19146496.61) == "1914.6万元"
    assert money(293116371.4) == "2.93亿元"
    assert money(8650) == "8,650元"
    assert pct(0.1234) == "12.3%"
    assert growth(0.357) == "增长35.7%" and growth(-0.042) == "下降4.2%"
    assert growth(0.0001) == "基本持平"
    assert pp_diff(0.012) == "高1.2个百分点" and pp_diff(-0.003) == "低0.3个百分点"


def test_dagster_asset_reports_the_top_city_of_the_last_complete_year(
    serving_path, city, tmp_path, monkeypatch
):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(serving_path, data_dir / "serving.duckdb")
    monkeypatch.delenv("YIMEI_REPORT_CITIES", raising=False)

    def run(as_of: str):
        warehouse = WarehouseResource(
            landing_dir=str(tmp_path), data_dir=str(data_dir), as_of=as_of
        )
        result = dg.materialize([blue_book_reports], resources={"warehouse": warehouse})
        assert result.success
        return result.get_asset_materialization_events()[0].materialization.metadata

    # as of early next year, the last complete year is the sample's year
    meta = run(date(YEAR + 1, 1, 10).isoformat())
    assert meta["year"].value == YEAR and meta["reports"].value == 1
    assert (data_dir / "reports" / f"bluebook_{city}_{YEAR}.pdf").exists()
    # as of the sample's own date, the last complete year has no data: skipped, not failed
    meta = run(AS_OF.isoformat())
    assert meta["year"].value == YEAR - 1 and meta["reports"].value == 0
    # a configured city without data is skipped with a warning
    monkeypatch.setenv("YIMEI_REPORT_CITIES", "拉萨")
    meta = run(date(YEAR + 1, 1, 10).isoformat())
    assert meta["reports"].value == 0 and meta["skipped"].value == "拉萨"


def test_yimei_report_renders_the_last_publish_in_a_run_of_its_own(published, city, tmp_path):
    """`yimei run` publishes without rendering; `yimei report` renders in a Dagster run of its
    own, for the last publish's run date unless --as-of says otherwise, and keeps a report
    whose year's published data did not change."""
    data_dir = tmp_path / "data"
    shutil.copytree(published["data_dir"], data_dir)
    pdf = data_dir / "reports" / f"bluebook_{city}_{YEAR}.pdf"
    assert not pdf.exists(), "yimei run rendered a report"

    def report(*flags: str) -> str:
        result = run_yimei("report", "--data-dir", str(data_dir), *flags, env={"YIMEI_AS_OF": ""})
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result.stdout

    # the last publish was as of AS_OF: its last complete year has no data in the sample
    out = report()
    assert f"blue-book reports for {YEAR - 1}" in out and "skipped: no data" in out
    next_january = date(YEAR + 1, 1, 10).isoformat()
    assert f"rendered: {pdf}" in report("--as-of", next_january)
    rendered_at = pdf.stat().st_mtime_ns
    assert f"unchanged: {pdf}" in report("--as-of", next_january)
    assert pdf.stat().st_mtime_ns == rendered_at
    with dg.DagsterInstance.from_config(str(data_dir / "dagster")) as instance:
        runs = instance.get_runs(dg.RunsFilter(job_name="blue_book_reports"))
        published_runs = instance.get_runs(dg.RunsFilter(job_name="build_check_publish"))
        steps = {
            record.event_log_entry.step_key
            for run in published_runs
            for record in instance.get_records_for_run(
                run.run_id, of_type=dg.DagsterEventType.STEP_START, limit=1_000
            ).records
        }
    assert len(runs) == 3 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    assert "serving__database" in steps and "reports__blue_book" not in steps


def test_configured_cities(monkeypatch):
    monkeypatch.setenv("YIMEI_REPORT_CITIES", "成都, 上海，重庆、 ")
    assert configured_cities() == ["成都", "上海", "重庆"]
    monkeypatch.delenv("YIMEI_REPORT_CITIES")
    assert configured_cities() == []


def _pdftotext(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
