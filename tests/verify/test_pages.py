"""`yimei verify-server` over what the pipeline published (the small sample's run): the pages
a consumer opens from a clinic's QR code or with a product's 注册证编号, in headless Chromium,
state what the generator's manifest and registry say; the QR code decodes to the page; hostile
input gets a 404 or 422 and the server keeps serving."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import ARTIFACTS, AS_OF, TEST_PII_KEY
from tests.verify.conftest import verify_server

pytestmark = [pytest.mark.pipeline, pytest.mark.server, pytest.mark.browser]

CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def server(tmp_path_factory, published):
    """The verification server on a copy of the published data directory."""
    assert published["result"].returncode == 0, published["result"].stdout[-3000:]
    data_dir = tmp_path_factory.mktemp("verify") / "data"
    data_dir.mkdir(parents=True)
    shutil.copy(published["data_dir"] / "serving.duckdb", data_dir / "serving.duckdb")
    with verify_server(data_dir) as running:
        yield {**published, **running, "serving": data_dir / "serving.duckdb"}


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=420,1800", "--lang=zh-CN"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def _open(browser, url: str, shot: str) -> str:
    browser.get(url)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"verify_{shot}.png"))
    return browser.find_element(By.TAG_NAME, "body").text


def _status(browser) -> str:
    return browser.find_element(By.ID, "status").text


def _published(server, sql: str, params=()) -> list[tuple]:
    con = duckdb.connect(str(server["serving"]), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _registry_products(landing: Path) -> list[dict]:
    """The registry's newest product snapshot as the generator wrote it (GBK, Chinese headers):
    the truth the product page is checked against."""
    newest = max((landing / "registry").glob("dt=*/products.csv"))
    rows = list(csv.reader(io.StringIO(newest.read_bytes().decode("gbk"))))
    header, body = rows[0], rows[1:]
    return [dict(zip(header, row, strict=True)) for row in body]


def test_a_verified_diamond_clinic_says_it_is_certified(server, browser):
    manifest = server["manifest"]
    failing = {
        entity
        for rule in ("GOV-01", "GOV-15", "GOV-18")
        for entity in manifest["violations"][rule]["entity_ids"]
    }
    diamonds = sorted(set(manifest["truth"]["diamond_clinics"]) - failing)
    assert diamonds, "the sample has a diamond clinic that keeps its label"
    text = _open(browser, f"{server['base']}/clinics/{diamonds[0]}", "diamond")
    assert _status(browser).startswith("已认证"), text
    assert "美钻" in text and "达标" in text
    assert f"数据截至 {AS_OF.isoformat()}" in text


def test_an_unverified_clinic_says_so_first(server, browser):
    gov_01 = server["manifest"]["violations"]["GOV-01"]
    gov_15 = set(server["manifest"]["violations"]["GOV-15"]["entity_ids"])
    mismatched = sorted(
        clinic
        for clinic, kind in gov_01["kinds"].items()
        if kind == "registry_name_mismatch" and clinic not in gov_15
    )
    text = _open(browser, f"{server['base']}/clinics/{mismatched[0]}", "unverified")
    # GOV-01 calls for suspend_listing (governance.md): the suspension is said first, why next
    assert _status(browser).startswith("已暂停展示：未通过认证"), text
    assert "认证状态 未通过认证" in text and "GOV-01" in text


def test_a_clinic_whose_licence_is_not_in_force_is_shown_suspended(server, browser):
    gov_15 = server["manifest"]["violations"]["GOV-15"]
    revoked = sorted(c for c, kind in gov_15["kinds"].items() if kind == "licence_revoked")
    text = _open(browser, f"{server['base']}/clinics/{revoked[0]}", "suspended")
    assert "暂停展示" in _status(browser), text
    assert "GOV-15" in text


def test_a_clinic_with_grade_findings_names_them(server, browser):
    orders = server["manifest"]["violations"]["GOV-14"]["entity_ids"]
    assert orders, "the small sample has GOV-14 violations"
    (clinic,) = _published(
        server,
        "select clinic_id from governance.findings where rule_id = 'GOV-14' and entity_id = ?",
        [orders[0]],
    )[0]
    text = _open(browser, f"{server['base']}/clinics/{clinic}", "grade")
    assert "GOV-14" in text and "项目级别" in text
    assert browser.find_element(By.ID, "grade-findings").text


def test_the_product_check_tells_registered_expired_and_unknown_numbers(server, browser):
    products = _registry_products(server["landing"])
    registered = next(
        p["注册证编号"] for p in products
        if p["状态"] == "有效" and date.fromisoformat(p["有效期至"]) >= AS_OF
    )  # fmt: skip
    expired = next(
        (p["注册证编号"] for p in products
         if p["状态"] == "有效" and date.fromisoformat(p["有效期至"]) < AS_OF),
        None,
    )  # fmt: skip
    cancelled = next(p["注册证编号"] for p in products if p["状态"] == "注销")
    base = f"{server['base']}/products?no="
    _open(browser, base + registered, "product_registered")
    assert _status(browser) == "已注册且在有效期内"
    text = _open(browser, base + cancelled, "product_cancelled")
    assert _status(browser).startswith("注册证无效"), text
    if expired is not None:
        _open(browser, base + expired, "product_expired")
        assert "过期" in _status(browser)
    _open(browser, base + "国械注准20990000000", "product_unknown")
    assert _status(browser).startswith("未查到注册证")


def test_the_qr_code_decodes_to_the_clinic_page(server):
    import zxingcpp
    from PIL import Image

    (clinic,) = _published(server, "select min(clinic_id) from marts.clinic_scorecard")[0]
    response = requests.get(f"{server['base']}/clinics/{clinic}/qr.png", timeout=10)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.content)))
    assert decoded.text == f"{server['base']}/clinics/{clinic}"


def test_the_printable_cards_of_a_city_carry_its_clinics_and_their_qr_codes(server, tmp_path):
    """`yimei verify qr`: one A6 PDF per clinic of the city, its name and status in the text and
    a QR code that decodes, once printed (rasterised by poppler), to the clinic's public page."""
    import zxingcpp
    from PIL import Image

    (city,) = _published(
        server, "select city from marts.clinic_scorecard group by city order by count(*) desc"
    )[0]
    in_city = "select clinic_id, name from marts.clinic_scorecard where city = ?"
    clinics = dict(_published(server, in_city, [city]))
    public = "https://verify.example.cn"
    env = {k: v for k, v in os.environ.items() if not k.startswith("YIMEI_")}
    env.update(YIMEI_DATA_DIR=str(server["serving"].parent), YIMEI_PII_KEY=TEST_PII_KEY)
    out = tmp_path / "cards"
    result = subprocess.run(
        [str(Path(sys.executable).with_name("yimei")), "verify", "qr", "--city", city,
         "--out", str(out), "--public-url", public],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.stem for p in out.glob("*.pdf")) == sorted(clinics)
    clinic = min(clinics)
    pdf = out / f"{clinic}.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = re.search(r"Pages:\s+(\d+)", info)
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert pages and pages[1] == "1", info
    # A6, 105 x 148 mm, in points
    assert size and abs(float(size[1]) - 297.64) < 0.5 and abs(float(size[2]) - 419.53) < 0.5, info
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert clinics[clinic] in text and "认证状态" in text, text
    subprocess.run(
        ["pdftoppm", "-r", "200", "-png", "-singlefile", str(pdf), str(tmp_path / "card")],
        check=True,
    )
    (decoded,) = zxingcpp.read_barcodes(Image.open(tmp_path / "card.png"))
    assert decoded.text == f"{public}/clinics/{clinic}"


def test_the_api_documentation_page_renders_without_a_cdn(server, browser):
    """/docs: Swagger UI from the application's own files lists the JSON API's operations."""
    html = requests.get(server["base"] + "/docs", timeout=10).text
    assert "cdn." not in html
    browser.get(server["base"] + "/docs")
    paths = WebDriverWait(browser, 30).until(
        lambda b: [e.text for e in b.find_elements(By.CLASS_NAME, "opblock-summary-path")]
    )
    browser.save_screenshot(str(ARTIFACTS / "verify_api_docs.png"))
    assert "/api/v1/clinics/{clinic_id}" in paths and "/api/v1/products/{registration_no}" in paths


HOSTILE = [
    "/clinics/' or 1=1 --",
    "/clinics/C000001;drop table marts.clinic_scorecard",
    "/clinics/" + "C" * 10_000,
    "/clinics/..%2F..%2Fwarehouse.duckdb",
    "/clinics/%ff%fe%fd",
    "/products?no=%27%20or%20%271%27=%271",
    "/products?no=" + "9" * 10_000,
    "/products?no=%ff%fe",
    "/api/v1/clinics/%00",
    "/api/v1/products/..%2F..%2Fetc%2Fpasswd",
    "/clinics/NO_SUCH_CLINIC",
]


def test_hostile_input_gets_404_or_422_and_the_server_keeps_serving(server):
    for path in HOSTILE:
        response = requests.get(server["base"] + path, timeout=10)
        assert response.status_code in (404, 422), (path, response.status_code)
        assert "Traceback" not in response.text and "duckdb" not in response.text.lower(), path
    assert server["process"].poll() is None
    (clinic,) = _published(server, "select min(clinic_id) from marts.clinic_scorecard")[0]
    page = requests.get(f"{server['base']}/clinics/{clinic}", timeout=10)
    assert page.status_code == 200
    assert page.headers["X-Data-As-Of"] == AS_OF.isoformat()
    assert "max-age" in page.headers["Cache-Control"]
    api = requests.get(f"{server['base']}/api/v1/clinics/{clinic}", timeout=10).json()
    assert api["clinic"]["clinic_id"] == clinic and api["page_url"].endswith(f"/clinics/{clinic}")
