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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from ingestion.contract import FEEDS, SQL_TYPES, TableContract
from ingestion.landing import LandedFile, Partition, list_partitions
from ingestion.readers import (
    FileRejected,
    ParquetLayout,
    inspect_parquet,
    parquet_scan_sql,
    read_csv,
    read_jsonl_files,
)
from ingestion.reference import procedure_codes
from ingestion.validate import create_rejects, stored_columns, valid_rows_sql

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
    # (table, dt) -> [rows loaded, rows quarantined] of the partitions this call loaded
    partition_rows: dict[tuple[str, date], list[int]] = field(default_factory=dict)
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
        "select distinct clinic_id as value from raw.clinics where clinic_id is not null"
    )
    con.execute(
        "create or replace temp table _known_doctors as "
        "select distinct doctor_id as value from raw.doctors where doctor_id is not null"
    )
    con.execute("create or replace temp table _known_procedures (value varchar)")
    con.executemany("insert into _known_procedures values (?)", [[c] for c in procedure_codes()])
    return {
        "clinic_id": "_known_clinics",
        "doctor_id": "_known_doctors",
        "procedure_code": "_known_procedures",
    }


# What a file that passed its first look can still raise when its rows are read: a
# corrupt Parquet page, invalid UTF-8 in JSON Lines. Anything else is a bug and fails.
UNREADABLE = (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException)


class DeliveryChanged(RuntimeError):
    """A landed file changed while it was being loaded (a re-send mid-load)."""


def _check_unchanged(staged: list[StagedFile]) -> None:
    """The files are read twice (rejects, then valid rows) and checksummed apart: commit
    only if none changed since it was listed, so the rows checked are the rows loaded."""
    for s in staged:
        if s.file.remote is not None:  # a local copy, fetched once per version
            continue
        stat = s.file.path.stat()
        if (stat.st_size, stat.st_mtime_ns) != (s.file.size, s.file.mtime_ns):
            raise DeliveryChanged(
                f"{s.file.relative} changed while it was being loaded (re-sent?): nothing of "
                "this load was written; the next run loads the new delivery"
            )


# A chunk of partitions is read, checked and committed together. DuckDB's costs per
# statement (planning the wide validation expression) and per commit (a checkpoint
# once the WAL passes its threshold) are paid once per chunk and file layout instead
# of once per file: at 1M orders, one chunk of a year loads orders in 24 s, chunks of
# 64 days in 38 s. Bounded by bytes so the rows a chunk holds in temp tables (CSV and
# JSON Lines; Parquet is scanned where it lies) stay a few GB (DuckDB spills temp tables
# to disk beyond its memory limit).
CHUNK_PARTITIONS = 400
CHUNK_BYTES = 512 << 20


@dataclass
class StagedFile:
    """A file looked at outside the transaction.

    DuckDB aborts a whole transaction on any error, so every read that may fail
    (truncated Parquet, broken CSV, a corrupt page) happens before the transaction
    starts: the rejects are found in a pass over every row of every file. The
    transaction reads the same files again to insert the valid rows; only an I/O
    failure can stop it there, and then the chunk rolls back whole.
    """

    index: int
    partition: Partition
    file: LandedFile
    contract: TableContract | None
    checksum: str | None
    local: Path | None = None
    layout: ParquetLayout | None = None  # Parquet: read later, with its layout group
    source_table: str | None = None  # CSV: temp table with the rows as read
    present: tuple[str, ...] = ()
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    file_status: str = "loaded"
    file_reason: str | None = None
    encoding: str | None = None
    extra_columns: str | None = None
    missing_columns: str | None = None

    def reject(self, reason: str) -> None:
        self.file_status, self.file_reason = "quarantined", reason

    @property
    def readable(self) -> bool:
        return self.contract is not None and self.file_status != "quarantined"


@dataclass
class CheckedGroup:
    """Files of one table and layout, read and checked together."""

    contract: TableContract
    valid: str  # select of the valid rows, typed and hashed (validate.valid_rows_sql)
    rejects: str  # temp table: the rows that break the contract (validate.create_rejects)
    members: list[StagedFile]


def _note_columns(staged: StagedFile, extra: tuple[str, ...], missing: tuple[str, ...]) -> None:
    staged.extra_columns = ",".join(extra) or None
    staged.missing_columns = ",".join(missing) or None
    if extra or missing:
        log.warning(
            "%s: extra columns %s, missing optional columns %s",
            staged.file.relative,
            list(extra),
            list(missing),
        )


def _stage_file(
    con: duckdb.DuckDBPyConnection,
    index: int,
    partition: Partition,
    file: LandedFile,
    contract: TableContract | None,
    fetched: Future[tuple[Path, str]] | None,
) -> StagedFile:
    """First look: a Parquet footer, a whole CSV (each has its own header and encoding);
    JSON Lines and Parquet rows are read later, many files per scan. Rows are counted
    (and empty files rejected) once every group is read, in ``_check_groups``.
    ``fetched`` gives the local copy and its checksum (``_fetch``)."""
    if contract is None or fetched is None:
        staged = StagedFile(index, partition, file, None, None)
        staged.file_status, staged.file_reason = "ignored", "not a file of this feed"
        return staged
    local, checksum = fetched.result()
    staged = StagedFile(index, partition, file, contract, checksum, local=local)
    suffix = local.suffix.lower()
    try:
        if contract.file_format == "jsonl":
            if local.stat().st_size == 0:
                raise FileRejected("empty file (0 bytes)")
            staged.present, staged.encoding = tuple(c.name for c in contract.columns), "utf-8"
        elif contract.file_format == "parquet_or_csv" and suffix == ".parquet":
            layout = staged.layout = inspect_parquet(con, contract, local)
            staged.present, staged.encoding = layout.columns, "parquet"
            _note_columns(staged, layout.extra_columns, layout.missing_columns)
        elif suffix == ".csv":
            result = read_csv(con, contract, local)
            staged.source_table = f"_src_{index}"
            con.execute(f"alter table _src rename to {staged.source_table}")
            staged.present, staged.encoding = result.columns, result.encoding
            _note_columns(staged, result.extra_columns, result.missing_columns)
        else:
            raise FileRejected(f"unexpected file type {suffix or '(none)'} for {contract.table}")
    except FileRejected as rejected:
        staged.reject(str(rejected))
    return staged


def _fetch(file: LandedFile) -> tuple[Path, str]:
    local = file.fetch()
    return local, file.sha256()


def _group_key(con: duckdb.DuckDBPyConnection, staged: StagedFile) -> tuple:
    """Files whose rows arrive with the same columns and types are read and checked
    together."""
    if staged.layout is not None:
        return ("parquet", staged.contract.table, staged.layout.mapping, staged.layout.casts)
    if staged.source_table is None:
        return ("jsonl", staged.contract.table)
    columns = con.execute(
        "select column_name, data_type from duckdb_columns() "
        "where database_name = 'temp' and table_name = ? order by column_index",
        [staged.source_table],
    ).fetchall()
    return ("csv", staged.contract.table, staged.present, tuple(columns))


def _source_of(con: duckdb.DuckDBPyConnection, members: list[StagedFile], name: str) -> str:
    """The rows of one group's files as delivered: a scan of the Parquet files, the JSON
    Lines files read into temp table ``name``, or the union of the CSV files read."""
    first = members[0]
    files = [(s.index, s.local) for s in members]
    if first.layout is not None:
        return parquet_scan_sql(first.layout, files)
    if first.source_table is None:
        for index, keys in read_jsonl_files(con, first.contract, files).items():
            staged = next(s for s in members if s.index == index)
            _note_columns(staged, keys, ())
        con.execute(f"alter table _src rename to {name}")
        return name
    return (
        "("
        + " union all ".join(f"select *, {s.index} as _file from {s.source_table}" for s in members)
        + ")"
    )


def _read_one_by_one(
    con: duckdb.DuckDBPyConnection, members: list[StagedFile], name: str
) -> list[StagedFile]:
    """Read the files of a group that failed as a whole one by one into temp table
    ``name``, rejecting the ones that cannot be read."""
    readable = []
    for s in members:
        try:
            source = _source_of(con, [s], f"_one_{s.index}")
            if source != f"_one_{s.index}":
                con.execute(f"create temp table _one_{s.index} as select * from {source}")
        except UNREADABLE as error:
            kind = "Parquet (corrupt)" if s.layout is not None else "JSON Lines file"
            first_line = str(error).strip().splitlines()[0]
            s.reject(f"unreadable {kind}: {first_line}")
            continue
        readable.append(s)
    if readable:
        con.execute(
            f"create or replace temp table {name} as "
            + " union all by name ".join(f"select * from _one_{s.index}" for s in readable)
        )
    for s in members:
        con.execute(f"drop table if exists _one_{s.index}")
    return readable


def _check_groups(
    con: duckdb.DuckDBPyConnection, staged: list[StagedFile], pii_key: bytes
) -> list[CheckedGroup]:
    """Find the rows of each group that break the contract; count the rows read, loaded
    and quarantined per file."""
    by_key: dict[tuple, list[StagedFile]] = {}
    for s in staged:
        if s.readable:
            by_key.setdefault(_group_key(con, s), []).append(s)
    references: dict[str, dict[str, str]] = {}  # the known values, built once per table
    groups = []
    for number, members in enumerate(by_key.values()):
        contract, present = members[0].contract, members[0].present
        trim = members[0].layout is None  # see validate._cleaned_select
        if contract.table not in references:
            references[contract.table] = _references(con, contract)
        rows, rejects = f"_rows_{number}", f"_rej_{number}"
        try:
            source = _source_of(con, members, rows)
            create_rejects(
                con, contract, source, rejects, present, pii_key, references[contract.table], trim
            )
        except UNREADABLE:
            # Some file fails beyond what its first look showed (a corrupt Parquet page,
            # invalid UTF-8 in JSON Lines): read file by file, so only that file is lost.
            members = _read_one_by_one(con, members, rows)
            if not members:
                continue
            source = rows
            create_rejects(
                con, contract, source, rejects, present, pii_key, references[contract.table], trim
            )
        counts = dict(
            con.execute(f"select _file, count(*) from {source} group by _file").fetchall()
        )
        rejected = dict(
            con.execute(f"select _file, count(*) from {rejects} group by _file").fetchall()
        )
        for s in members:
            s.rows_read, s.rows_quarantined = counts.get(s.index, 0), rejected.get(s.index, 0)
            s.rows_loaded = s.rows_read - s.rows_quarantined
            if s.rows_read == 0:
                s.reject("empty file: no data rows")
            elif s.rows_quarantined:
                s.file_status = "partly_quarantined"
        valid = valid_rows_sql(con, contract, source, rejects, present, pii_key, trim)
        groups.append(CheckedGroup(contract, valid, rejects, members))
    return groups


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
    staged: list[StagedFile] = []
    temp_before = _temp_tables(con)
    try:
        files = [(p, f, _contract_for(feed, f)) for p, _ in chunk for f in p.files]
        # Downloads (object storage) and checksums run in threads ahead of DuckDB's first
        # look at each file; both release the GIL.
        with ThreadPoolExecutor(max_workers=2) as pool:
            fetched = [pool.submit(_fetch, f) if c is not None else None for _, f, c in files]
            for index, ((partition, file, contract), ready) in enumerate(
                zip(files, fetched, strict=True)
            ):
                staged.append(_stage_file(con, index, partition, file, contract, ready))
        groups = _check_groups(con, staged, pii_key)
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
            for group in groups:
                stored = stored_columns(group.contract)
                con.execute(
                    f"""
                    insert into raw.{group.contract.table} ({", ".join(stored)}, _dt,
                                                           _source_file, _row_number,
                                                           _run_id, _loaded_at)
                    select {", ".join(f"c.{name}" for name in stored)}, f.dt, f.source_file,
                           c._row_number, ?, now()
                    from {group.valid} c join _files f on f.file_index = c._file
                    """,
                    [run_id],
                )
                con.execute(
                    f"""
                    insert into audit.quarantine
                    select ?, ?, ?, f.dt, f.source_file, c._row_number, c._reason, c._record, now()
                    from {group.rejects} c join _files f on f.file_index = c._file
                    """,
                    [run_id, feed, group.contract.table],
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
            _check_unchanged(staged)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    finally:
        for table in _temp_tables(con) - temp_before:
            con.execute(f'drop table if exists temp."{table}"')
    return staged


def _temp_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "select table_name from duckdb_tables() where database_name = 'temp'"
        ).fetchall()
    }


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
    # Raw rows carry their file and row number; nothing reads them in storage order. Not
    # keeping that order lets both threads append at once: about a second less for the
    # 2.6M order rows of 1M orders.
    con.execute("set preserve_insertion_order = false")
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
                rows = result.partition_rows.setdefault((s.contract.table, s.partition.dt), [0, 0])
                rows[0] += s.rows_loaded
                rows[1] += s.rows_quarantined
            result.files_rejected += s.file_status == "quarantined"
    return result
