"""DuckDB connections with what yimei needs loaded, and small SQL helpers."""

from __future__ import annotations

from pathlib import Path

import duckdb


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def encodings_extension_path() -> Path:
    """The encodings extension ships in a PyPI wheel: nothing is downloaded at run time."""
    import duckdb_extension_encodings

    package = Path(duckdb_extension_encodings.__file__).parent
    return package / "extensions" / f"v{duckdb.__version__}" / "encodings.duckdb_extension"


def load_encodings(con: duckdb.DuckDBPyConnection) -> None:
    """Make ``read_csv(..., encoding = 'gb18030')`` work on this database. Done where a GBK
    file is read, not on every connection: the extension is 350 MB and takes over a
    second to load. Loading it again is a no-op."""
    con.execute(f"load {sql_literal(str(encodings_extension_path()))}")


def connect(path: str | Path = ":memory:", read_only: bool = False) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("set TimeZone = 'Asia/Shanghai'")
    return con
