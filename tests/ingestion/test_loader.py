"""Ingestion on a generated landing zone: contract, quarantine, audit, PII, re-runs."""

from __future__ import annotations

import json
import re

import polars as pl
import pytest

from ingestion.contract import FEEDS
from ingestion.duck import connect
from ingestion.loader import load_feed
from tests.conftest import TEST_PII_KEY


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


def delivered_personal_values(landing) -> set[str]:
    """Every clear-text phone, IP and device id the landing zone delivered."""
    values: set[str] = set()
    for path in sorted(landing.glob("orders/dt=*/part-*")):
        try:
            frame = (
                pl.read_parquet(path, columns=["buyer_phone"])
                if path.suffix == ".parquet"
                else pl.read_csv(path, columns=["buyer_phone"], infer_schema=False)
            )
        except Exception:  # a truncated or renamed-column delivery: quarantined whole
            continue
        values.update(v for v in frame["buyer_phone"].cast(pl.Utf8) if v)
    for path in sorted(landing.glob("reviews/dt=*/part-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            values.update(str(record[k]) for k in ("ip", "device_id") if record.get(k))
    return values


def test_no_clear_text_personal_data_anywhere(loaded):
    """Scan every text column of the warehouse for every delivered phone, IP and device id."""
    con, landing, _, _ = loaded
    clear = delivered_personal_values(landing)
    assert len(clear) > 1000
    con.execute("create or replace temp table _clear (value varchar)")
    con.executemany("insert into _clear values (?)", [[v] for v in sorted(clear)])
    columns = con.execute(
        "select schema_name, table_name, column_name from duckdb_columns() "
        "where data_type = 'VARCHAR' and database_name = current_database() "
        "and not internal and schema_name <> 'temp'"
    ).fetchall()
    assert len(columns) > 20
    for schema, table, column in columns:
        leaked = con.execute(
            f'select d.v, c.value from (select distinct "{column}" as v from {schema}.{table}) d '
            "join _clear c on contains(d.v, c.value) limit 1"
        ).fetchall()
        assert not leaked, (schema, table, column, leaked)
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
