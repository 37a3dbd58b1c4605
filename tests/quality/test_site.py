"""The quality site: the summary page and the GX Data Docs in a real headless browser
(Debian's chromium) after a real `yimei run`, and the Data Docs build on its own."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from quality import suites
from quality.docs import BUILDS_DIR, REDACTED, SITE_DIR
from quality.rules import RULES
from quality.runner import Validator

pytestmark = [pytest.mark.pipeline, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Page(HTMLParser):
    """What a reader sees: visible text (no scripts or styles), links and element ids."""

    def __init__(self, dom: str) -> None:
        super().__init__()
        self.text_parts: list[str] = []
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.title = ""
        self._hidden = 0
        self._in_title = False
        self.feed(dom)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style"):
            self._hidden += 1
        if tag == "title":
            self._in_title = True
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if attrs.get("id"):
            self.ids.add(attrs["id"])

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._hidden -= 1
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif not self._hidden:
            self.text_parts.append(data)

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.text_parts))


def chromium(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    assert CHROMIUM, "chromium is missing: `make setup` installs it (Makefile SYSTEM_PACKAGES)"
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            # offline and deterministic: the GX pages' CDN scripts and styles fail fast
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            *args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )


def load(path: Path, tmp_path: Path) -> Page:
    result = chromium(path.resolve().as_uri(), tmp_path, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "<body" in result.stdout, result.stderr[-2000:]
    return Page(result.stdout)


@pytest.fixture(scope="module")
def quality(published) -> Path:
    result = published["result"]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return published["data_dir"] / "quality"


def test_summary_page_shows_every_rule_and_links_to_the_data_docs(quality, tmp_path):
    page = load(quality / "index.html", tmp_path)

    assert "yimei" in page.title
    for rule in RULES:
        assert rule.rule_id in page.ids, rule.rule_id  # one row per rule, anchored by its id
        assert rule.rule_id in page.text, rule.rule_id
        assert rule.owner in page.text, rule.rule_id
    assert "All blocking rules passed" in page.text
    for section in ("Last runs", "Clinics with most open findings", "Great Expectations Data Docs"):
        assert section in page.text, section
    assert f"{SITE_DIR}/index.html" in page.links
    docs_links = [link for link in page.links if link.startswith(f"{SITE_DIR}/")]
    assert len(docs_links) > 10
    for link in docs_links:
        assert (quality / link).is_file(), link


def test_summary_page_screenshot(quality, tmp_path):
    png = tmp_path / "quality_summary.png"
    result = chromium(
        (quality / "index.html").resolve().as_uri(),
        tmp_path,
        f"--screenshot={png}",
        "--window-size=1400,2200",
        "--hide-scrollbars",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 20_000  # a rendered page, not a blank canvas
    print(f"screenshot: {png}")


def test_a_data_docs_result_page_renders(quality, tmp_path):
    summary = Page((quality / "index.html").read_text(encoding="utf-8"))
    result_pages = [
        link for link in summary.links if link.startswith(f"{SITE_DIR}/validations/int_order")
    ]
    assert result_pages, summary.links
    page = load(quality / result_pages[0], tmp_path)

    assert "Expectation Validation Result" in page.text
    assert "int_order_compliance" in page.text  # the suite name
    for column in ("licence_valid_at_service", "product_registered", "price_transparent"):
        assert column in page.text, column
    assert re.search(r"Evaluated Expectations\s*6", page.text), page.text[:2000]


def test_the_data_docs_index_lists_every_suite(quality, tmp_path):
    index = quality / SITE_DIR / "index.html"
    result = chromium(index.resolve().as_uri(), tmp_path, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    page = Page(result.stdout)
    assert "Data Docs" in page.text
    # GX's index fills its tables with scripts from public CDNs (blocked here): the
    # suites and results are in the page's table data, each pointing at a rendered page.
    suite_pages = set(re.findall(r"expectations/[\w./-]+?\.html", result.stdout))
    result_pages = set(re.findall(r"validations/[\w./-]+?\.html", result.stdout))
    for suite in (
        "int_clinic_licence_verification",
        "int_order_compliance",
        "int_review_verification",
        "int_complaint_response",
        "table_integrity",
        "feed_freshness",
        "persona_segments",
        "personal_data",
    ):
        assert f"expectations/{suite}.html" in suite_pages, suite
    on_disk = {
        p.relative_to(quality / SITE_DIR).as_posix()
        for p in (quality / SITE_DIR / "validations").rglob("*.html")
    }
    assert result_pages == on_disk and len(on_disk) >= 10  # one per validated table and batch
    for link in suite_pages:
        assert (quality / SITE_DIR / link).is_file(), link


def _leaky_validation(run_name: str) -> Validator:
    validator = Validator(run_name=run_name)
    suite = suites.build_personal_data_suite()
    frame = pd.DataFrame(
        {
            "table_name": "marts.t",
            "column_name": "detail",
            "value": ["成都", "call 13812345678", "from 203.0.113.7"],
        }
    )
    result = validator.validate("personal_data", frame, suite, ["table_name", "column_name"])
    assert not result.success
    # the runner still gets every failing row: findings need them
    assert any(item.result.get("unexpected_index_list") for item in result.results)
    return validator


def test_data_docs_are_summaries_and_never_show_personal_data(tmp_path):
    validator = _leaky_validation("run-one")
    docs = validator.build_data_docs(tmp_path)

    site = tmp_path / SITE_DIR
    assert (site / "index.html").is_file()
    assert [p.success for p in docs.pages] == [False]
    assert (tmp_path / docs.pages[0].href).is_file()
    rendered = "\n".join(p.read_text(encoding="utf-8") for p in site.rglob("*.html"))
    assert "13812345678" not in rendered and "203.0.113.7" not in rendered
    assert REDACTED in rendered
    stored = validator.context.validation_results_store.get(docs.pages[0].key)
    for item in stored.results:  # SUMMARY: counts and samples, no full lists
        assert not {"unexpected_index_list", "unexpected_list"} & set(item.result)


def test_each_build_replaces_the_site_in_one_swap(tmp_path):
    first = _leaky_validation("run-one").build_data_docs(tmp_path)
    target_one = (tmp_path / SITE_DIR).resolve()
    second = _leaky_validation("run-two").build_data_docs(tmp_path)

    link = tmp_path / SITE_DIR
    assert link.is_symlink()
    assert link.resolve() != target_one
    assert (tmp_path / second.pages[0].href).is_file()
    assert "run-two" in second.pages[0].href and "run-one" in first.pages[0].href
    assert not list(link.rglob("*run-one*"))  # the new site holds only its own run
    builds = sorted(p.name for p in (tmp_path / BUILDS_DIR).iterdir())
    assert len(builds) == 2 and not [b for b in builds if b.startswith(".")]  # previous kept
    _leaky_validation("run-three").build_data_docs(tmp_path)
    assert len(list((tmp_path / BUILDS_DIR).iterdir())) == 2
