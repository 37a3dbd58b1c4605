"""quality/facts.py: the rows the engine pre-selects for GOV-10 are exactly those in which
Python's ``re`` (Great Expectations' pandas engine) finds a personal-data pattern."""

from __future__ import annotations

import re

import duckdb

from quality.facts import DuckDBFacts
from quality.suites import PERSONAL_DATA_PATTERNS

VALUES = [
    "咨询电话13912345678",
    "13912345678",
    "1391234567",  # ten digits: not a mobile number
    "139123456789",  # twelve: not one either
    "订单 A13912345678B",
    "12912345678",  # no mobile number starts 12
    "from 192.168.10.1 today",
    "v1.2.3.4.5",
    "1.2.3",
    "device 3f2504e0-4f89-11d3-9a0c-0305e82c3301",
    "3f2504e0-4f89-11d3-9a0c",
    "成都市武侯区",
    None,
]


def test_the_engine_selects_the_rows_pythons_re_finds(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema marts")
    con.execute("create table marts.t (id integer, district varchar, note varchar)")
    con.executemany(
        "insert into marts.t values (?, ?, ?)",
        [(n, value, "—" if n % 2 else value) for n, value in enumerate(VALUES)],
    )
    patterns = list(PERSONAL_DATA_PATTERNS.values())
    frames = DuckDBFacts(con).frames("marts.t", ["district", "note"], matching=patterns)
    selected = sorted(v for frame in frames for v in frame["district"].tolist())
    expected = sorted(
        v for v in VALUES if v is not None and any(re.search(p, v) for p in patterns)
    )
    assert selected == expected
    assert len(expected) == 5  # three mobile numbers, the IP address, the device id


def test_a_table_without_a_match_still_gives_one_frame_to_validate(tmp_path):
    """GOV-10's result for a clean table is an empty frame validated (the Data Docs list it)."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema marts")
    con.execute("create table marts.t as select '成都市武侯区' as district")
    patterns = list(PERSONAL_DATA_PATTERNS.values())
    frames = list(DuckDBFacts(con).frames("marts.t", ["district"], matching=patterns))
    assert [list(frame.columns) for frame in frames] == [["district"]]
    assert len(frames[0]) == 0
