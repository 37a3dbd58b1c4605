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


def connect(path: str | Path = ":memory:", read_only: bool = False) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("set TimeZone = 'Asia/Shanghai'")
    con.execute(f"load {sql_literal(str(encodings_extension_path()))}")
    return con
