"""The endpoint follows every publish: a reader sees one version at a time, and an endpoint
that was unreachable is caught up by the next run. Readers of the endpoint and of
``serving.duckdb`` racing five daily publishes: tests/reliability/test_concurrent_readers.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import psycopg
import pytest

from serving.endpoint import read_status, serving_version
from serving.postgres import publish_to_postgres, published_version
from tests.conftest import AS_OF, TEST_PII_KEY, run_yimei
from tests.serving.conftest import VERSION, serving_version_pair

pytestmark = [pytest.mark.pipeline, pytest.mark.server]

# one statement reading both published schemas: a mixed version would show a pair of counts
# that no version has
BOTH_SCHEMAS = (
    "select (select count(*) from marts.market_monthly), (select count(*) from governance.findings)"
)


def _variant(endpoint, tmp_path, drop: int):
    """A copy of serving.duckdb with `drop` rows fewer in a mart and in the findings."""
    path = tmp_path / f"serving-{drop}.duckdb"
    shutil.copyfile(endpoint.data_dir / "serving.duckdb", path)
    con = duckdb.connect(str(path))
    try:
        for table, key in (("marts.market_monthly", "month"), ("governance.findings", "entity_id")):
            con.execute(
                f"delete from {table} where rowid in "
                f"(select rowid from {table} order by {key}, rowid limit {drop})"
            )
        pair = con.execute(BOTH_SCHEMAS).fetchone()
    finally:
        con.close()
    return path, pair


def test_a_long_running_reader_finishes_on_its_version_before_the_swap(endpoint, tmp_path):
    """A report query that started before a publish reads the version it started on to the
    end: the swap waits for it (within its budget), then the new version is served whole."""
    path, pair = _variant(endpoint, tmp_path, 5)
    with psycopg.connect(endpoint.reader_url) as pg:
        before = pg.execute(BOTH_SCHEMAS).fetchone()
    result = {}

    def long_query() -> None:  # a heavy report query: it holds the live tables for 6 s
        with psycopg.connect(endpoint.reader_url, autocommit=True) as pg:
            result["pair"] = pg.execute(
                f"select * from ({BOTH_SCHEMAS}) as counts, pg_sleep(6)"
            ).fetchone()[:2]
            result["ended"] = time.monotonic()

    reader = threading.Thread(target=long_query)
    reader.start()
    with psycopg.connect(endpoint.owner_url, autocommit=True) as pg:
        deadline = time.monotonic() + 60
        while not pg.execute(  # until the report query runs
            "select count(*) from pg_stat_activity where state = 'active' "
            "and query like '%pg_sleep(6)%' and pid <> pg_backend_pid()"
        ).fetchone()[0]:
            assert time.monotonic() < deadline, "the report query never started"
            time.sleep(0.05)
    done = publish_to_postgres(path, endpoint.owner_url, "long-reader", "yimei_reader")
    published = time.monotonic()
    reader.join(timeout=60)
    assert result["pair"] == before, "the reader finished on the version it started with"
    assert published >= result["ended"], "the swap waited for the reader"
    assert not done.old_schemas_left
    with psycopg.connect(endpoint.reader_url) as pg:
        assert pg.execute(BOTH_SCHEMAS).fetchone() == pair
    with psycopg.connect(endpoint.owner_url) as pg:
        schemas = pg.execute("select nspname from pg_namespace where nspname like '%\\_\\_%'")
        assert not schemas.fetchall(), "no old or next schema is left"


MARKET = "select count(*), sum(gmv) from marts.market_monthly"


def _wait_until_loaded(owner_url: str, timeout: float = 120) -> None:
    """Until a publish has loaded the next version beside the live one (it then swaps)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(owner_url, autocommit=True) as pg:
        while time.monotonic() < deadline:
            loaded = pg.execute(
                "select count(*) from pg_description d join pg_class c on c.oid = d.objoid "
                "join pg_namespace n on n.oid = c.relnamespace "
                "where n.nspname = 'marts__next' and d.objsubid = 0"
            ).fetchone()[0]
            if loaded:
                return
            time.sleep(0.1)
    raise AssertionError("no publish loaded the next version in time")


# Cost: about 55 s (a rebuild, then two runs with nothing new that publish only to
# PostgreSQL). Needed: the catch-up and the transaction held across it are real publishes.
def test_an_endpoint_left_behind_is_caught_up_while_a_transaction_keeps_its_version(endpoint):
    """An unreachable endpoint is reported behind and caught up by the next run. A REPEATABLE
    READ transaction (a reporting tool, pg_dump) that has read the published tables reads the
    same version, never an empty table, while those runs publish: the swap waits for it, or,
    past its budget, leaves the endpoint behind for the next run."""
    closed = "postgresql://yimei_owner:x@127.0.0.1:9/yimei"  # nothing listens on port 9
    before = (endpoint.data_dir / "serving.duckdb").stat().st_mtime
    run = run_yimei(
        "run", "--rebuild", "--as-of", AS_OF.isoformat(),
        env={**endpoint.env, "YIMEI_SERVING_PG_URL": closed},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]
    assert (endpoint.data_dir / "serving.duckdb").stat().st_mtime > before  # published anyway
    assert "PostgreSQL:   BEHIND" in run.stdout
    status = read_status(endpoint.data_dir)
    assert status.behind and status.serving_version

    env = {**endpoint.env, "YIMEI_SERVING_PG_URL": endpoint.owner_url}
    with (
        psycopg.connect(endpoint.reader_url) as reader,
        psycopg.connect(endpoint.reader_url) as idle,
    ):
        reader.execute("begin isolation level repeatable read")
        first = reader.execute(MARKET).fetchone(), reader.execute(VERSION).fetchone()
        assert first[0][0] > 0
        # a second one has its snapshot but has read no published table: it holds no lock
        idle.execute("begin isolation level repeatable read")
        idle.execute("select 1")

        # the endpoint is back, but the transaction outlasts the swap's budget: the publish
        # gives up and the old version stays served, whole
        short = run_yimei(
            "run", "--as-of", AS_OF.isoformat(), env={**env, "YIMEI_PG_SWAP_WAIT_S": "3"}
        )
        assert short.returncode == 0, short.stdout[-3000:] + short.stderr[-3000:]
        assert "PostgreSQL:   BEHIND" in short.stdout and "still read" in short.stdout
        assert (reader.execute(MARKET).fetchone(), reader.execute(VERSION).fetchone()) == first

        # the default budget: the next run waits while the transaction goes on reading
        catch_up = subprocess.Popen(
            [str(Path(sys.executable).with_name("yimei")), "run", "--as-of", AS_OF.isoformat()],
            env={**env, "YIMEI_PII_KEY": TEST_PII_KEY},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        _wait_until_loaded(endpoint.owner_url)
        privileges = reader.execute(
            "select has_schema_privilege('marts__next', 'usage'), "
            "has_schema_privilege('governance__next', 'usage')"
        ).fetchone()
        assert privileges == (False, False), "the next version is not the reader's yet"
        for _ in range(12):  # 6 s: longer than the old swap's wait for a lock
            time.sleep(0.5)
            assert (reader.execute(MARKET).fetchone(), reader.execute(VERSION).fetchone()) == first
        assert catch_up.poll() is None, "the publish waits for the transaction"
        reader.execute("commit")
        time.sleep(2)  # ten of the swap's attempts: it would have swapped by now, were it free
        # its first read after all that: the version of its snapshot, not an empty table
        assert idle.execute(MARKET).fetchone() == first[0]
        assert catch_up.poll() is None, "the publish waits for the snapshot too"
        idle.execute("commit")
        output, _ = catch_up.communicate(timeout=300)
    assert catch_up.returncode == 0, output[-3000:]
    assert "PostgreSQL:   current" in output, output[-2000:]
    version = serving_version(endpoint.data_dir / "warehouse.duckdb")
    assert published_version(endpoint.owner_url) == version == status.serving_version
    with psycopg.connect(endpoint.reader_url) as pg:  # a new session sees the new version
        served = pg.execute(VERSION).fetchone()
    assert served == serving_version_pair(endpoint.data_dir / "serving.duckdb")
