"""Ingestion on a generated landing zone: contract, quarantine, audit, PII, re-runs."""

from __future__ import annotations

import re

import pytest

from ingestion.contract import FEEDS
from ingestion.duck import connect
from ingestion.loader import load_feed
from tests.conftest import TEST_PII_KEY

PHONE = re.compile(r"(^|[^0-9])1[3-9][0-9]{9}([^0-9]|$)")
IPV4 = re.compile(r"(^|[^0-9.])([0-9]{1,3}\.){3}[0-9]{1,3}([^0-9.]|$)")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def load_all(con, landing, run_id):
    return {
        feed: load_feed(con, str(landing), feed, TEST_PII_KEY.encode(), run_id) for feed in FEEDS
    }


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, small_landing):
    landing, manifest = small_landing
    con = connect(tmp_path_factory.mktemp("wh") / "warehouse.duckdb")
    first = load_all(con, landing, "run-1")
    yield con, landing, manifest, first
    con.close()


def test_rows_land_as_the_manifest_expects(loaded):
    con, _, manifest, _ = loaded
    for table, expected in manifest["expected_rows"].items():
        actual = con.execute(f"select count(*) from raw.{table}").fetchone()[0]
        assert actual == expected, table


def test_every_bad_delivery_ends_as_expected(loaded):
    con, _, manifest, _ = loaded
    quarantined_rows = set(
        con.execute(
            "select source_file, row_number from audit.quarantine where row_number is not null"
        ).fetchall()
    )
    quarantined_files = dict(
        con.execute(
            "select source_file, reason from audit.quarantine where row_number is null"
        ).fetchall()
    )
    loaded_files = set(
        r[0] for r in con.execute("select distinct _source_file from raw.orders").fetchall()
    )
    audited_partitions = set(
        f"{feed}/dt={dt}"
        for feed, dt in con.execute("select feed, dt from audit.partition_loads").fetchall()
    )
    kinds = set()
    for bad in manifest["bad_deliveries"]:
        kinds.add(bad["kind"])
        expect = bad["expect"]
        if expect == "quarantine_row":
            assert (bad["file"], bad["row_number"]) in quarantined_rows, bad
        elif expect == "quarantine_file":
            assert bad["file"] in quarantined_files, bad
            assert quarantined_files[bad["file"]], "a file-level quarantine row says why"
        elif expect == "skip_partition":
            partition = bad.get("partition") or "/".join(bad["file"].split("/")[:2])
            assert partition not in audited_partitions, bad
        elif expect == "load" and bad["feed"] == "orders":
            assert bad["file"] in loaded_files, bad
    # the generator injects every kind of bad delivery that feeds.md lists
    assert {"truncated_parquet", "broken_json_line", "renamed_column", "empty_file"} <= kinds


def test_quarantine_says_why_and_audit_adds_up(loaded):
    con, _, _, _ = loaded
    assert (
        con.execute(
            "select count(*) from audit.quarantine where reason is null or reason = ''"
        ).fetchone()[0]
        == 0
    )
    mismatched = con.execute(
        "select source_file from audit.load_audit "
        "where file_status <> 'quarantined' and rows_read <> rows_loaded + rows_quarantined"
    ).fetchall()
    assert mismatched == []
    for table in ("orders", "reviews", "clinics"):
        audited = con.execute(
            "select coalesce(sum(rows_loaded), 0) from audit.load_audit where table_name = ?",
            [table],
        ).fetchone()[0]
        assert audited == con.execute(f"select count(*) from raw.{table}").fetchone()[0]


def test_no_clear_text_personal_data_anywhere(loaded):
    con, _, _, _ = loaded
    columns = con.execute(
        "select schema_name, table_name, column_name from duckdb_columns() "
        "where data_type = 'VARCHAR' and database_name = current_database()"
    ).fetchall()
    assert columns
    for schema, table, column in columns:
        values = con.execute(f'select distinct "{column}" from {schema}.{table}').fetchall()
        for (value,) in values:
            if value is None:
                continue
            assert not PHONE.search(value), (schema, table, column, value[:60])
            assert not IPV4.search(value), (schema, table, column, value[:60])
            assert not UUID.search(value), (schema, table, column, value[:60])
    hashes = con.execute("select buyer_phone_hash from raw.orders limit 5").fetchall()
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for (h,) in hashes)


def test_reload_is_a_no_op(loaded):
    con, landing, _, _ = loaded
    before = {
        t: con.execute(f"select count(*) from raw.{t}").fetchone()[0]
        for tables in FEEDS.values()
        for t in (c.table for c in tables)
    }
    quarantine_before = con.execute("select count(*) from audit.quarantine").fetchone()[0]
    again = load_all(con, landing, "run-2")
    assert all(not r.partitions_loaded and not r.partitions_replaced for r in again.values())
    after = {t: con.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in before}
    assert after == before
    assert con.execute("select count(*) from audit.quarantine").fetchone()[0] == quarantine_before
