"""Feeds load two at a time (``loader.load_feeds``), each after the feeds it is resolved
against; a failure stops what has not started. The loads are the real ones, on a
connection each; what the concurrent load wrote is judged in test_loader.py (its first
load is one)."""

from __future__ import annotations

import threading
import time

import pytest

from ingestion.contract import FEEDS
from ingestion.duck import connect
from ingestion.loader import load_feed, load_feeds
from tests.conftest import TEST_PII_KEY

ORDER = ("clinics", "registry", "orders", "reviews")


def _loader(landing, path, before=None):
    """A real load of each feed on a connection of its own, with its start and end."""
    spans: dict[str, list[float]] = {}

    def load(con, feed):
        spans[feed] = [time.monotonic(), 0.0]
        if before:
            before(feed)
        result = load_feed(con, str(landing), feed, TEST_PII_KEY.encode(), "run-1")
        spans[feed][1] = time.monotonic()
        return result

    return load, spans


def test_two_feeds_load_at_once_and_the_orders_after_the_crm(tmp_path, tiny_landing):
    path = tmp_path / "warehouse.duckdb"
    # The first two feeds meet here: if they did not load at the same time, neither passes.
    both_started = threading.Barrier(2, timeout=60)
    load, spans = _loader(
        tiny_landing[0], path, lambda feed: feed in ORDER[:2] and both_started.wait()
    )
    results = list(load_feeds(lambda: connect(path), ORDER, load))
    assert sorted(r.feed for r in results) == sorted(ORDER)
    assert spans["orders"][0] >= spans["clinics"][1], "orders resolve against the loaded CRM"
    con = connect(path)
    try:
        assert con.execute("select count(*) from raw.orders").fetchone()[0] > 0
        unresolved = con.execute(
            "select count(*) from audit.quarantine where reason like '%unresolvable clinic_id%'"
        ).fetchone()[0]
        delivered_clinics = con.execute("select count(*) from raw.clinics").fetchone()[0]
        assert delivered_clinics > 0 and unresolved < 50, "orders found the CRM in place"
    finally:
        con.close()


def test_a_failed_feed_stops_what_had_not_started(tmp_path, tiny_landing):
    path = tmp_path / "warehouse.duckdb"
    registry_started = threading.Event()

    def before(feed):
        if feed == "registry":
            registry_started.set()
        if feed == "clinics":
            registry_started.wait(60)
            raise RuntimeError("the CRM feed failed")

    load, spans = _loader(tiny_landing[0], path, before)
    yielded = []
    with pytest.raises(RuntimeError, match="the CRM feed failed"):
        for result in load_feeds(lambda: connect(path), ORDER, load):
            yielded.append(result.feed)
    assert yielded == ["registry"], "the feed loading beside the failure finishes and is told"
    assert set(spans) == {"clinics", "registry"}, "nothing starts after a failure"
    con = connect(path)
    try:
        counts = {
            c.table: con.execute(f"select count(*) from raw.{c.table}").fetchone()[0]
            for c in (*FEEDS["registry"], *FEEDS["orders"])
        }
    finally:
        con.close()
    assert counts["orders"] == 0 and counts["institutions"] > 0
