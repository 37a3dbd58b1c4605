"""The floor for ingestion: plain DuckDB loading the same landed files straight into tables.

No contract, no validation, no quarantine, no hashing, no audit: `create table as select *
from read_parquet / read_csv / read_json` per landed table over the files of its complete
partitions. Files the bad-delivery injection made unreadable are skipped (and counted).
"""

from __future__ import annotations

import fnmatch
import time
from collections import defaultdict
from pathlib import Path

import duckdb

from ingestion.contract import FEEDS, TableContract
from ingestion.duck import connect, load_encodings, sql_literal
from ingestion.landing import list_partitions

try:  # how ingestion tells GBK from UTF-8; a local copy if that helper moves
    from ingestion.readers import detect_encoding
except ImportError:  # pragma: no cover

    def detect_encoding(path: Path) -> str:
        head = path.read_bytes()[: 1 << 16]
        try:
            head.decode("utf-8")
        except UnicodeDecodeError:
            return "gb18030"
        return "utf-8"


def landed_files(landing: Path, contract: TableContract) -> list[Path]:
    """Files of a table in the complete partitions of its feed, oldest first."""
    files = []
    for partition in list_partitions(landing, contract.feed):
        if partition.complete:
            files += [
                f.path
                for f in partition.files
                if fnmatch.fnmatch(f.path.name, contract.file_pattern)
            ]
    return files


def _reader(kind: str, paths: list[Path]) -> str:
    listed = "[" + ", ".join(sql_literal(str(p)) for p in paths) + "]"
    if kind == "parquet":
        return f"read_parquet({listed}, union_by_name = true, hive_partitioning = false)"
    if kind == "json":
        return (
            f"read_json({listed}, format = 'newline_delimited', union_by_name = true, "
            "ignore_errors = true, hive_partitioning = false)"
        )
    encoding = kind.removeprefix("csv:")
    return (
        f"read_csv({listed}, header = true, union_by_name = true, ignore_errors = true, "
        f"encoding = '{encoding}', hive_partitioning = false)"
    )


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return "parquet"
    if suffix in (".jsonl", ".json"):
        return "json"
    return "csv:" + ("gb18030" if detect_encoding(path) == "gb18030" else "utf-8")


def _load(con: duckdb.DuckDBPyConnection, table: str, kind: str, paths: list[Path]) -> list[Path]:
    """Load `paths` into `table`; returns the files skipped as unreadable."""
    if kind == "csv:gb18030":
        load_encodings(con)  # as ingestion does, only where a GBK file is read
    try:
        con.execute(f"create or replace table {table} as select * from {_reader(kind, paths)}")
        return []
    except duckdb.Error:
        pass
    good, skipped = [], []
    for path in paths:  # find the unreadable files one by one, then load the rest at once
        try:
            con.execute(f"select count(*) from {_reader(kind, [path])}").fetchone()
            good.append(path)
        except duckdb.Error:
            skipped.append(path)
    if not good:
        return skipped
    try:
        con.execute(f"create or replace table {table} as select * from {_reader(kind, good)}")
        return skipped
    except duckdb.Error:
        pass
    # Schemas that do not combine in one scan: one temp table per file, unioned by name.
    parts = []
    for i, path in enumerate(good):
        try:
            con.execute(f"create temp table _f{i} as select * from {_reader(kind, [path])}")
            parts.append(f"select * from _f{i}")
        except duckdb.Error:
            skipped.append(path)
    if parts:
        con.execute(f"create or replace table {table} as {' union all by name '.join(parts)}")
        for i in range(len(good)):
            con.execute(f"drop table if exists _f{i}")
    return skipped


def _files_by_kind(landing: Path, contract: TableContract) -> dict[str, list[Path]]:
    by_kind: dict[str, list[Path]] = defaultdict(list)
    for path in landed_files(landing, contract):
        if path.stat().st_size > 0:
            by_kind[_kind(path)].append(path)
    return by_kind


def run_floor(landing: Path, db_path: Path) -> dict:
    """Load every landed table into a fresh DuckDB file; time per table and in total."""
    if db_path.exists():
        db_path.unlink()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = connect(db_path)
    tables: dict[str, dict] = {}
    started = time.perf_counter()
    try:
        for contract in (c for contracts in FEEDS.values() for c in contracts):
            table_started = time.perf_counter()
            by_kind = _files_by_kind(landing, contract)
            rows, skipped, files = 0, 0, 0
            for kind, paths in sorted(by_kind.items()):
                name = f"{contract.table}__{kind.replace(':', '_').replace('-', '_')}"
                skipped_files = _load(con, name, kind, paths)
                skipped += len(skipped_files)
                files += len(paths)
                exists = con.execute(  # no bound parameters: they import pandas (slow)
                    f"select count(*) from duckdb_tables() where table_name = {sql_literal(name)}"
                ).fetchone()[0]
                if exists:
                    rows += con.execute(f"select count(*) from {name}").fetchone()[0]
            tables[contract.table] = {
                "wall_s": time.perf_counter() - table_started,
                "rows": rows,
                "files": files,
                "files_skipped": skipped,
            }
        con.execute("checkpoint")
    finally:
        con.close()
    total = time.perf_counter() - started
    rows = sum(t["rows"] for t in tables.values())
    return {
        "wall_s": total,
        "rows": rows,
        "rows_per_s": rows / total if total else None,
        "tables": tables,
    }
