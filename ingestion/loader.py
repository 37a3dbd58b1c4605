"""Load complete delivery partitions into ``raw`` with quarantine and audit.

One partition is one transaction: its earlier delivery (if any) is deleted and
the new one written, quarantine and audit rows included, then committed. A
crash in the middle leaves the warehouse as it was before that partition.
A partition whose files are unchanged since its last load is skipped, so a
re-run is a no-op; a re-sent partition (new files, new ``_SUCCESS``) replaces
the earlier delivery of that ``dt`` exactly.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import date

import duckdb

from ingestion.contract import FEEDS, SQL_TYPES, TableContract
from ingestion.landing import LandedFile, Partition, list_partitions
from ingestion.readers import FileRejected, read_file
from ingestion.reference import procedure_codes
from ingestion.validate import build_checked

log = logging.getLogger(__name__)

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
    reason varchar, record varchar, quarantined_at timestamptz
);
create table if not exists audit.load_audit (
    run_id varchar, feed varchar, table_name varchar, dt date, source_file varchar,
    checksum varchar, size_bytes bigint, encoding varchar,
    rows_read bigint, rows_loaded bigint, rows_quarantined bigint,
    file_status varchar,        -- loaded, partly_quarantined, quarantined, ignored
    file_reason varchar, extra_columns varchar, missing_columns varchar,
    replaced_earlier boolean, loaded_at timestamptz
);
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


@dataclass
class FeedLoadResult:
    feed: str
    partitions_loaded: list[date] = field(default_factory=list)
    partitions_replaced: list[date] = field(default_factory=list)
    partitions_skipped_incomplete: list[date] = field(default_factory=list)
    partitions_unchanged: int = 0
    rows_loaded: dict[str, int] = field(default_factory=dict)
    rows_quarantined: dict[str, int] = field(default_factory=dict)
    files_rejected: int = 0


def _contract_for(feed: str, file: LandedFile) -> TableContract | None:
    name = file.path.name
    for contract in FEEDS[feed]:
        if fnmatch.fnmatch(name, contract.file_pattern):
            return contract
    return None


def _references(con: duckdb.DuckDBPyConnection, contract: TableContract) -> dict[str, str]:
    """Known values an order must resolve to (GOV-11)."""
    if contract.table != "orders":
        return {}
    con.execute(
        "create or replace temp table _known_clinics as "
        "select distinct clinic_id as value from raw.clinics"
    )
    con.execute(
        "create or replace temp table _known_doctors as "
        "select distinct doctor_id as value from raw.doctors"
    )
    con.execute("create or replace temp table _known_procedures (value varchar)")
    con.executemany("insert into _known_procedures values (?)", [[c] for c in procedure_codes()])
    return {
        "clinic_id": "_known_clinics",
        "doctor_id": "_known_doctors",
        "procedure_code": "_known_procedures",
    }


@dataclass
class StagedFile:
    """A file read and checked outside the partition's transaction.

    DuckDB aborts a whole transaction on any error, so every read that may fail
    (truncated Parquet, broken CSV) happens before the transaction starts; the
    transaction itself only moves already-checked rows.
    """

    file: LandedFile
    contract: TableContract | None
    checksum: str | None
    checked_table: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    file_status: str = "loaded"
    file_reason: str | None = None
    encoding: str | None = None
    extra_columns: str | None = None
    missing_columns: str | None = None


def _stage_file(
    con: duckdb.DuckDBPyConnection,
    index: int,
    file: LandedFile,
    contract: TableContract | None,
    pii_key: bytes,
) -> StagedFile:
    if contract is None:
        return StagedFile(
            file, None, None, file_status="ignored", file_reason="not a file of this feed"
        )
    staged = StagedFile(file, contract, file.sha256())
    try:
        result = read_file(con, contract, file.path)
    except FileRejected as rejected:
        staged.file_status, staged.file_reason = "quarantined", str(rejected)
        return staged
    build_checked(con, contract, result.columns, pii_key, _references(con, contract))
    staged.checked_table = f"_checked_{index}"
    con.execute(f"alter table _checked rename to {staged.checked_table}")
    staged.rows_loaded, staged.rows_quarantined = con.execute(
        "select count(*) filter (where _reason is null),"
        " count(*) filter (where _reason is not null)"
        f" from {staged.checked_table}"
    ).fetchone()
    staged.rows_read = result.rows
    staged.encoding = result.encoding
    staged.extra_columns = ",".join(result.extra_columns) or None
    staged.missing_columns = ",".join(result.missing_columns) or None
    if staged.rows_quarantined:
        staged.file_status = "partly_quarantined"
    if result.rows == 0:
        staged.file_status, staged.file_reason = "quarantined", "empty file: no data rows"
    if result.extra_columns or result.missing_columns:
        log.warning(
            "%s: extra columns %s, missing optional columns %s",
            file.relative,
            list(result.extra_columns),
            list(result.missing_columns),
        )
    return staged


def _write_file(
    con: duckdb.DuckDBPyConnection,
    partition: Partition,
    staged: StagedFile,
    run_id: str,
    replaced: bool,
) -> None:
    table = staged.contract.table if staged.contract else None
    where = [run_id, partition.feed, table, partition.dt, staged.file.relative]
    if staged.checked_table:
        stored = ", ".join(f'"{c.stored_name}"' for c in staged.contract.columns)
        con.execute(
            f"""
            insert into raw.{table} ({stored}, _dt, _source_file, _row_number, _run_id,
                                     _loaded_at)
            select {stored}, ?, ?, _row_number, ?, now()
            from {staged.checked_table} where _reason is null
            """,
            [partition.dt, staged.file.relative, run_id],
        )
        con.execute(
            f"""
            insert into audit.quarantine
            select ?, ?, ?, ?, ?, _row_number, _reason, _record, now()
            from {staged.checked_table} where _reason is not null
            """,
            where,
        )
    if staged.file_status == "quarantined":
        con.execute(
            "insert into audit.quarantine values (?, ?, ?, ?, ?, null, ?, null, now())",
            [*where, staged.file_reason],
        )
    con.execute(
        "insert into audit.load_audit values "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
        [
            *where,
            staged.checksum,
            staged.file.size,
            staged.encoding,
            staged.rows_read,
            staged.rows_loaded,
            staged.rows_quarantined,
            staged.file_status,
            staged.file_reason,
            staged.extra_columns,
            staged.missing_columns,
            replaced,
        ],
    )


def load_partition(
    con: duckdb.DuckDBPyConnection,
    partition: Partition,
    pii_key: bytes,
    run_id: str,
    previous: tuple | None,
) -> tuple[dict[str, int], dict[str, int], bool]:
    """Load (or replace) one partition in one transaction."""
    replaced = previous is not None
    staged = [
        _stage_file(con, i, file, _contract_for(partition.feed, file), pii_key)
        for i, file in enumerate(partition.files)
    ]
    loaded: dict[str, int] = {}
    quarantined: dict[str, int] = {}
    for s in staged:
        if s.contract is not None:
            table = s.contract.table
            loaded[table] = loaded.get(table, 0) + s.rows_loaded
            quarantined[table] = quarantined.get(table, 0) + s.rows_quarantined
    content = hashlib.sha256(
        "\n".join(f"{s.file.relative}:{s.checksum}" for s in staged).encode()
    ).hexdigest()
    con.execute("begin transaction")
    try:
        for contract in FEEDS[partition.feed]:
            con.execute(f"delete from raw.{contract.table} where _dt = ?", [partition.dt])
        con.execute(
            "delete from audit.quarantine where feed = ? and dt = ?", [partition.feed, partition.dt]
        )
        for s in staged:
            _write_file(con, partition, s, run_id, replaced)
        con.execute(
            "insert or replace into audit.partition_loads "
            "values (?, ?, ?, ?, ?, now(), ?, ?, ?, ?)",
            [
                partition.feed,
                partition.dt,
                partition.quick_fingerprint(),
                content,
                run_id,
                len(partition.files),
                sum(loaded.values()),
                sum(quarantined.values()),
                (previous[1] if previous else 0) + 1,
            ],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        for s in staged:
            if s.checked_table:
                con.execute(f"drop table if exists {s.checked_table}")
    return loaded, quarantined, replaced


def load_feed(
    con: duckdb.DuckDBPyConnection, landing_dir: str, feed: str, pii_key: bytes, run_id: str
) -> FeedLoadResult:
    """Load every complete partition of a feed that is new or was re-sent."""
    ensure_schema(con)
    result = FeedLoadResult(feed=feed)
    known = {
        dt: (fingerprint, deliveries)
        for dt, fingerprint, deliveries in con.execute(
            "select dt, fingerprint, deliveries from audit.partition_loads where feed = ?", [feed]
        ).fetchall()
    }
    for partition in list_partitions(landing_dir, feed):
        if not partition.complete:
            # Still being written upstream: never read a partition without _SUCCESS.
            result.partitions_skipped_incomplete.append(partition.dt)
            continue
        previous = known.get(partition.dt)
        if previous is not None and previous[0] == partition.quick_fingerprint():
            result.partitions_unchanged += 1
            continue
        loaded, quarantined, replaced = load_partition(con, partition, pii_key, run_id, previous)
        (result.partitions_replaced if replaced else result.partitions_loaded).append(partition.dt)
        for table, n in loaded.items():
            result.rows_loaded[table] = result.rows_loaded.get(table, 0) + n
        for table, n in quarantined.items():
            result.rows_quarantined[table] = result.rows_quarantined.get(table, 0) + n
    return result
