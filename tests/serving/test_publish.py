"""Write-audit-publish: the serving file is swapped atomically; open readers keep reading."""

from __future__ import annotations

import duckdb

from quality.findings import create_governance_tables
from quality.outcomes import record_outcome
from quality.published import PUBLISHED_TABLES, published_descriptions
from serving.publish import publish


def _warehouse(path, value: int):
    con = duckdb.connect(str(path))
    create_governance_tables(con)  # as the governance step makes them
    for table in PUBLISHED_TABLES:
        schema = table.split(".")[0]
        if schema == "marts":
            con.execute(f"create schema if not exists {schema}")
            con.execute(f"create or replace table {table} as select {value} as v")
    con.execute("comment on table marts.market_monthly is 'GMV by month'")
    con.execute("comment on column marts.market_monthly.v is 'the value'")
    con.close()


def _rule_result(path, run_id: str) -> None:
    con = duckdb.connect(str(path))
    con.execute(
        "insert into governance.rule_results (run_id, rule_id, passed) values (?, 'GOV-10', true)",
        [run_id],
    )
    con.close()


def test_only_rule_results_of_decided_runs_are_published(tmp_path):
    """A run killed after its checks but before the gate decided (no outcome) is not shown
    as checked; the publishing run and the runs the gate decided are."""
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving.duckdb"
    _warehouse(warehouse, 1)
    for run_id in ("blocked", "killed", "current"):
        _rule_result(warehouse, run_id)
    con = duckdb.connect(str(warehouse))
    record_outcome(con, "blocked", "blocked")
    con.close()
    publish(warehouse, serving, "current")
    reader = duckdb.connect(str(serving), read_only=True)
    runs = {r for (r,) in reader.execute("select run_id from governance.rule_results").fetchall()}
    reader.close()
    assert runs == {"blocked", "current"}


def test_a_publish_removes_the_copy_a_killed_publish_left(tmp_path):
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving.duckdb"
    _warehouse(warehouse, 1)
    stale = tmp_path / ".serving.duckdb.killed-run.tmp"
    stale.write_bytes(b"half a database")
    publish(warehouse, serving, "run1")
    assert not stale.exists()


def test_publish_replaces_the_file_and_open_readers_keep_reading(tmp_path):
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving.duckdb"
    _warehouse(warehouse, 1)
    assert publish(warehouse, serving, "run1") == list(PUBLISHED_TABLES)
    reader = duckdb.connect(str(serving), read_only=True)
    assert reader.execute("select v from marts.market_monthly").fetchone() == (1,)
    _warehouse(warehouse, 2)
    publish(warehouse, serving, "run2")
    # the reader still sees the version it opened, without error
    assert reader.execute("select v from marts.market_monthly").fetchone() == (1,)
    reader.close()
    fresh = duckdb.connect(str(serving), read_only=True)
    assert fresh.execute("select v from marts.market_monthly").fetchone() == (2,)
    # the comment BI tools show is the dictionary's, Chinese first (quality/published.py)
    assert fresh.execute(
        "select comment from duckdb_tables() where table_name = 'market_monthly'"
    ).fetchone() == (published_descriptions()["marts.market_monthly"].comment,)
    # a column the dictionary does not describe keeps the warehouse's comment
    assert fresh.execute(
        "select comment from duckdb_columns() where table_name = 'market_monthly'"
    ).fetchone() == ("the value",)
    assert not list(tmp_path.glob(".serving*.tmp"))


def test_a_failed_publish_leaves_serving_unchanged(tmp_path):
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving.duckdb"
    _warehouse(warehouse, 1)
    publish(warehouse, serving, "run1")
    before = serving.read_bytes()
    con = duckdb.connect(str(warehouse))
    con.execute("drop table marts.channel_funnel")
    con.close()
    try:
        publish(warehouse, serving, "run2")
    except duckdb.Error:
        pass
    else:
        raise AssertionError("publishing an incomplete warehouse must fail")
    assert serving.read_bytes() == before
    assert not list(tmp_path.glob(".serving*.tmp"))
