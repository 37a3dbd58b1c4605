"""`yimei run` on a small generated landing zone, checked against the manifest."""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal

import duckdb
import pytest

from ingestion.contract import COMPLAINT_TYPES
from quality.published import PUBLISHED_TABLES
from quality.rules import LISTING_ACTIONS, LISTING_RULES, RULES

pytestmark = pytest.mark.pipeline


@pytest.fixture(scope="module")
def serving(published):
    result = published["result"]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    con = duckdb.connect(str(published["data_dir"] / "serving.duckdb"), read_only=True)
    yield con
    con.close()


def _section(out: str, heading: str) -> list[list[str]]:
    """The cells under a heading of the run's summary (columns of "name figure [(note)]")."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading)) + 1
    cells = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        cells += [m.split() for m in re.findall(r"\S+ +[\d,]+(?: \([\d,]+\))?", line)]
    return cells


def _number(text: str) -> int:
    return int(text.strip("()").replace(",", ""))


def test_run_prints_a_summary_of_what_it_wrote(published, serving):
    """Every figure of the summary is what the run wrote: rows loaded (the raw tables), rows
    and files quarantined (the quarantine, a row for each), in the ingest stage's line and
    by table, the rules' failing entities, the published tables and their rows."""
    out = published["result"].stdout
    con = duckdb.connect(str(published["data_dir"] / "warehouse.duckdb"), read_only=True)
    try:
        loaded = _section(out, "Rows loaded")
        assert {cell[0] for cell in loaded} == {
            t for (t,) in con.execute("select distinct table_name from audit.load_audit").fetchall()
        }
        quarantine = dict(
            con.execute("select table_name, count(*) from audit.quarantine group by 1").fetchall()
        )
        for table, rows, *quarantined in loaded:
            raw = con.execute(f"select count(*) from raw.{table}").fetchone()[0]
            assert _number(rows) == raw, table
            assert sum(map(_number, quarantined)) == quarantine.get(table, 0), table
        assert sum(quarantine.values()) > 0, "the sample's bad rows"
        files, rows, rows_quarantined, files_rejected = con.execute(
            "select count(*), sum(rows_loaded), sum(rows_quarantined), "
            "count(*) filter (where file_status = 'quarantined') from audit.load_audit"
        ).fetchone()
    finally:
        con.close()
    ingest = next(line for line in out.splitlines() if line.startswith("ingest "))
    assert (
        f"{files:,} files of 4 feeds: {rows:,} rows loaded, {rows_quarantined:,} rows "
        f"quarantined, {files_rejected:,} files rejected"
    ) in ingest
    assert files_rejected > 0, "the sample's bad files"

    printed_rules = {cell[0]: _number(cell[1]) for cell in _section(out, "Entities failing")}
    assert printed_rules == dict(
        serving.execute("select rule_id, entities_failing from governance.rule_results").fetchall()
    )
    assert sorted(printed_rules) == sorted(r.rule_id for r in RULES)

    published_rows = {cell[0]: _number(cell[1]) for cell in _section(out, "Published tables")}
    assert sorted(published_rows) == sorted(PUBLISHED_TABLES)
    for table, rows in published_rows.items():
        assert serving.execute(f"select count(*) from {table}").fetchone()[0] == rows, table
    assert f"Quality site: {published['data_dir'] / 'quality' / 'index.html'}" in out
    assert (published["data_dir"] / "quality" / "index.html").exists()


def test_every_published_table_is_present_and_non_empty(serving):
    tables = {
        f"{s}.{t}"
        for s, t in serving.execute(
            "select schema_name, table_name from duckdb_tables()"
        ).fetchall()
    }
    assert set(PUBLISHED_TABLES) <= tables
    for table in PUBLISHED_TABLES:
        assert serving.execute(f"select count(*) from {table}").fetchone()[0] > 0, table
    # nothing but marts and governance is published
    assert {t.split(".")[0] for t in tables} == {"marts", "governance"}


def test_findings_match_the_injected_violations(published, serving):
    manifest = published["manifest"]
    for rule_id, truth in sorted(manifest["violations"].items()):
        found = {
            r[0]
            for r in serving.execute(
                "select entity_id from governance.findings where rule_id = ?", [rule_id]
            ).fetchall()
        }
        assert truth["entity_ids"], f"{rule_id}: the generator injected nothing"
        assert found == set(truth["entity_ids"]), (
            rule_id,
            sorted(set(truth["entity_ids"]) - found)[:5],
            sorted(found - set(truth["entity_ids"]))[:5],
        )


def test_listing_actions_are_the_ones_the_manifest_implies(published, serving):
    """governance.md, "Listing actions": one row per clinic or doctor with an open listing
    finding, the strongest action of its rules, the owner of the strongest rule; the published
    sample has no waiver, so every such finding is open."""
    manifest = published["manifest"]
    expected = {}
    for rule in LISTING_RULES:  # the catalogue's order: GOV-01 first
        truth = manifest["violations"][rule.rule_id]
        for entity_id in truth["entity_ids"]:
            key = (truth["entity_type"], entity_id)
            strength = LISTING_ACTIONS.index(rule.listing_action)
            if key not in expected or strength < expected[key][0]:
                expected[key] = (strength, rule.listing_action, rule.owner, {rule.rule_id})
            else:
                expected[key][3].add(rule.rule_id)
    assert {a for _, a, _, _ in expected.values()} == set(LISTING_ACTIONS)
    rows = serving.execute(
        "select entity_type, entity_id, clinic_id, clinic_name, city, action, rules, owner, "
        "since from governance.listing_actions"
    ).fetchall()
    assert len(rows) == len(expected)
    scorecard = dict(
        serving.execute("select clinic_id, name from marts.clinic_scorecard").fetchall()
    )
    for entity_type, entity_id, clinic_id, name, city, action, rules, owner, since in rows:
        _, expected_action, expected_owner, rule_ids = expected[(entity_type, entity_id)]
        assert (action, owner) == (expected_action, expected_owner), (entity_id, rules)
        # each rule with its detail, in rule order
        assert [part.split(":")[0] for part in rules.split(" | ")] == sorted(rule_ids), rules
        assert name == scorecard[clinic_id] and city and since is not None
        if entity_type == "clinic":
            assert clinic_id == entity_id


def test_complaint_outcomes_match_the_manifest_truth(published, serving):
    """The scorecard's complaints per type, replied in time and resolved add up to what the
    generator delivered; every type occurs and some complaints are resolved."""
    truth = published["manifest"]["truth"]
    types = COMPLAINT_TYPES
    totals = serving.execute(
        "select sum(complaint_count), "
        + ", ".join(f"sum(complaints_{t})" for t in types)
        + ", sum(round(complaint_reply_rate * complaint_count)), "
        "sum(round(complaint_resolution_rate * complaint_count)) from marts.clinic_scorecard"
    ).fetchone()
    count, by_type, replied, resolved = totals[0], totals[1:-2], totals[-2], totals[-1]
    assert count == truth["complaints"] == sum(by_type)
    assert dict(zip(types, by_type, strict=True)) == {
        t: truth["complaints_by_type"].get(t, 0) for t in types
    }
    assert all(by_type) and 0 < resolved < count
    assert resolved == truth["complaints_resolved"]
    assert replied == truth["complaints_replied_in_time"]
    medians = serving.execute(
        "select count(*) from marts.clinic_scorecard where median_hours_to_resolve > 0"
    ).fetchone()[0]
    assert medians == serving.execute(
        "select count(*) from marts.clinic_scorecard where complaint_resolution_rate > 0"
    ).fetchone()[0]


def test_blocking_rules_passed_and_were_recorded(serving):
    results = dict(
        serving.execute(
            "select rule_id, passed from governance.rule_results where severity = 'blocking'"
        ).fetchall()
    )
    assert results == {"GOV-10": True, "GOV-11": True, "GOV-12": True, "GOV-13": True}


def test_market_monthly_matches_the_manifest_truth(published, serving):
    expected = {
        (row["month"], row["city"]): (row["orders"], row["buyers"], Decimal(row["gmv"]))
        for row in published["manifest"]["truth"]["market_monthly"]
    }
    actual = defaultdict(lambda: [0, 0, Decimal("0")])
    for month, city, orders, gmv in serving.execute(
        "select month, city, sum(orders), sum(gmv) from marts.market_monthly group by all"
    ).fetchall():
        actual[(month.isoformat(), city)] = [int(orders), None, Decimal(str(gmv))]
    assert set(actual) == set(expected)
    for key, (orders, _buyers, gmv) in expected.items():
        assert actual[key][0] == orders, key
        assert abs(actual[key][2] - gmv) < Decimal("0.01"), key


def test_persona_cells_are_never_small(serving):
    assert (
        serving.execute("select count(*) from marts.persona_segments where buyers < 10").fetchone()[
            0
        ]
        == 0
    )
