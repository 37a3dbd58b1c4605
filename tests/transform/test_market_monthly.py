"""marts.market_monthly against a plain-Python recomputation from the landing files.

The recomputation reads the delivered files themselves (Parquet and CSV orders, the CRM's
clinics.csv), leaves out what ingestion must reject (partitions without `_SUCCESS`, the files
and rows the manifest lists as quarantined), keeps each order's latest version (largest
updated_at; ties: later delivery, then later row), counts completed orders in the
Asia/Shanghai month of completed_at and the clinic's city (newest CRM snapshot). It is
compared with the published mart and with the generator's ground truth.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.pipeline

SHANGHAI = ZoneInfo("Asia/Shanghai")
SUCCESS = "_SUCCESS"


def _complete_partitions(landing: Path, feed: str) -> list[Path]:
    return [p for p in sorted((landing / feed).glob("dt=*")) if (p / SUCCESS).exists()]


def _timestamp(value) -> datetime | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _delivered_order_rows(landing: Path, manifest: dict):
    """(dt, file, row number, row) of every order row ingestion must load."""
    rejected_files = {
        b["file"]
        for b in manifest["bad_deliveries"]
        if b["feed"] == "orders" and b["expect"] in ("quarantine_file", "skip_partition")
    }
    rejected_rows = {
        (b["file"], b["row_number"])
        for b in manifest["bad_deliveries"]
        if b["feed"] == "orders" and b["expect"] == "quarantine_row"
    }
    for partition in _complete_partitions(landing, "orders"):
        day = date.fromisoformat(partition.name.removeprefix("dt="))
        for path in sorted(partition.iterdir()):
            relative = path.relative_to(landing).as_posix()
            if path.suffix not in (".parquet", ".csv") or relative in rejected_files:
                continue
            if path.suffix == ".parquet":
                rows = pq.read_table(path).to_pylist()
            else:
                with path.open(encoding="utf-8", newline="") as handle:
                    rows = list(csv.DictReader(handle))
            for number, row in enumerate(rows, start=1):
                if (relative, number) not in rejected_rows:
                    yield day, relative, number, row


def _latest_orders(landing: Path, manifest: dict) -> dict[str, dict]:
    latest: dict[str, tuple] = {}
    for day, relative, number, row in _delivered_order_rows(landing, manifest):
        rank = (_timestamp(row["updated_at"]), day, number, relative)
        current = latest.get(row["order_id"])
        if current is None or rank > current[0]:
            latest[row["order_id"]] = (rank, row)
    return {order_id: row for order_id, (_, row) in latest.items()}


def _clinic_cities(landing: Path) -> dict[str, str]:
    """City of each clinic in the newest complete CRM snapshot (latest updated_at per clinic)."""
    newest = _complete_partitions(landing, "clinics")[-1]
    with (newest / "clinics.csv").open(encoding="utf-8", newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: _timestamp(r["updated_at"]))
    return {row["clinic_id"]: row["city"].strip() for row in rows}


def recompute_market(landing: Path, manifest: dict) -> dict[tuple, dict]:
    """(month, city, procedure_code) -> orders, buyers (a set of user ids), gmv."""
    cities = _clinic_cities(landing)
    cells: dict[tuple, dict] = defaultdict(
        lambda: {"orders": 0, "buyers": set(), "gmv": Decimal(0)}
    )
    for row in _latest_orders(landing, manifest).values():
        if row["status"] != "completed":
            continue
        completed = _timestamp(row["completed_at"]).astimezone(SHANGHAI)
        month = completed.date().replace(day=1)
        cell = cells[(month, cities[row["clinic_id"]], row["procedure_code"])]
        cell["orders"] += 1
        cell["buyers"].add(row["user_id"])
        cell["gmv"] += Decimal(str(row["paid_amount"]))
    return cells


def by_month_and_city(cells: dict[tuple, dict]) -> dict[tuple, tuple]:
    totals: dict[tuple, dict] = defaultdict(
        lambda: {"orders": 0, "buyers": set(), "gmv": Decimal(0)}
    )
    for (month, city, _procedure), cell in cells.items():
        total = totals[(month, city)]
        total["orders"] += cell["orders"]
        total["buyers"] |= cell["buyers"]
        total["gmv"] += cell["gmv"]
    return {k: (v["orders"], len(v["buyers"]), v["gmv"]) for k, v in totals.items()}


@pytest.fixture(scope="module")
def recomputed(published) -> dict[tuple, dict]:
    return recompute_market(published["landing"], published["manifest"])


@pytest.fixture(scope="module")
def mart(published) -> dict[tuple, tuple]:
    result = published["result"]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    con = duckdb.connect(str(published["data_dir"] / "serving.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "select month, city, procedure_code, orders, buyers, gmv from marts.market_monthly"
        ).fetchall()
    finally:
        con.close()
    return {(m, c, p): (o, b, Decimal(str(g))) for m, c, p, o, b, g in rows}


def test_recomputation_matches_the_generator_truth(published, recomputed):
    truth = {
        (date.fromisoformat(r["month"]), r["city"]): (r["orders"], r["buyers"], Decimal(r["gmv"]))
        for r in published["manifest"]["truth"]["market_monthly"]
    }
    assert by_month_and_city(recomputed) == truth


def test_market_monthly_matches_the_recomputation_cell_by_cell(recomputed, mart):
    expected = {
        key: (cell["orders"], len(cell["buyers"]), cell["gmv"]) for key, cell in recomputed.items()
    }
    assert set(mart) == set(expected)
    mismatched = {key: (mart[key], expected[key]) for key in expected if mart[key] != expected[key]}
    assert not mismatched, sorted(mismatched.items(), key=str)[:5]


def test_market_monthly_rolls_up_to_the_truth_per_city_and_month(published, mart):
    """Orders and GMV add up over procedures; buyers do not (one buyer, several procedures)."""
    truth = {
        (date.fromisoformat(r["month"]), r["city"]): (r["orders"], Decimal(r["gmv"]))
        for r in published["manifest"]["truth"]["market_monthly"]
    }
    rolled: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0)])
    for (month, city, _procedure), (orders, _buyers, gmv) in mart.items():
        rolled[(month, city)][0] += orders
        rolled[(month, city)][1] += gmv
    assert {k: tuple(v) for k, v in rolled.items()} == truth
