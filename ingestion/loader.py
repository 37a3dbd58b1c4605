"""Load complete delivery partitions into ``raw`` with quarantine and audit.

Partitions load in chunks, one transaction per chunk: the earlier deliveries of
those ``dt`` (if any) are deleted and the new ones written, quarantine and audit
rows included, then committed. A crash in the middle leaves the warehouse as it
was before the chunk: no partition is ever half-loaded.
A partition whose files are unchanged since its last load is skipped, so a
re-run is a no-op; a re-sent partition (new files, new ``_SUCCESS``) replaces
the earlier delivery of that ``dt`` exactly.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

import duckdb
import pyarrow as pa

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


# A chunk of partitions is read, checked and committed together: DuckDB's cost per
# statement (planning the wide validation expression takes ~50 ms) is paid once per
# chunk instead of once per file. Bounded so a chunk's checked rows fit in memory.
CHUNK_PARTITIONS = 64
CHUNK_BYTES = 256 << 20


@dataclass
class StagedFile:
    """A file read outside the transaction.

    DuckDB aborts a whole transaction on any error, so every read that may fail
    (truncated Parquet, broken CSV) happens before the transaction starts; the
    transaction itself only moves already-checked rows.
    """

    index: int
    partition: Partition
    file: LandedFile
    contract: TableContract | None
    checksum: str | None
    source_table: str | None = None  # temp table with the rows as read (see readers.py)
    present: tuple[str, ...] = ()
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    file_status: str = "loaded"
    file_reason: str | None = None
    encoding: str | None = None
    extra_columns: str | None = None
    missing_columns: str | None = None


def _read_file(
    con: duckdb.DuckDBPyConnection,
    index: int,
    partition: Partition,
    file: LandedFile,
    contract: TableContract | None,
) -> StagedFile:
    if contract is None:
        return StagedFile(
            index,
            partition,
            file,
            None,
            None,
            file_status="ignored",
            file_reason="not a file of this feed",
        )
    local = file.fetch()
    staged = StagedFile(index, partition, file, contract, file.sha256())
    try:
        result = read_file(con, contract, local)
    except FileRejected as rejected:
        staged.file_status, staged.file_reason = "quarantined", str(rejected)
        return staged
    staged.source_table = f"_src_{index}"
    con.execute(f"alter table _src rename to {staged.source_table}")
    staged.present = result.columns
    staged.rows_read = result.rows
    staged.encoding = result.encoding
    staged.extra_columns = ",".join(result.extra_columns) or None
    staged.missing_columns = ",".join(result.missing_columns) or None
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


def _source_signature(con: duckdb.DuckDBPyConnection, staged: StagedFile) -> tuple:
    """Files whose rows arrive with the same columns and types are checked together."""
    columns = con.execute(
        "select column_name, data_type from duckdb_columns() "
        "where database_name = 'temp' and table_name = ? order by column_index",
        [staged.source_table],
    ).fetchall()
    return (staged.contract.table, staged.present, tuple(columns))


def _check_files(
    con: duckdb.DuckDBPyConnection, staged: list[StagedFile], pii_key: bytes
) -> list[tuple[TableContract, str]]:
    """Validate every read file; returns (contract, checked temp table) per group of files
    that share a source schema. Each checked row keeps its file's index in ``_file``."""
    groups: dict[tuple, list[StagedFile]] = {}
    for s in staged:
        if s.source_table and s.file_status != "quarantined":
            groups.setdefault(_source_signature(con, s), []).append(s)
    checked = []
    for number, members in enumerate(groups.values()):
        contract = members[0].contract
        con.execute(
            "create or replace temp table _src as "
            + " union all ".join(
                f"select *, {s.index} as _file from {s.source_table}" for s in members
            )
        )
        build_checked(con, contract, members[0].present, pii_key, _references(con, contract))
        table = f"_checked_{number}"
        con.execute(f"alter table _checked rename to {table}")
        counts = dict(
            (index, (ok, bad))
            for index, ok, bad in con.execute(
                f"select _file, count(*) filter (where _reason is null), "
                f"count(*) filter (where _reason is not null) from {table} group by _file"
            ).fetchall()
        )
        for s in members:
            s.rows_loaded, s.rows_quarantined = counts.get(s.index, (0, 0))
            if s.rows_quarantined:
                s.file_status = "partly_quarantined"
        checked.append((contract, table))
    return checked


def _register_rows(con: duckdb.DuckDBPyConnection, name: str, rows: list[dict]) -> None:
    """A small Python list as a temp table (one statement, not one per row)."""
    con.execute(f"drop table if exists {name}")
    con.register(f"{name}_view", pa.Table.from_pylist(rows))
    con.execute(f"create temp table {name} as select * from {name}_view")
    con.unregister(f"{name}_view")


def _audit_rows(staged: list[StagedFile], run_id: str, replaced: set[date]) -> list[dict]:
    return [
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
        }
        for s in staged
    ]


def _partition_rows(
    staged: list[StagedFile], chunk: list[tuple[Partition, tuple | None]], run_id: str
) -> list[dict]:
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
    return rows


def load_partitions(
    con: duckdb.DuckDBPyConnection,
    chunk: list[tuple[Partition, tuple | None]],
    pii_key: bytes,
    run_id: str,
) -> list[StagedFile]:
    """Load (or replace) partitions of one feed in one transaction.

    ``chunk`` pairs each partition with its earlier load (fingerprint, deliveries)
    or None. Every file is read and checked before the transaction starts; the
    transaction deletes the earlier deliveries of those ``dt`` and writes the new
    rows, quarantine and audit, so a crash leaves no partition half-loaded.
    """
    feed = chunk[0][0].feed
    staged = [
        _read_file(con, index, partition, file, _contract_for(feed, file))
        for index, (partition, file) in enumerate((p, f) for p, _ in chunk for f in p.files)
    ]
    try:
        checked = _check_files(con, staged, pii_key)
        replaced = {p.dt for p, previous in chunk if previous is not None}
        _register_rows(
            con,
            "_files",
            [
                {"file_index": s.index, "dt": s.partition.dt, "source_file": s.file.relative}
                for s in staged
            ],
        )
        rejected = [s for s in staged if s.file_status == "quarantined"]
        con.execute("begin transaction")
        try:
            dts = [p.dt for p, _ in chunk]
            for contract in FEEDS[feed]:
                con.execute(
                    f"delete from raw.{contract.table} where _dt in (select unnest(?))", [dts]
                )
            con.execute(
                "delete from audit.quarantine where feed = ? and dt in (select unnest(?))",
                [feed, dts],
            )
            for contract, table in checked:
                stored = ", ".join(f'"{c.stored_name}"' for c in contract.columns)
                con.execute(
                    f"""
                    insert into raw.{contract.table} ({stored}, _dt, _source_file, _row_number,
                                                      _run_id, _loaded_at)
                    select {stored}, f.dt, f.source_file, c._row_number, ?, now()
                    from {table} c join _files f on f.file_index = c._file
                    where c._reason is null
                    """,
                    [run_id],
                )
                con.execute(
                    f"""
                    insert into audit.quarantine
                    select ?, ?, ?, f.dt, f.source_file, c._row_number, c._reason, c._record, now()
                    from {table} c join _files f on f.file_index = c._file
                    where c._reason is not null
                    """,
                    [run_id, feed, contract.table],
                )
            if rejected:
                _register_rows(
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
                    "source_file, null, reason, null, now() from _rejected"
                )
            _register_rows(con, "_audit", _audit_rows(staged, run_id, replaced))
            con.execute("insert into audit.load_audit select *, now() from _audit")
            _register_rows(con, "_partitions", _partition_rows(staged, chunk, run_id))
            con.execute(
                "insert or replace into audit.partition_loads "
                "select feed, dt, fingerprint, content_checksum, run_id, now(), files, "
                "rows_loaded, rows_quarantined, deliveries from _partitions"
            )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    finally:
        for s in staged:
            if s.source_table:
                con.execute(f"drop table if exists {s.source_table}")
        for number in range(len(staged)):
            con.execute(f"drop table if exists _checked_{number}")
    return staged


def _chunks(
    pending: list[tuple[Partition, tuple | None]],
) -> Iterator[list[tuple[Partition, tuple | None]]]:
    chunk: list[tuple[Partition, tuple | None]] = []
    size = 0
    for item in pending:
        item_size = sum(f.size for f in item[0].files)
        if chunk and (len(chunk) >= CHUNK_PARTITIONS or size + item_size > CHUNK_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += item_size
    if chunk:
        yield chunk


def known_deliveries(con: duckdb.DuckDBPyConnection, feed: str) -> dict[date, tuple[str, int]]:
    """dt -> (fingerprint, deliveries) of every partition of a feed loaded so far."""
    ensure_schema(con)
    return {
        dt: (fingerprint, deliveries)
        for dt, fingerprint, deliveries in con.execute(
            "select dt, fingerprint, deliveries from audit.partition_loads where feed = ?", [feed]
        ).fetchall()
    }


def pending_partitions(
    partitions: list[Partition], known: dict[date, tuple[str, int]]
) -> list[Partition]:
    """Complete partitions that are new or were re-sent since they were loaded.

    A partition without `_SUCCESS` is still being written upstream and is never read.
    """
    return [
        p
        for p in partitions
        if p.complete and (p.dt not in known or known[p.dt][0] != p.quick_fingerprint())
    ]


def load_feed(
    con: duckdb.DuckDBPyConnection,
    landing_dir: str,
    feed: str,
    pii_key: bytes,
    run_id: str,
    delivery_dates: set[date] | None = None,
) -> FeedLoadResult:
    """Load every complete partition of a feed that is new or was re-sent, or only those
    among ``delivery_dates`` (the Dagster partitions of a run) when given."""
    result = FeedLoadResult(feed=feed)
    known = known_deliveries(con, feed)
    partitions = [
        p
        for p in list_partitions(landing_dir, feed)
        if delivery_dates is None or p.dt in delivery_dates
    ]
    pending = pending_partitions(partitions, known)
    result.partitions_skipped_incomplete = [p.dt for p in partitions if not p.complete]
    result.partitions_unchanged = (
        len(partitions) - len(pending) - len(result.partitions_skipped_incomplete)
    )
    for chunk in _chunks([(p, known.get(p.dt)) for p in pending]):
        staged = load_partitions(con, chunk, pii_key, run_id)
        for partition, previous in chunk:
            (result.partitions_replaced if previous else result.partitions_loaded).append(
                partition.dt
            )
        for s in staged:
            if s.contract is not None:
                table = s.contract.table
                result.rows_loaded[table] = result.rows_loaded.get(table, 0) + s.rows_loaded
                result.rows_quarantined[table] = (
                    result.rows_quarantined.get(table, 0) + s.rows_quarantined
                )
            result.files_rejected += s.file_status == "quarantined"
    return result
