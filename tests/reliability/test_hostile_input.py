"""Hostile deliveries: each ends in quarantine or a clear error, valid rows beside it still
load, nothing crashes or hangs, and nothing outside the landing root is ever read.

A corpus of hand-made cases, plus properties checked by ``hypothesis`` on junk lines and
junk files (derandomised: the same examples every run, so the suite is not flaky).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.duck import connect
from ingestion.loader import load_feed
from tests.conftest import TEST_PII_KEY
from tests.reliability.conftest import FIGURES

KEY = TEST_PII_KEY.encode()
HYPOTHESIS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _clean(source: Path, feed: str, name: str) -> Path:
    """The first complete partition of a feed holding ``name``, with at least 8 lines."""
    return next(
        p
        for p in sorted((source / feed).glob("dt=*"))
        if (p / "_SUCCESS").exists()
        and (p / name).exists()
        and (p / name).read_bytes().count(b"\n") >= 8
        and b"\xef\xbb\xbf" not in (p / name).read_bytes()[:3]
    )


class Landing:
    """A fresh landing zone with one clean CRM partition and one reviews partition."""

    def __init__(self, root: Path, source: Path):
        self.root = root / "landing"
        self.crm = self.root / "clinics" / "dt=2026-11-20"
        shutil.copytree(_clean(source, "clinics", "clinics.csv"), self.crm)
        self.reviews = self.root / "reviews" / "dt=2026-11-20"
        shutil.copytree(_clean(source, "reviews", "part-0000.jsonl"), self.reviews)
        # What the untouched delivery loads: every hostile case must keep all of it.
        con = self.load(root, "clinics", "reviews", count=False)
        self.lines = {t: count(con, t) for t in ("clinics", "doctors", "reviews")}
        con.close()

    def load(self, tmp_path: Path, *feeds: str, count: bool = True) -> object:
        con = connect(tmp_path / f"w{len(list(tmp_path.glob('w*.duckdb')))}.duckdb")
        for feed in feeds or ("clinics", "reviews"):
            load_feed(con, str(self.root), feed, KEY, "hostile")
        FIGURES["hostile cases"] += count
        return con


def count(con, table: str) -> int:
    return con.execute(f"select count(*) from raw.{table}").fetchone()[0]


def quarantined(con, where: str = "true") -> list[tuple]:
    return con.execute(
        f"select source_file, row_number, reason from audit.quarantine where {where}"
    ).fetchall()


def insert_line(path: Path, line: bytes, at: int = 3) -> None:
    lines = path.read_bytes().rstrip(b"\n").split(b"\n")
    lines.insert(at, line)
    path.write_bytes(b"\n".join(lines) + b"\n")


@pytest.fixture
def landing(tmp_path, tiny_landing) -> Landing:
    return Landing(tmp_path, tiny_landing[0])


# ---- the corpus ---------------------------------------------------------------------------


def test_random_bytes_instead_of_a_csv(tmp_path, landing):
    (landing.crm / "doctors.csv").write_bytes(os.urandom(200_000))
    con = landing.load(tmp_path)
    assert count(con, "clinics") == landing.lines["clinics"], "the other file loads whole"
    assert quarantined(con, "source_file like '%doctors.csv'"), "the junk file says why"


def test_a_10_mb_line(tmp_path, landing):
    insert_line(landing.crm / "clinics.csv", b"C999999," + b"x" * (10 << 20))
    con = landing.load(tmp_path)
    assert count(con, "clinics") == landing.lines["clinics"]
    [(_, row, reason)] = quarantined(con, "source_file like '%clinics.csv'")
    assert row == 3 and "malformed CSV line" in reason
    raw = con.execute("select max(length(raw_line)) from audit.quarantine").fetchone()[0]
    assert raw <= 10_000, "the raw text kept is bounded"


def test_a_million_column_header(tmp_path, landing):
    path = landing.crm / "doctors.csv"
    rows = path.read_bytes().split(b"\n", 1)[1]
    path.write_bytes(b",".join(b"c%d" % i for i in range(1_000_000)) + b"\n" + rows)
    con = landing.load(tmp_path)
    [(_, row, reason)] = quarantined(con, "source_file like '%doctors.csv'")
    assert row is None and "header" in reason
    assert count(con, "clinics") == landing.lines["clinics"]


def test_mixed_and_wrong_encodings(tmp_path, landing, tiny_landing):
    insert_line(landing.crm / "clinics.csv", "C999998,北京某诊所,X,北京".encode("gbk"))
    insert_line(landing.crm / "doctors.csv", b"D9999999,C000001,\xa4\xa4\xff,x", at=5)
    registry = landing.root / "registry" / "dt=2026-11-20"
    shutil.copytree(_clean(tiny_landing[0], "registry", "institutions.csv"), registry)
    gbk_rows = count(landing.load(tmp_path, "registry", count=False), "institutions")
    insert_line(registry / "institutions.csv", "PDY0000000,医美,上海,地址".encode() + b"\xff")
    con = landing.load(tmp_path, "clinics", "registry")
    assert count(con, "clinics") == landing.lines["clinics"]
    assert count(con, "doctors") == landing.lines["doctors"]
    assert count(con, "institutions") == gbk_rows
    reasons = [r for _, _, r in quarantined(con, "row_number is not null")]
    assert len(reasons) == 3 and all("malformed CSV line" in r for r in reasons), reasons


def test_deeply_nested_and_huge_json(tmp_path, landing):
    path = landing.reviews / "part-0000.jsonl"
    insert_line(path, b'{"review_id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", at=1)
    insert_line(path, b'{"review_id": "R1", "text": "' + b"y" * (20 << 20) + b'"}', at=2)
    insert_line(path, b"{" * 50_000, at=3)
    con = landing.load(tmp_path, "reviews")
    assert count(con, "reviews") == landing.lines["reviews"]
    rows = {row for _, row, _ in quarantined(con, "table_name = 'reviews'")}
    assert rows == {2, 3, 4}, "each hostile line is one quarantined row"


def test_nul_bytes(tmp_path, landing):
    lines = (landing.crm / "clinics.csv").read_bytes().split(b"\n")
    insert_line(landing.crm / "clinics.csv", lines[2].replace(b",", b"\0,", 1), at=1)
    insert_line(landing.reviews / "part-0000.jsonl", b'{"review_id": "R\0"}', at=1)
    con = landing.load(tmp_path)
    assert count(con, "clinics") == landing.lines["clinics"]
    assert count(con, "reviews") == landing.lines["reviews"]
    reasons = [r for _, _, r in quarantined(con)]
    assert any("NUL" in r for r in reasons), reasons
    assert len(reasons) == 2


def test_formula_and_sql_text_load_as_plain_text(tmp_path, landing):
    path = landing.crm / "clinics.csv"
    header, first, *rest = path.read_text(encoding="utf-8").split("\n")
    fields = first.split(",")
    names = header.split(",")
    hostile = {
        "name": "=cmd|' /C calc'!A0",
        "district": "'); drop table raw.clinics; --",
        "address": '" or 1=1 --',
    }
    for column, text in hostile.items():
        fields[names.index(column)] = '"' + text.replace('"', '""') + '"'
    path.write_text("\n".join([header, ",".join(fields), *rest]), encoding="utf-8")
    con = landing.load(tmp_path)
    assert count(con, "clinics") == landing.lines["clinics"], "text is text: the row is valid"
    row = con.execute(
        "select name, district, address from raw.clinics where clinic_id = ?", [fields[0]]
    ).fetchone()
    assert row == tuple(hostile.values())


def test_odd_file_and_folder_names(tmp_path, landing, tiny_landing):
    orders = next(
        p
        for p in sorted((tiny_landing[0] / "orders").glob("dt=*"))
        if (p / "_SUCCESS").exists() and (p / "part-0000.parquet").exists()
    )
    part = orders / "part-0000.parquet"
    rows = pl.read_parquet(part).height
    target = landing.root / "orders" / "dt=2026-11-20"
    target.mkdir(parents=True)
    (target / "_SUCCESS").touch()
    for name in ["part-0001 copy.parquet", "part-医美.parquet", "part-..0002.parquet"]:
        shutil.copy(part, target / name)
    for name in ["part-00\n03.parquet", "part-[4].parquet"]:
        shutil.copy(part, target / name)
    for folder in ["dt=2026-11-21 ", "dt=2026-11-22\n", "dt=..", "dt=..%2f"]:
        odd = landing.root / "orders" / folder
        odd.mkdir(exist_ok=True)
        shutil.copy(part, odd / "part-0000.parquet")
        (odd / "_SUCCESS").touch()
    con = landing.load(tmp_path, "clinics", "orders")
    loaded = dict(
        con.execute("select _source_file, count(*) from raw.orders group by 1").fetchall()
    )
    assert {Path(f).name for f in loaded} == {
        "part-0001 copy.parquet",
        "part-医美.parquet",
        "part-..0002.parquet",
    }
    assert sum(loaded.values()) <= 3 * rows  # unresolvable orders may be quarantined
    refused = {Path(f).name: r for f, _, r in quarantined(con, "row_number is null")}
    assert set(refused) == {"part-00\n03.parquet", "part-[4].parquet"}
    assert all("glob or control characters" in r for r in refused.values())


def test_links_out_of_the_landing_zone_are_never_read(tmp_path, landing, tiny_landing):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    secret = outside / "clinics.csv"
    shutil.copy(landing.crm / "clinics.csv", secret)
    linked_file = landing.root / "clinics" / "dt=2026-11-21"
    linked_file.mkdir()
    (linked_file / "_SUCCESS").touch()
    (linked_file / "clinics.csv").symlink_to(secret)
    (landing.root / "clinics" / "dt=2026-11-22").symlink_to(outside, target_is_directory=True)
    (outside / "_SUCCESS").touch()
    inside = landing.root / "clinics" / "dt=2026-11-23"
    inside.mkdir()
    (inside / "_SUCCESS").touch()
    (inside / "clinics.csv").symlink_to(landing.crm / "clinics.csv")  # within the root: fine
    con = landing.load(tmp_path, "clinics")
    by_dt = dict(
        con.execute("select _dt::varchar, count(*) from raw.clinics group by 1").fetchall()
    )
    assert by_dt == {"2026-11-20": landing.lines["clinics"], "2026-11-23": landing.lines["clinics"]}
    refused = quarantined(con, "reason like '%outside the landing root%'")
    assert {Path(f).parent.name for f, _, _ in refused} >= {"dt=2026-11-21"}
    assert not con.execute(
        "select count(*) from audit.load_audit where checksum is not null "
        "and source_file like 'clinics/dt=2026-11-21/%'"
    ).fetchone()[0], "the linked file was never opened, not even to checksum it"


# ---- properties ---------------------------------------------------------------------------

junk_text = st.text(
    alphabet=st.characters(blacklist_characters='"\n\r', blacklist_categories=("Cs",)),
    min_size=1,
    max_size=300,
).filter(lambda s: s.strip(" \t\x0b\x0c") != "")


def _junk_costs_only_itself(root: Path, source: Path, feed: str, junk: list[str], at: int):
    landing = Landing(root, source)
    table, path = (
        ("clinics", landing.crm / "clinics.csv")
        if feed == "clinics"
        else ("reviews", landing.reviews / "part-0000.jsonl")
    )
    for line in junk:
        insert_line(path, line.encode("utf-8"), at=at)
    con = landing.load(root, feed)
    assert count(con, table) == landing.lines[table], "every valid row still loads"
    assert len(quarantined(con, f"table_name = '{table}'")) == len(junk), "one row a junk line"
    if feed == "clinics":
        assert count(con, "doctors") == landing.lines["doctors"]


@HYPOTHESIS
@given(junk=st.lists(junk_text, min_size=1, max_size=4), at=st.integers(1, 6))
def test_junk_csv_lines_cost_only_themselves(tmp_path_factory, tiny_landing, junk, at):
    _junk_costs_only_itself(tmp_path_factory.mktemp("junk"), tiny_landing[0], "clinics", junk, at)


@HYPOTHESIS
@given(junk=st.lists(junk_text, min_size=1, max_size=4), at=st.integers(1, 6))
def test_junk_json_lines_cost_only_themselves(tmp_path_factory, tiny_landing, junk, at):
    _junk_costs_only_itself(tmp_path_factory.mktemp("junk"), tiny_landing[0], "reviews", junk, at)


@HYPOTHESIS
@given(data=st.binary(min_size=0, max_size=5000))
def test_any_bytes_as_a_file_end_in_quarantine_or_load(tmp_path_factory, tiny_landing, data):
    root = tmp_path_factory.mktemp("bytes")
    landing = Landing(root, tiny_landing[0])
    (landing.crm / "doctors.csv").write_bytes(data)
    (landing.reviews / "part-0001.jsonl").write_bytes(data)
    con = landing.load(root)
    assert count(con, "clinics") == landing.lines["clinics"]
    assert count(con, "reviews") >= landing.lines["reviews"]
    statuses = con.execute(
        "select file_status, file_reason from audit.load_audit "
        "where source_file like '%doctors.csv' or source_file like '%part-0001.jsonl'"
    ).fetchall()
    assert len(statuses) == 2
    assert all(s in ("loaded", "partly_quarantined") or r for s, r in statuses), statuses
