"""The audit tables ingestion writes beside ``raw``: their DDL and their rows.

- ``audit.quarantine``: one row per rejected row or line (``row_number`` set) or per file
  rejected whole (``row_number`` NULL), with the reason; ``record`` is a parsed row as
  delivered (JSON, personal fields hashed), ``raw_line`` the text of a line that could
  not be parsed, personal data masked by pattern (``pii.mask_pii_sql``).
- ``audit.load_audit``: one row per landed file and load.
- ``audit.partition_loads``: the delivery of each ``(feed, dt)`` last loaded.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from ingestion.contract import FEEDS, SQL_TYPES

if TYPE_CHECKING:
    from ingestion.landing import Partition
    from ingestion.staging import StagedFile

LOAD_COLUMNS = (
    ("_dt", "DATE"),
    ("_source_file", "VARCHAR"),
    ("_row_number", "BIGINT"),
    ("_run_id", "VARCHAR"),
    ("_loaded_at", "TIMESTAMPTZ"),
)

AUDIT_DDL = """
create schema if not exists raw;
create schema if not exists audit;
create table if not exists audit.quarantine (
    run_id varchar, feed varchar, table_name varchar, dt date, source_file varchar,
    row_number bigint,          -- NULL when the whole file was rejected
    reason varchar, record varchar, quarantined_at timestamptz, raw_line varchar
);
-- warehouses made before raw lines were kept
alter table audit.quarantine add column if not exists raw_line varchar;
create table if not exists audit.load_audit (
    run_id varchar, feed varchar, table_name varchar, dt date, source_file varchar,
    checksum varchar, size_bytes bigint, encoding varchar,
    rows_read bigint, rows_loaded bigint, rows_quarantined bigint,
    file_status varchar,        -- loaded, partly_quarantined, quarantined, ignored
    file_reason varchar, extra_columns varchar, missing_columns varchar,
    replaced_earlier boolean, loaded_at timestamptz,
    reader varchar              -- which reader read it: duckdb, or python line by line
);
-- warehouses made before the reader was recorded
alter table audit.load_audit add column if not exists reader varchar;
create table if not exists audit.partition_loads (
    feed varchar, dt date, fingerprint varchar, content_checksum varchar,
    run_id varchar, loaded_at timestamptz, files integer,
    rows_loaded bigint, rows_quarantined bigint, deliveries integer,
    primary key (feed, dt)
);
"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(AUDIT_DDL)
    for contract in (t for tables in FEEDS.values() for t in tables):
        columns = [f'"{c.stored_name}" {SQL_TYPES[c.kind]}' for c in contract.columns]
        columns += [f"{name} {dtype}" for name, dtype in LOAD_COLUMNS]
        con.execute(f"create table if not exists raw.{contract.table} ({', '.join(columns)})")


def register_rows(con: duckdb.DuckDBPyConnection, name: str, rows: list[dict]) -> None:
    """A small Python list as a temp table (one statement, not one per row)."""
    con.execute(f"drop table if exists {name}")
    con.register(f"{name}_view", pa.Table.from_pylist(rows))
    con.execute(f"create temp table {name} as select * from {name}_view")
    con.unregister(f"{name}_view")


def known_deliveries(con: duckdb.DuckDBPyConnection, feed: str) -> dict[date, tuple[str, int]]:
    """dt -> (fingerprint, deliveries) of every partition of a feed loaded so far."""
    ensure_schema(con)
    return {
        dt: (fingerprint, deliveries)
        for dt, fingerprint, deliveries in con.execute(
            "select dt, fingerprint, deliveries from audit.partition_loads where feed = ?", [feed]
        ).fetchall()
    }


def feeds_loaded_since(con: duckdb.DuckDBPyConnection, when: datetime) -> set[str]:
    """Feeds with a partition loaded or replaced after ``when``: what a build must follow."""
    return {
        feed
        for (feed,) in con.execute(
            "select distinct feed from audit.partition_loads where loaded_at > ?", [when]
        ).fetchall()
    }


def quarantine_group(
    con: duckdb.DuckDBPyConnection, rejects: str, run_id: str, feed: str, table: str
) -> None:
    """The rejected rows of one checked group (``validate.create_rejects``)."""
    con.execute(
        f"""
        insert into audit.quarantine
        select ?, ?, ?, f.dt, f.source_file, c._row_number, c._reason, c._record, now(),
               c._raw_line
        from {rejects} c join _files f on f.file_index = c._file
        """,
        [run_id, feed, table],
    )


def quarantine_files(
    con: duckdb.DuckDBPyConnection, rejected: list[StagedFile], run_id: str, feed: str
) -> None:
    """Files rejected whole: one row each, no line number."""
    if not rejected:
        return
    register_rows(
        con,
        "_rejected",
        [
            {
                "run_id": run_id,
                "feed": feed,
                "table_name": s.contract.table if s.contract else None,
                "dt": s.partition.dt,
                "source_file": s.file.relative,
                "reason": s.file_reason,
            }
            for s in rejected
        ],
    )
    con.execute(
        "insert into audit.quarantine select run_id, feed, table_name, dt, "
        "source_file, null, reason, null, now(), null from _rejected"
    )


def record_files(
    con: duckdb.DuckDBPyConnection, staged: list[StagedFile], run_id: str, replaced: set[date]
) -> None:
    register_rows(
        con,
        "_audit",
        [
            {
                "run_id": run_id,
                "feed": s.partition.feed,
                "table_name": s.contract.table if s.contract else None,
                "dt": s.partition.dt,
                "source_file": s.file.relative,
                "checksum": s.checksum,
                "size_bytes": s.file.size,
                "encoding": s.encoding,
                "rows_read": s.rows_read,
                "rows_loaded": s.rows_loaded,
                "rows_quarantined": s.rows_quarantined,
                "file_status": s.file_status,
                "file_reason": s.file_reason,
                "extra_columns": s.extra_columns,
                "missing_columns": s.missing_columns,
                "replaced_earlier": s.partition.dt in replaced,
                "reader": s.reader,
            }
            for s in staged
        ],
    )
    con.execute("insert into audit.load_audit by name select *, now() as loaded_at from _audit")


def record_partitions(
    con: duckdb.DuckDBPyConnection,
    staged: list[StagedFile],
    chunk: list[tuple[Partition, tuple | None]],
    run_id: str,
) -> None:
    rows = []
    for partition, previous in chunk:
        files = [s for s in staged if s.partition is partition]
        content = hashlib.sha256(
            "\n".join(f"{s.file.relative}:{s.checksum}" for s in files).encode()
        ).hexdigest()
        rows.append(
            {
                "feed": partition.feed,
                "dt": partition.dt,
                "fingerprint": partition.quick_fingerprint(),
                "content_checksum": content,
                "run_id": run_id,
                "files": len(partition.files),
                "rows_loaded": sum(s.rows_loaded for s in files),
                "rows_quarantined": sum(s.rows_quarantined for s in files),
                "deliveries": (previous[1] if previous else 0) + 1,
            }
        )
    register_rows(con, "_partitions", rows)
    con.execute(
        "insert or replace into audit.partition_loads "
        "select feed, dt, fingerprint, content_checksum, run_id, now(), files, "
        "rows_loaded, rows_quarantined, deliveries from _partitions"
    )
