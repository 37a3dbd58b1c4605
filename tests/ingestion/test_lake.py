"""Ingestion into the lake (the Spark engine): the same rows as ``raw``, Parquet by ``dt``."""

from __future__ import annotations

import shutil
import time
from datetime import date

import pytest

from ingestion import faults
from ingestion.contract import FEEDS
from ingestion.duck import connect
from ingestion.lake import export_audit, partition_dir, raw_relation, table_dir
from ingestion.loader import load_feed
from tests.conftest import TEST_PII_KEY

# load bookkeeping: which run, and when, differ between two loads of the same files
PER_LOAD = ("_run_id", "_loaded_at")
KEY = TEST_PII_KEY.encode()


def load_all(con, landing, run_id, lake_dir=None):
    return {
        feed: load_feed(con, str(landing), feed, TEST_PII_KEY.encode(), run_id, lake_dir=lake_dir)
        for feed in FEEDS
    }


@pytest.fixture(scope="module")
def lake(tmp_path_factory, small_landing):
    landing, manifest = small_landing
    root = tmp_path_factory.mktemp("lake_engine")
    lake_dir = root / "lake"
    con = connect(root / "warehouse.duckdb")
    results = load_all(con, landing, "run-lake", lake_dir)
    # the same landing zone into DuckDB's raw tables, to compare with
    duck = connect(root / "duck.duckdb")
    load_all(duck, landing, "run-duck")
    yield {
        "con": con,
        "duck": duck,
        "lake_dir": lake_dir,
        "landing": landing,
        "manifest": manifest,
        "results": results,
    }
    con.close()
    duck.close()


def _rows(con, relation: str, table: str):
    columns = [
        name
        for (name,) in con.execute(
            "select column_name from duckdb_columns() where schema_name = 'raw' "
            "and table_name = ? order by column_index",
            [table],
        ).fetchall()
        if name not in PER_LOAD
    ]
    listed = ", ".join(f'"{c}"' for c in columns)
    return sorted(con.execute(f"select {listed} from {relation}").fetchall(), key=repr)


def test_the_lake_holds_the_rows_raw_would_hold(lake):
    con, duck, lake_dir = lake["con"], lake["duck"], lake["lake_dir"]
    for contract in (c for tables in FEEDS.values() for c in tables):
        table = contract.table
        expected = _rows(duck, f"raw.{table}", table)
        relation = raw_relation(lake_dir, table)
        assert relation is not None, f"{table}: nothing in the lake"
        assert _rows(con, relation, table) == expected, table
        # nothing went to the warehouse's own raw tables
        assert con.execute(f"select count(*) from raw.{table}").fetchone()[0] == 0


def test_each_delivery_is_one_dt_folder_and_quarantine_stays_in_the_audit(lake):
    con, lake_dir = lake["con"], lake["lake_dir"]
    loaded = con.execute(
        "select feed, dt, rows_loaded from audit.partition_loads where rows_loaded > 0"
    ).fetchall()
    assert loaded
    for feed, dt, _ in loaded:
        folders = [partition_dir(lake_dir, c.table, dt) for c in FEEDS[feed]]
        assert any(any(f.glob("*.parquet")) for f in folders), (feed, dt)
    assert not list((lake_dir / "raw").glob(".staging-*")), "staging folders left behind"
    assert con.execute("select count(*) from audit.quarantine").fetchone()[0] > 0
    # Spark reads dt from the folder names; the files hold every raw column, _dt included
    orders = table_dir(lake_dir, "orders")
    assert all(f.name.startswith("dt=") for f in orders.iterdir())


def test_a_resent_partition_replaces_its_folder_and_a_crash_leaves_the_lake_as_it_was(
    tmp_path, small_landing, monkeypatch
):
    landing = tmp_path / "landing"
    shutil.copytree(small_landing[0], landing)
    lake_dir = tmp_path / "lake"
    con = connect(tmp_path / "warehouse.duckdb")
    try:
        load_all(con, landing, "run-1", lake_dir)
        partition = sorted((landing / "reviews").glob("dt=*/_SUCCESS"))[-2].parent
        dt = date.fromisoformat(partition.name[3:])
        live = partition_dir(lake_dir, "reviews", dt)
        before = sorted(f.name for f in live.glob("*.parquet"))
        assert before and _count(con, lake_dir, dt) > 0

        # re-sent with half its lines: a changed file and a new _SUCCESS
        part = partition / "part-0000.jsonl"
        lines = part.read_text(encoding="utf-8").splitlines()
        kept = lines[: len(lines) // 2]
        time.sleep(0.01)
        part.write_text("\n".join(kept) + "\n", encoding="utf-8")
        (partition / "_SUCCESS").write_bytes(b"")
        rows_before = _count(con, lake_dir, dt)

        monkeypatch.setenv("YIMEI_FAULTS", "ingest:before_commit=raise")
        with pytest.raises(faults.InjectedFault):
            load_feed(con, str(landing), "reviews", KEY, "run-2", lake_dir=lake_dir)
        monkeypatch.delenv("YIMEI_FAULTS")
        assert sorted(f.name for f in live.glob("*.parquet")) == before
        assert _count(con, lake_dir, dt) == rows_before
        assert not list((lake_dir / "raw").glob(".staging-*"))

        result = load_feed(con, str(landing), "reviews", KEY, "run-3", lake_dir=lake_dir)
        assert result.partitions_replaced == [dt]
        assert _count(con, lake_dir, dt) == len(kept)
        run_ids = con.execute(
            f"select distinct _run_id from {raw_relation(lake_dir, 'reviews')} where _dt = ?",
            [dt],
        ).fetchall()
        assert run_ids == [("run-3",)]
    finally:
        con.close()


def _count(con, lake_dir, dt: date) -> int:
    relation = raw_relation(lake_dir, "reviews")
    return con.execute(f"select count(*) from {relation} where _dt = ?", [dt]).fetchone()[0]


def test_the_audit_is_exported_whole_for_spark(lake):
    con, lake_dir = lake["con"], lake["lake_dir"]
    export_audit(con, lake_dir)
    export_audit(con, lake_dir)  # again: replaced, not appended
    exported = con.execute(
        f"select count(*) from read_parquet('{lake_dir}/audit/partition_loads/*.parquet')"
    ).fetchone()[0]
    assert exported == con.execute("select count(*) from audit.partition_loads").fetchone()[0]
    assert [p.name for p in (lake_dir / "audit").iterdir()] == ["partition_loads"]
