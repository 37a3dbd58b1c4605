"""Load complete delivery partitions into ``raw``: one transaction per chunk.

Partitions load in chunks. The files of a chunk are staged and checked first
(``staging``); then one transaction deletes the earlier deliveries of those ``dt`` (if
any) and writes the new rows, quarantine and audit rows included (``audit``), and
commits. A crash in the middle leaves the warehouse as it was before the chunk: no
partition is ever half-loaded.
A partition whose files are unchanged since its last load is skipped, so a
re-run is a no-op; a re-sent partition (new files, new ``_SUCCESS``) replaces
the earlier delivery of that ``dt`` exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from ingestion import audit, faults
from ingestion.audit import LOAD_COLUMNS, known_deliveries
from ingestion.contract import FEEDS, RESOLVED_AGAINST
from ingestion.duck import cursor, sql_literal
from ingestion.lake import LakeChunk
from ingestion.landing import Partition, list_partitions
from ingestion.staging import (
    DeliveryChanged,
    StagedFile,
    check_groups,
    check_unchanged,
    contract_for,
    fetch,
    stage_file,
    unsafe_reason,
)
from ingestion.validate import stored_columns

__all__ = ["DeliveryChanged", "load_feed", "load_feeds", "load_partitions", "pending_partitions"]

LOAD_COLUMN_NAMES = [name for name, _ in LOAD_COLUMNS]


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
    seconds: float = 0.0  # the whole call, wall clock


# A chunk of partitions is read, checked and committed together. DuckDB's costs per
# statement (planning the wide validation expression) and per commit (a checkpoint
# once the WAL passes its threshold) are paid once per chunk and file layout instead
# of once per file: at 1M orders, one chunk of a year loads orders in 24 s, chunks of
# 64 days in 38 s. Bounded by bytes so the rows a chunk holds in temp tables (CSV and
# JSON Lines; Parquet is scanned where it lies) stay a few GB (DuckDB spills temp tables
# to disk beyond its memory limit).
CHUNK_PARTITIONS = 400
CHUNK_BYTES = 512 << 20


def _stage_chunk(
    con: duckdb.DuckDBPyConnection, chunk: list[tuple[Partition, tuple | None]], pii_key: bytes
) -> list[StagedFile]:
    feed = chunk[0][0].feed
    files = [(p, f, contract_for(feed, f)) for p, _ in chunk for f in p.files]
    staged = []
    # Downloads (object storage) and checksums run in threads ahead of DuckDB's first
    # look at each file; both release the GIL. A file that must not be opened (outside
    # the landing root) is never handed to them.
    with ThreadPoolExecutor(max_workers=2) as pool:
        fetched = [
            pool.submit(fetch, f) if c is not None and unsafe_reason(f) is None else None
            for _, f, c in files
        ]
        for index, ((partition, file, contract), ready) in enumerate(
            zip(files, fetched, strict=True)
        ):
            staged.append(stage_file(con, index, partition, file, contract, ready, pii_key))
    return staged


def load_partitions(
    con: duckdb.DuckDBPyConnection,
    chunk: list[tuple[Partition, tuple | None]],
    pii_key: bytes,
    run_id: str,
    lake_dir: Path | None = None,
) -> list[StagedFile]:
    """Load (or replace) partitions of one feed in one transaction.

    ``chunk`` pairs each partition with its earlier load (fingerprint, deliveries)
    or None. Every file is read and checked before the transaction starts; the
    transaction deletes the earlier deliveries of those ``dt`` and writes the new
    rows, quarantine and audit, so a crash leaves no partition half-loaded.
    With ``lake_dir`` (the Spark engine) the rows go to the lake's Parquet instead of
    ``raw``: staged during the transaction and swapped in just before it commits
    (ingestion/lake.py).
    """
    feed = chunk[0][0].feed
    temp_before = _temp_tables(con)
    dts = [p.dt for p, _ in chunk]
    lake = LakeChunk(lake_dir, [c.table for c in FEEDS[feed]], dts) if lake_dir else None
    try:
        staged = _stage_chunk(con, chunk, pii_key)
        groups = check_groups(con, staged, pii_key, lake_dir)
        faults.point("ingest:checked")
        replaced = {p.dt for p, previous in chunk if previous is not None}
        audit.register_rows(
            con,
            "_files",
            [
                {"file_index": s.index, "dt": s.partition.dt, "source_file": s.file.relative}
                for s in staged
            ],
        )
        con.execute("begin transaction")
        try:
            if lake is None:
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
                rows = f"""
                    select {", ".join(f"c.{name}" for name in stored)}, f.dt as _dt,
                           f.source_file as _source_file, c._row_number,
                           {sql_literal(run_id)} as _run_id, now() as _loaded_at
                    from {group.valid} c join _files f on f.file_index = c._file
                """
                if lake is None:
                    columns = ", ".join([*stored, *LOAD_COLUMN_NAMES])
                    con.execute(f"insert into raw.{group.contract.table} ({columns}) {rows}")
                else:
                    lake.write(con, group.contract.table, rows)
                audit.quarantine_group(con, group.rejects, run_id, feed, group.contract.table)
            audit.quarantine_files(
                con, [s for s in staged if s.file_status == "quarantined"], run_id, feed
            )
            audit.record_files(con, staged, run_id, replaced)
            audit.record_partitions(con, staged, chunk, run_id)
            faults.point("ingest:before_commit")
            check_unchanged(staged)
            if lake is not None:
                lake.swap_in()
            con.execute("commit")
        except BaseException as error:
            con.execute("rollback")
            if isinstance(error, duckdb.Error):
                check_unchanged(staged)  # a file that vanished mid-load is said as such
            raise
    finally:
        if lake is not None:
            lake.discard()
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
    lake_dir: Path | None = None,
) -> FeedLoadResult:
    """Load every complete partition of a feed that is new or was re-sent, or only those
    among ``delivery_dates`` (the Dagster partitions of a run) when given; into the lake
    under ``lake_dir`` (the Spark engine) when given, else into ``raw``."""
    started = time.perf_counter()
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
        staged = load_partitions(con, chunk, pii_key, run_id, lake_dir)
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
    result.seconds = time.perf_counter() - started
    return result


# Feeds load two at a time, each on a connection of its own. One feed keeps DuckDB on about
# one core of the two (the CSV feeds are read file by file, in order) to 1.6 (orders), so
# one after the other the 2-core target machine idled a core for long stretches: at 1M
# orders the four feeds took 24.7 s one after the other, 18.2 s two at a time (the plain
# DuckDB floor: 15.8 s).
LOAD_WORKERS = 2


def load_feeds(
    open_connection: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]],
    feeds: Sequence[str],
    load: Callable[[duckdb.DuckDBPyConnection, str], FeedLoadResult],
    workers: int = LOAD_WORKERS,
) -> Iterator[FeedLoadResult]:
    """Run ``load(con, feed)`` for each of ``feeds``, ``workers`` at a time in threads, each
    on a connection of its own (DuckDB connections are not shared between threads) to the
    database of one connection from ``open_connection``, open until they finish, each feed
    once the feeds it is resolved against (``RESOLVED_AGAINST``) among them have loaded, in the
    order given otherwise; yield each result as its feed completes.

    The schemas are created first, on that connection: two transactions creating them at
    once conflict. After a failure no feed starts: the ones loading finish (each chunk
    commits whole or not at all) and are yielded, then the first error is raised.
    """
    failure: BaseException | None = None
    with open_connection() as con:
        audit.ensure_schema(con)

        def run(feed: str) -> FeedLoadResult:
            worker = cursor(con)
            try:
                return load(worker, feed)
            finally:
                worker.close()

        pending, loaded = list(feeds), set()
        running: dict[Future[FeedLoadResult], str] = {}
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="load") as pool:
            while True:
                while failure is None and len(running) < workers:
                    ready = next(
                        (
                            feed
                            for feed in pending
                            if all(
                                needed in loaded or needed not in feeds
                                for needed in RESOLVED_AGAINST.get(feed, ())
                            )
                        ),
                        None,
                    )
                    if ready is None:
                        break
                    pending.remove(ready)
                    running[pool.submit(run, ready)] = ready
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    feed = running.pop(future)
                    try:
                        result = future.result()
                    except BaseException as error:  # noqa: BLE001 - raised once the others finish
                        failure = failure or error
                        continue
                    loaded.add(feed)
                    yield result
    if failure is not None:
        raise failure
