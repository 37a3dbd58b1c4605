"""A load killed with SIGKILL in the middle of its transaction leaves no partial partition."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

from ingestion.duck import connect
from ingestion.loader import load_feed
from tests.conftest import TEST_PII_KEY

# The child loads the orders feed for real and kills itself with SIGKILL right after
# the raw rows of its first chunk were inserted, before the audit rows and the
# commit: the worst moment, chosen exactly instead of by a timer.
CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from ingestion.duck import connect
    from ingestion.loader import load_feed

    class KillAfterRawInsert:
        def __init__(self, con):
            self._con = con
        def __getattr__(self, name):
            return getattr(self._con, name)
        def execute(self, sql, *args):
            result = self._con.execute(sql, *args)
            if "insert into audit.quarantine" in sql:
                os.kill(os.getpid(), signal.SIGKILL)
            return result

    warehouse, landing, key = sys.argv[1:4]
    con = connect(warehouse)
    for feed in ("clinics", "registry"):
        load_feed(con, landing, feed, key.encode(), "before-crash")
    load_feed(KillAfterRawInsert(con), landing, "orders", key.encode(), "crashing")
    """
)


def test_sigkill_mid_load_leaves_no_partial_partition(tmp_path, small_landing):
    landing, manifest = small_landing
    warehouse = tmp_path / "warehouse.duckdb"
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(warehouse), str(landing), TEST_PII_KEY],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]

    con = connect(warehouse)
    try:
        # The CRM loaded and committed before the crash; no orders row or audit row survived.
        assert con.execute("select count(*) from raw.clinics").fetchone()[0] > 0
        assert con.execute("select count(*) from raw.orders").fetchone()[0] == 0
        assert (
            con.execute(
                "select count(*) from audit.partition_loads where feed = 'orders'"
            ).fetchone()[0]
            == 0
        )
        assert (
            con.execute(
                "select count(*) from audit.load_audit where run_id = 'crashing'"
            ).fetchone()[0]
            == 0
        )
        # The next run completes the feed exactly.
        result = load_feed(con, str(landing), "orders", TEST_PII_KEY.encode(), "after-crash")
        assert result.partitions_loaded
        assert (
            con.execute("select count(*) from raw.orders").fetchone()[0]
            == manifest["expected_rows"]["orders"]
        )
        per_partition = con.execute(
            "select p.dt, p.rows_loaded, count(o._dt) from audit.partition_loads p "
            "left join raw.orders o on o._dt = p.dt where p.feed = 'orders' "
            "group by all having p.rows_loaded <> count(o._dt)"
        ).fetchall()
        assert per_partition == []
    finally:
        con.close()
