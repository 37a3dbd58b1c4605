"""Publishing the checked version to PostgreSQL, the database every BI tool speaks.

Each publish loads every table of ``serving.duckdb`` into fresh schemas (``marts__next``,
``governance__next``), with every table and column comment and the reader's select (but not
yet the use of those schemas), then swaps them in, in one transaction that drops each live
schema and renames its successor in: a reader sees the old version or the new one, never a
mix and never a table its snapshot cannot read (``_swap``). The swap waits, within a budget
(``SWAP_WAIT_SECONDS``), for every transaction that could still read the old version; when
the budget runs out the publish fails, leaving the old version served whole, and the endpoint
is reported behind until the next run catches it up.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion.duck import load_extension, sql_literal
from quality.published import PUBLISHED_TABLES

SCHEMAS = tuple(sorted({table.split(".")[0] for table in PUBLISHED_TABLES}))
META_SCHEMA = "yimei_serving"  # which version is published; the owner's only
NEXT = "__next"
OLD = "__old_"  # schemas an earlier version of the swap renamed away: dropped when seen
SWAP_WAIT_SECONDS = 30.0
# One attempt at the swap's locks waits this long, then lets the readers queued behind it go
# before the next attempt: a swap waiting for a long transaction never stalls the others.
LOCK_ATTEMPT_MS = 500
RETRY_PAUSE_S = 0.2
DROP_LOCK_TIMEOUT = "2s"


class EndpointError(RuntimeError):
    """PostgreSQL is unreachable or refused the publish; serving.duckdb is unaffected."""


@dataclass(frozen=True)
class PostgresPublish:
    version: str
    tables: list[str]
    rows: int
    seconds: float
    old_schemas_left: list[str]  # left by an earlier version of the swap, still read


@contextmanager
def pg_connection(url: str) -> Iterator:
    import psycopg

    try:
        conn = psycopg.connect(url, connect_timeout=10, autocommit=True)
    except psycopg.OperationalError as error:
        raise EndpointError(f"PostgreSQL unreachable: {str(error).strip()}") from error
    try:
        yield conn
    finally:
        conn.close()


def published_version(url: str) -> str | None:
    """The version (run id) PostgreSQL serves now; None before the first publish."""
    with pg_connection(url) as conn:
        exists = conn.execute(
            "select 1 from pg_namespace where nspname = %s", [META_SCHEMA]
        ).fetchone()
        if not exists:
            return None
        row = conn.execute(
            f"select version from {META_SCHEMA}.versions order by published_at desc limit 1"
        ).fetchone()
    return row[0] if row else None


def publish_to_postgres(
    serving_path: Path,
    url: str,
    version: str,
    reader: str | None,
    swap_wait_seconds: float = SWAP_WAIT_SECONDS,
) -> PostgresPublish:
    """Load serving.duckdb into PostgreSQL and swap it in. Raises EndpointError, leaving
    the published version as it was, on any failure before the swap commits (readers that
    hold the old version past ``swap_wait_seconds`` included)."""
    import psycopg

    started = time.monotonic()
    with pg_connection(url) as conn:
        try:
            _prepare(conn)
            loaded = _load_next(serving_path, url)
            # a snapshot taken before this instant may not see the new tables' rows
            loaded_at = conn.execute("select clock_timestamp()").fetchone()[0]
            _describe_and_grant(conn, loaded, reader)
            _swap(conn, version, reader, loaded_at, swap_wait_seconds)
        except psycopg.Error as error:
            raise EndpointError(f"publishing to PostgreSQL failed: {error}") from error
        left = drop_old_schemas(conn, reader)
    return PostgresPublish(version, loaded.tables, loaded.rows, time.monotonic() - started, left)


def _prepare(conn) -> None:
    conn.execute(f"create schema if not exists {META_SCHEMA}")
    conn.execute(
        f"create table if not exists {META_SCHEMA}.versions "
        "(version text primary key, published_at timestamptz not null, tables integer)"
    )
    conn.execute(f"revoke all on schema {META_SCHEMA} from public")
    for schema in SCHEMAS:  # a publish that died before its swap left these behind
        conn.execute(f"drop schema if exists {schema}{NEXT} cascade")
        # the reader may use it only once it is the live schema (_rename): never half loaded
        conn.execute(f"create schema {schema}{NEXT}")


@dataclass(frozen=True)
class _Loaded:
    tables: list[str]
    rows: int
    table_comments: list[tuple]  # (schema, table, comment)
    column_comments: list[tuple]  # (schema, table, column, comment)


def _load_next(serving_path: Path, url: str) -> _Loaded:
    """Every published table into its __next schema, through DuckDB's postgres extension
    (binary COPY), and serving.duckdb's comments (dbt's descriptions) for them. Measured on
    L's serving.duckdb (646k rows): the whole publish 1.3 s; COPY through psycopg of Arrow
    batches as CSV, the load alone 3.1 s."""
    # an in-memory database: one attached read-only (serving) would make every attachment so
    con = duckdb.connect()
    try:
        load_extension(con, "postgres_scanner")
        con.execute(f"attach {sql_literal(str(serving_path))} as serving (read_only)")
        con.execute(f"attach {sql_literal(url)} as pg (type postgres)")
        rows = 0
        tables = []
        for table in PUBLISHED_TABLES:
            schema, name = table.split(".")
            con.execute(f"create table pg.{schema}{NEXT}.{name} as select * from serving.{table}")
            rows += con.execute(f"select count(*) from serving.{table}").fetchone()[0]
            tables.append(table)
        con.execute("detach pg")
        table_comments = con.execute(
            "select schema_name, table_name, comment from duckdb_tables() "
            "where database_name = 'serving' and comment is not null"
        ).fetchall()
        column_comments = con.execute(
            "select schema_name, table_name, column_name, comment from duckdb_columns() "
            "where database_name = 'serving' and comment is not null"
        ).fetchall()
    except duckdb.Error as error:
        raise EndpointError(f"loading PostgreSQL failed: {error}") from error
    finally:
        con.close()
    return _Loaded(tables, rows, table_comments, column_comments)


def _describe_and_grant(conn, loaded: _Loaded, reader: str | None) -> None:
    """The comments of serving.duckdb on the new tables, and the reader's select."""
    with conn.transaction():
        for schema, table, comment in loaded.table_comments:
            conn.execute(f'comment on table {schema}{NEXT}."{table}" is {sql_literal(comment)}')
        for schema, table, column, comment in loaded.column_comments:
            conn.execute(
                f'comment on column {schema}{NEXT}."{table}"."{column}" is {sql_literal(comment)}'
            )
        if reader:
            for schema in SCHEMAS:
                conn.execute(f"grant select on all tables in schema {schema}{NEXT} to {reader}")


class SwapTimeout(EndpointError):
    """Readers held the published version for longer than the swap may wait."""


def _swap(conn, version: str, reader: str | None, loaded_at, wait_seconds: float) -> None:
    """Drop the live schemas and rename the new ones in, in one transaction, once no
    reader can be left with a table its snapshot cannot read.

    PostgreSQL resolves a table's name when a statement starts, from the catalogue as
    committed, but reads its rows by the transaction's snapshot. A transaction that took its
    snapshot before the new tables were loaded (REPEATABLE READ, or ``pg_dump``) would read the
    new tables after a swap as empty, with no error. So the swap waits until

    - every transaction that has read a published table has ended: the swap takes the
      ACCESS EXCLUSIVE locks on the live tables, which such a transaction holds shared until
      it ends; and
    - no other session holds a snapshot older than the load (``_older_snapshots``), since a
      transaction that has read nothing yet holds no lock.

    A lock attempt waits LOCK_ATTEMPT_MS and gives way in a deadlock (the owner's
    ``deadlock_timeout`` is 100 ms against readers' 1 s, set by ``yimei serve``); attempts go on
    for ``wait_seconds``, then the swap gives up with SwapTimeout and the old version stays
    served, whole."""
    import psycopg

    deadline = time.monotonic() + wait_seconds
    while True:
        held = _older_snapshots(conn, loaded_at)
        if not held:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            try:
                _rename(conn, version, reader, max(1, min(LOCK_ATTEMPT_MS, remaining_ms)))
                return
            except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
                held = ["a reader holding the published tables"]
        if time.monotonic() + RETRY_PAUSE_S >= deadline:
            raise SwapTimeout(
                f"the published version is still read after {wait_seconds:.0f} s, by "
                f"{'; '.join(held[:3])}: it stays served until they end"
            )
        time.sleep(RETRY_PAUSE_S)


def _older_snapshots(conn, loaded_at) -> list[str]:
    """Other sessions of this database whose transaction began before the new tables were
    loaded and that hold a snapshot now (a statement running, or a REPEATABLE READ
    transaction): their snapshot may not see the new tables' rows. The owner sees other
    roles' sessions only with ``pg_read_all_stats`` (``yimei serve`` grants it; on a
    PostgreSQL of yours, grant it too): without it only the locks protect readers."""
    rows = conn.execute(
        "select pid, usename, application_name, xact_start from pg_stat_activity "
        "where datname = current_database() and pid <> pg_backend_pid() "
        "and backend_type = 'client backend' and backend_xmin is not null "
        "and xact_start < %s order by xact_start",
        [loaded_at],
    ).fetchall()
    return [
        f"session {pid} ({user}{', ' + app if app else ''}, in a transaction since "
        f"{started:%H:%M:%S})"
        for pid, user, app, started in rows
    ]


def _rename(conn, version: str, reader: str | None, lock_timeout_ms: int) -> None:
    with conn.transaction():
        conn.execute(f"set local lock_timeout = {int(lock_timeout_ms)}")
        live_tables = [
            f'{schema}."{name}"'
            for schema, name in conn.execute(
                "select schemaname, tablename from pg_tables where schemaname = any(%s)",
                [list(SCHEMAS)],
            ).fetchall()
        ]
        if live_tables:
            conn.execute(f"lock table {', '.join(live_tables)} in access exclusive mode")
        for schema in SCHEMAS:
            conn.execute(f"drop schema if exists {schema} cascade")
            conn.execute(f"alter schema {schema}{NEXT} rename to {schema}")
            if reader:
                conn.execute(f"grant usage on schema {schema} to {reader}")
        conn.execute(
            f"insert into {META_SCHEMA}.versions values (%s, now(), %s) "
            "on conflict (version) do update set published_at = excluded.published_at",
            [version, len(PUBLISHED_TABLES)],
        )


def drop_old_schemas(conn, reader: str | None = None) -> list[str]:
    """Drop the schemas an earlier version of the swap renamed away instead of dropping;
    one a reader still uses is left for the next publish (its drop waits at most
    DROP_LOCK_TIMEOUT), and the reader loses the use of it at once."""
    import psycopg

    left = []
    old = conn.execute(
        "select nspname from pg_namespace where strpos(nspname, %s) > 0 order by 1", [OLD]
    ).fetchall()
    for (schema,) in old:
        try:
            with conn.transaction():
                conn.execute(f"set local lock_timeout = '{DROP_LOCK_TIMEOUT}'")
                conn.execute(f'drop schema "{schema}" cascade')
        except psycopg.errors.LockNotAvailable:
            if reader:
                conn.execute(f'revoke usage on schema "{schema}" from {reader}')
            left.append(schema)
    return left
