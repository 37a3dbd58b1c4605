"""`yimei export`: a published table as CSV, XLSX or Parquet, formula-safe."""

from __future__ import annotations

import csv
import re
import shutil
import zipfile

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.conftest import run_yimei

pytestmark = pytest.mark.pipeline

FORMULA = "=1+1"


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory, published):
    """A data dir whose serving.duckdb has a clinic named like a formula."""
    assert published["result"].returncode == 0, published["result"].stdout[-3000:]
    data_dir = tmp_path_factory.mktemp("export")
    shutil.copyfile(published["data_dir"] / "serving.duckdb", data_dir / "serving.duckdb")
    con = duckdb.connect(str(data_dir / "serving.duckdb"))
    try:
        clinic = con.execute(
            "select clinic_id from marts.clinic_scorecard order by clinic_id limit 1"
        ).fetchone()[0]
        con.execute(
            "update marts.clinic_scorecard set name = ? where clinic_id = ?",
            [FORMULA, clinic],
        )
        rows = con.execute("select count(*) from marts.clinic_scorecard").fetchone()[0]
    finally:
        con.close()
    return data_dir, clinic, rows


def _export(data_dir, out, *args):
    result = run_yimei("export", *args, "--data-dir", str(data_dir), "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_csv_keeps_every_row_and_neutralises_formulas(export_dir, tmp_path):
    data_dir, clinic, rows = export_dir
    out = tmp_path / "scorecard.csv"
    _export(data_dir, out, "clinic_scorecard", "--format", "csv")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads the Chinese names as UTF-8
    records = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert len(records) == rows
    by_id = {r["clinic_id"]: r for r in records}
    assert by_id[clinic]["name"] == "'" + FORMULA
    assert any(re.search(r"[\u4e00-\u9fff]", r["city"]) for r in records)


def test_xlsx_cells_are_text_never_formulas(export_dir, tmp_path):
    data_dir, _, rows = export_dir
    out = tmp_path / "scorecard.xlsx"
    _export(data_dir, out, "marts.clinic_scorecard", "--format", "xlsx")
    with zipfile.ZipFile(out) as book:
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")]
        sheet = book.read(sheets[0]).decode("utf-8")
        strings = "".join(
            book.read(n).decode("utf-8") for n in book.namelist() if "sharedStrings" in n
        )
    assert "<f>" not in sheet and "<f " not in sheet
    assert ("'" + FORMULA) in (sheet + strings).replace("&apos;", "'")
    assert sheet.count("<row") == rows + 1  # the header and every row


def test_parquet_with_a_filter(export_dir, tmp_path, published):
    data_dir, _, _ = export_dir
    con = duckdb.connect(str(data_dir / "serving.duckdb"), read_only=True)
    try:
        city, expected = con.execute(
            "select city, count(*) from marts.market_monthly group by 1 order by 2 desc limit 1"
        ).fetchone()
    finally:
        con.close()
    out = tmp_path / "market.parquet"
    _export(data_dir, out, "market_monthly", "--format", "parquet", "--where", f"city = '{city}'")
    table = pq.read_table(out)
    assert table.num_rows == expected
    assert set(table.column("city").to_pylist()) == {city}


def test_an_unknown_table_or_a_bad_filter_is_a_clear_error(export_dir, tmp_path):
    data_dir, _, _ = export_dir
    unknown = run_yimei("export", "raw.orders", "--data-dir", str(data_dir))
    assert unknown.returncode == 2 and "not a published table" in unknown.stderr
    bad = run_yimei(
        "export",
        "market_monthly",
        "--where",
        "1=1; drop table marts.market_monthly",
        "--data-dir",
        str(data_dir),
        "--out",
        str(tmp_path / "x.csv"),
    )
    assert bad.returncode == 2 and "yimei export:" in bad.stderr
    files = run_yimei(
        "export",
        "market_monthly",
        "--where",
        "city in (select * from read_text('/etc/passwd'))",
        "--data-dir",
        str(data_dir),
        "--out",
        str(tmp_path / "y.csv"),
    )
    assert files.returncode == 2 and "yimei export:" in files.stderr
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "y.csv").exists()
