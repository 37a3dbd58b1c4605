"""DuckDB connections with what yimei needs loaded, and small SQL helpers."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

# One setting bounds DuckDB's memory on every connection: the loader's, dbt's (profiles.yml
# reads the same variables), the governance checks' and the publish step's. Past the limit
# DuckDB spills to the temp directory instead of failing or swapping. 4 GB leaves the rest of
# a 6 GB budget to Python (Dagster, Great Expectations' frames) at 10M orders; machines with
# less than 8 GB get half their memory.
MEMORY_LIMIT_ENV = "YIMEI_DUCKDB_MEMORY_LIMIT"
TEMP_DIR_ENV = "YIMEI_DUCKDB_TEMP_DIR"
DEFAULT_MEMORY_LIMIT_GB = 4


def default_memory_limit() -> str:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX: keep the default
        return f"{DEFAULT_MEMORY_LIMIT_GB}GB"
    return f"{min(DEFAULT_MEMORY_LIMIT_GB * 1024, total // 2 // 2**20)}MB"


def memory_limit() -> str:
    return os.environ.get(MEMORY_LIMIT_ENV) or default_memory_limit()


def temp_directory() -> str:
    """Where DuckDB spills: beside the warehouse, on the disk that holds the data."""
    data_dir = Path(os.environ.get("YIMEI_DATA_DIR", "data")).resolve()
    return os.environ.get(TEMP_DIR_ENV) or str(data_dir / "duckdb_tmp")


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All the statements inside, or none: committed when the block ends, rolled back when it
    raises (a kill leaves the transaction uncommitted, and DuckDB's WAL never replays it)."""
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def has_table(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    """Whether ``schema.table`` exists in the connection's default database."""
    schema, table = qualified.split(".")
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load a DuckDB extension from its PyPI wheel (``duckdb-extension-<name>``, pinned with
    DuckDB itself): nothing is downloaded at run time."""
    package = importlib.import_module(f"duckdb_extension_{name}")
    root = Path(package.__file__).parent
    path = root / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    con.execute(f"load {sql_literal(str(path))}")


def load_encodings(con: duckdb.DuckDBPyConnection) -> None:
    """Make ``read_csv(..., encoding = 'gb18030')`` work on this database. Done where a GBK
    file is read, not on every connection: the extension is 350 MB and takes over a
    second to load. Loading it again is a no-op."""
    load_extension(con, "encodings")


def connect(path: str | Path = ":memory:", read_only: bool = False) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(
        str(path),
        read_only=read_only,
        config={"memory_limit": memory_limit(), "temp_directory": temp_directory()},
    )
    return _session(con)


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A connection of its own to ``con``'s database, for another thread: DuckDB's way for
    threads (``con.cursor()``). A second ``duckdb.connect`` of the same file while the first
    connection closes attaches it again, and DuckDB 1.5 can then fail with "Unique file handle
    conflict" (seen when a loader thread connected as the main thread closed its connection)."""
    return _session(con.cursor())


def _session(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    # a setting of the connection, not of the database: a cursor does not inherit it
    con.execute("set TimeZone = 'Asia/Shanghai'")
    return con
