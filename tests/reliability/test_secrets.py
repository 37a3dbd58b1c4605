"""The PII key and clear-text personal data appear nowhere a run writes.

Every file under the data directory of a completed run (the warehouse and serving
databases, Dagster's event log and run storage, compute logs, the quality site, the dbt
target folder, the reports) and the run's own output are read as bytes; so is every text
column of every table of both databases, as DuckDB compresses what it stores.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.conftest import TEST_PII_KEY
from tests.reliability.conftest import FIGURES

pytestmark = pytest.mark.pipeline

# What a delivered phone, IPv4 address or UUID device id looks like wherever it is written.
TOKENS = re.compile(
    rb"[0-9]{7,}|[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}"
)


def _landed_personal_values(landing: Path) -> set[bytes]:
    values: set[str] = set()
    for path in landing.glob("orders/dt=*/part-*"):
        try:
            frame = (
                pl.read_parquet(path)
                if path.suffix == ".parquet"
                else pl.read_csv(path, infer_schema=False)
            )
        except Exception:  # noqa: BLE001 - a truncated or broken delivery of the sample
            continue
        if "buyer_phone" in frame.columns:
            values |= {v for v in frame["buyer_phone"].cast(pl.String).to_list() if v}
    for path in landing.glob("reviews/dt=*/part-*.jsonl"):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                review = json.loads(line)
            except ValueError:
                continue
            if isinstance(review, dict):
                values |= {str(review[k]) for k in ("ip", "device_id") if review.get(k)}
    return {v.encode() for v in values if len(v) >= 7}


@pytest.fixture(scope="module")
def personal(clean_run) -> set[bytes]:
    values = _landed_personal_values(clean_run["landing"])
    assert len(values) > 500, "the sample delivers phones, IPs and device ids"
    return values


def _files(data_dir: Path) -> list[Path]:
    return [p for p in data_dir.rglob("*") if p.is_file()]


def test_no_file_holds_the_key_or_clear_personal_data(clean_run, personal):
    key = TEST_PII_KEY.encode()
    files = _files(clean_run["data_dir"]) + [clean_run["log"]]
    leaks = []
    for path in files:
        data = path.read_bytes()
        if key in data:
            leaks.append(f"{path}: the PII key")
        found = {t for t in TOKENS.findall(data) if t in personal}
        if found:
            leaks.append(f"{path}: {len(found)} clear values, e.g. {sorted(found)[0][:4]!r}...")
    FIGURES["files scanned"] += len(files)
    assert len(files) > 50 and not leaks, leaks[:10]


@pytest.mark.parametrize("database", ["warehouse.duckdb", "serving.duckdb"])
def test_no_table_holds_clear_personal_data(clean_run, personal, database):
    con = duckdb.connect(str(clean_run["data_dir"] / database), read_only=True)
    try:
        columns = con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            "where data_type = 'VARCHAR' and not internal"
        ).fetchall()
        leaks = []
        for schema, table, column in columns:
            text = con.execute(
                f'select string_agg("{column}", chr(10)) from "{schema}"."{table}"'
            ).fetchone()[0]
            found = {t for t in TOKENS.findall((text or "").encode()) if t in personal}
            if found:
                leaks.append(f"{schema}.{table}.{column}: {len(found)} clear values")
            if TEST_PII_KEY in (text or ""):
                leaks.append(f"{schema}.{table}.{column}: the PII key")
    finally:
        con.close()
    FIGURES["columns scanned"] += len(columns)
    assert columns and not leaks, leaks
