"""quality/facts.py: the values the engine pre-selects for GOV-10 are exactly those in which
Python's ``re`` (Great Expectations' pandas engine) finds a personal-data pattern."""

from __future__ import annotations

import re

import duckdb

from quality.facts import MATCHING_TEXT_COLUMNS, DuckDBFacts
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


def test_the_engine_selects_the_values_pythons_re_finds(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema marts")
    con.execute("create table marts.t (id integer, district varchar, note varchar)")
    con.executemany(
        "insert into marts.t values (?, ?, ?)",
        [(n, value, "—" if n % 2 else value) for n, value in enumerate(VALUES)],
    )
    patterns = list(PERSONAL_DATA_PATTERNS.values())
    frames = DuckDBFacts(con).matching_text({"marts.t": ["district", "note"]}, patterns)
    selected = sorted(
        tuple(row) for frame in frames for row in frame.itertuples(index=False, name=None)
    )
    found = [v for v in VALUES if v is not None and any(re.search(p, v) for p in patterns)]
    expected = sorted(
        [("marts.t", "district", v) for v in found]
        + [("marts.t", "note", v) for n, v in enumerate(VALUES) if v in found and not n % 2]
    )
    assert selected == expected
    assert len(found) == 5  # three mobile numbers, the IP address, the device id


def test_tables_without_a_match_still_give_one_frame_to_validate(tmp_path):
    """GOV-10's result for clean tables is an empty frame validated (the Data Docs list it)."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema marts")
    con.execute("create table marts.t as select '成都市武侯区' as district")
    con.execute("create table marts.u as select 1 as n")
    patterns = list(PERSONAL_DATA_PATTERNS.values())
    for text_columns in ({"marts.t": ["district"], "marts.u": []}, {}):
        frames = list(DuckDBFacts(con).matching_text(text_columns, patterns))
        assert [tuple(frame.columns) for frame in frames] == [MATCHING_TEXT_COLUMNS]
        assert len(frames[0]) == 0


def test_the_rows_the_engine_hands_gx_hold_every_entity_finding(tmp_path):
    """The entity rules: GX given only the rows DuckDB selects (a value, not null, outside an
    expectation's set) finds the same failing entities, with their reasons, as GX given every
    row; nulls, which GX leaves out, are not selected."""
    from quality.runner import ENTITY_TARGETS, Validator

    target = next(t for t in ENTITY_TARGETS if t.table.endswith("int_review_verification"))
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema intermediate")
    con.execute(
        f"""
        create table {target.table} as
        select 'R' || i as review_id, 'C' || (i % 3) as clinic_id,
               ([true, false, null])[1 + i % 3] as review_verified,
               ([true, false, null])[1 + (i // 3) % 3] as manipulation_flagged,
               'verification ' || i as verification_reason,
               'manipulation ' || i as manipulation_reason
        from range(27) t(i)
        """
    )
    index = [target.entity_column, target.clinic_column, *target.reason_columns()]
    validator = Validator()

    def failing(frames) -> dict:
        found = {}
        for frame in frames:
            result = validator.validate("reviews", frame, target.suite, index)
            for item in result.results:
                rule = item.expectation_config.meta["rule_id"]
                for row in item.result.get("unexpected_index_list") or []:
                    reason = item.expectation_config.meta["reason_column"]
                    found[rule, row["review_id"]] = row[reason]
        return found

    facts = DuckDBFacts(con)
    every_row = failing(facts.frames(target.table, target.columns()))
    selected_frames = list(
        facts.frames(target.table, target.columns(), outside=target.value_sets())
    )
    assert failing(selected_frames) == every_row
    # GOV-06 fails 9 reviews (verified false), GOV-07 9 (flagged true); 15 reviews fail either
    assert sorted(rule for rule, _ in every_row) == ["GOV-06"] * 9 + ["GOV-07"] * 9
    assert sum(len(frame) for frame in selected_frames) == 15
