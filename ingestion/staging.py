"""The files of a chunk staged and checked before its transaction.

DuckDB aborts a whole transaction on any error, so every read that may fail
(truncated Parquet, broken CSV, a corrupt page, a file outside the landing root) happens
here, before the transaction starts: the rejects are found in a pass over every row of
every file. The transaction (``loader.load_partitions``) reads the same files again to
insert the valid rows; only an I/O failure can stop it there, and then the chunk rolls
back whole.
"""

from __future__ import annotations

import fnmatch
import logging
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion import lake
from ingestion.contract import FEEDS, TableContract
from ingestion.landing import LandedFile, Partition
from ingestion.readers import (
    DUCKDB_READER,
    FileRejected,
    ParquetLayout,
    inspect_parquet,
    parquet_scan_sql,
    read_csv,
    read_jsonl_files,
)
from ingestion.reference import procedure_codes
from ingestion.validate import create_rejects, valid_rows_sql

log = logging.getLogger(__name__)

# What a file that passed its first look can still raise when its rows are read: a
# corrupt Parquet page, invalid UTF-8 in JSON Lines. Anything else is a bug and fails.
UNREADABLE = (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException)

# Characters DuckDB's readers take as a glob, and control characters: a landed name with
# one cannot be read as exactly that one file.
_UNSAFE_NAME = set("*?[]{}") | {chr(c) for c in range(32)}


class DeliveryChanged(RuntimeError):
    """A landed file changed while it was being loaded (a re-send mid-load)."""

    @classmethod
    def of(cls, relative: str, how: str) -> DeliveryChanged:
        return cls(
            f"{relative} {how} while it was being loaded (re-sent or deleted?): nothing of "
            "this load was written; the next run loads the new delivery"
        )


@dataclass
class StagedFile:
    """A file looked at outside the transaction, with what its load counted."""

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
    reader: str | None = None  # which reader read it (readers.DUCKDB_READER, ...)
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


def contract_for(feed: str, file: LandedFile) -> TableContract | None:
    name = file.path.name
    for contract in FEEDS[feed]:
        if fnmatch.fnmatch(name, contract.file_pattern):
            return contract
    return None


def unsafe_reason(file: LandedFile) -> str | None:
    """Why a landed file must not be opened at all, if it must not."""
    if file.outside_root:
        return "outside the landing root (a link to a file elsewhere): not read"
    if _UNSAFE_NAME & set(file.relative):
        return "file name has glob or control characters: not read; rename it and re-send"
    return None


def fetch(file: LandedFile) -> tuple[Path, str]:
    """The local copy of a file and its checksum (run in a thread: both release the GIL)."""
    local = file.fetch()
    return local, file.sha256()


def check_unchanged(staged: list[StagedFile]) -> None:
    """The files are read twice (rejects, then valid rows) and checksummed apart: commit
    only if none changed since it was listed, so the rows checked are the rows loaded."""
    for s in staged:
        if s.file.remote is not None or s.local is None:  # a local copy, or never opened
            continue
        try:
            stat = s.file.path.stat()
            changed = (stat.st_size, stat.st_mtime_ns) != (s.file.size, s.file.mtime_ns)
        except FileNotFoundError:
            changed = True
        if changed:
            raise DeliveryChanged.of(s.file.relative, "changed")


def _references(
    con: duckdb.DuckDBPyConnection, contract: TableContract, lake_dir: Path | None
) -> dict[str, str]:
    """Known values an order must resolve to (GOV-11)."""
    if contract.table != "orders":
        return {}

    def loaded(table: str) -> str:
        return (lake.raw_relation(lake_dir, table) if lake_dir else None) or f"raw.{table}"

    con.execute(
        "create or replace temp table _known_clinics as select distinct clinic_id as value "
        f"from {loaded('clinics')} where clinic_id is not null"
    )
    con.execute(
        "create or replace temp table _known_doctors as select distinct doctor_id as value "
        f"from {loaded('doctors')} where doctor_id is not null"
    )
    con.execute("create or replace temp table _known_procedures (value varchar)")
    con.executemany("insert into _known_procedures values (?)", [[c] for c in procedure_codes()])
    return {
        "clinic_id": "_known_clinics",
        "doctor_id": "_known_doctors",
        "procedure_code": "_known_procedures",
    }


def _note_columns(staged: StagedFile, extra: tuple[str, ...], missing: tuple[str, ...]) -> None:
    staged.extra_columns = ",".join(extra) or None
    staged.missing_columns = ",".join(missing) or None
    if extra:
        log.warning(
            "%s has columns its contract does not name, which were not loaded: %s",
            staged.file.relative,
            ", ".join(extra[:20]) + (" …" if len(extra) > 20 else ""),
        )
    if missing:
        log.warning(
            "%s lacks optional columns, loaded as empty: %s",
            staged.file.relative,
            ", ".join(missing),
        )


def stage_file(
    con: duckdb.DuckDBPyConnection,
    index: int,
    partition: Partition,
    file: LandedFile,
    contract: TableContract | None,
    fetched: Future[tuple[Path, str]] | None,
    pii_key: bytes,
) -> StagedFile:
    """First look: a Parquet footer, a whole CSV (each has its own header and encoding);
    JSON Lines and Parquet rows are read later, many files per scan. Rows are counted
    (and empty files rejected) once every group is read, in ``check_groups``.
    ``fetched`` gives the local copy and its checksum (``fetch``)."""
    if contract is None:
        staged = StagedFile(index, partition, file, None, None)
        staged.file_status, staged.file_reason = "ignored", "not a file of this feed"
        return staged
    if fetched is None:  # unsafe_reason said no: never opened
        staged = StagedFile(index, partition, file, contract, None)
        staged.reject(unsafe_reason(file) or "not read")
        return staged
    try:
        local, checksum = fetched.result()
    except FileNotFoundError as error:
        raise DeliveryChanged.of(file.relative, "vanished") from error
    staged = StagedFile(index, partition, file, contract, checksum, local=local)
    suffix = local.suffix.lower()
    try:
        if contract.file_format == "jsonl":
            if local.stat().st_size == 0:
                raise FileRejected("empty file (0 bytes)")
            staged.present, staged.encoding = tuple(c.name for c in contract.columns), "utf-8"
            staged.reader = DUCKDB_READER  # unless its group needs Python (_source_of)
        elif contract.file_format == "parquet_or_csv" and suffix == ".parquet":
            layout = staged.layout = inspect_parquet(con, contract, local)
            staged.present, staged.encoding = layout.columns, "parquet"
            staged.reader = DUCKDB_READER
            _note_columns(staged, layout.extra_columns, layout.missing_columns)
        elif suffix == ".csv":
            result = read_csv(con, contract, local, pii_key)
            staged.source_table = f"_src_{index}"
            con.execute(f"alter table _src rename to {staged.source_table}")
            staged.present, staged.encoding = result.columns, result.encoding
            staged.reader = result.reader
            _note_columns(staged, result.extra_columns, result.missing_columns)
        else:
            raise FileRejected(f"unexpected file type {suffix or '(none)'} for {contract.table}")
    except FileRejected as rejected:
        staged.reject(str(rejected))
    return staged


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


def _source_of(
    con: duckdb.DuckDBPyConnection, members: list[StagedFile], name: str, pii_key: bytes
) -> str:
    """The rows of one group's files as delivered: a scan of the Parquet files, the JSON
    Lines files read into temp table ``name``, or the union of the CSV files read."""
    first = members[0]
    files = [(s.index, s.local) for s in members]
    if first.layout is not None:
        return parquet_scan_sql(first.layout, files)
    if first.source_table is None:
        extra, reader = read_jsonl_files(con, first.contract, files, pii_key)
        for staged in members:
            staged.reader = reader
        for index, keys in extra.items():
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
    con: duckdb.DuckDBPyConnection, members: list[StagedFile], name: str, pii_key: bytes
) -> list[StagedFile]:
    """Read the files of a group that failed as a whole one by one into temp table
    ``name``, rejecting the ones that cannot be read."""
    readable = []
    for s in members:
        try:
            source = _source_of(con, [s], f"_one_{s.index}", pii_key)
            if source != f"_one_{s.index}":
                con.execute(f"create temp table _one_{s.index} as select * from {source}")
        except UNREADABLE as error:
            kind = "Parquet (corrupt)" if s.layout is not None else "JSON Lines file"
            first_line = str(error).strip().splitlines()[0][:200]
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


def check_groups(
    con: duckdb.DuckDBPyConnection,
    staged: list[StagedFile],
    pii_key: bytes,
    lake_dir: Path | None = None,
) -> list[CheckedGroup]:
    """Find the rows of each group that break the contract; count the rows read, loaded
    and quarantined per file. Orders resolve against the CRM loaded so far: ``raw``, or the
    lake under ``lake_dir`` (the Spark engine)."""
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
            references[contract.table] = _references(con, contract, lake_dir)
        rows, rejects = f"_rows_{number}", f"_rej_{number}"
        try:
            source = _source_of(con, members, rows, pii_key)
            create_rejects(
                con, contract, source, rejects, present, pii_key, references[contract.table], trim
            )
        except UNREADABLE:
            # Some file fails beyond what its first look showed (a corrupt Parquet page):
            # read file by file, so only that file is lost.
            members = _read_one_by_one(con, members, rows, pii_key)
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
