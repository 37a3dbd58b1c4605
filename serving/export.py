"""Exports for people who want files: a published table as CSV, XLSX or Parquet.

Read from serving.duckdb only, with DuckDB's own writers (the ``excel`` extension ships as
``duckdb-extension-excel``). The optional filter is the user's SQL: it runs on a read-only
connection that cannot touch files (``enable_external_access = false``), and only its
result reaches the writer. In CSV and XLSX a text cell that a spreadsheet would take for a
formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is
neutralised with a leading apostrophe, as OWASP recommends against formula injection. CSV is
UTF-8 with a byte-order mark, so that Excel shows Chinese text as it is.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion.duck import load_extension, sql_literal
from quality.published import PUBLISHED_TABLES

FORMATS = ("csv", "xlsx", "parquet")
FORMULA_STARTS = "^[=+\\-@\t\r]"
UTF8_BOM = b"\xef\xbb\xbf"


class ExportError(ValueError):
    """The export cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class Export:
    table: str
    path: Path
    rows: int


def published_table(name: str) -> str:
    """``market_monthly`` or ``marts.market_monthly`` -> the published table it names."""
    if name in PUBLISHED_TABLES:
        return name
    matches = [t for t in PUBLISHED_TABLES if t.split(".", 1)[1] == name]
    if len(matches) != 1:
        raise ExportError(
            f"{name!r} is not a published table; choose one of {', '.join(PUBLISHED_TABLES)}"
        )
    return matches[0]


def export_table(
    serving_path: Path, table: str, fmt: str, out: Path, where: str | None = None
) -> Export:
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    table = published_table(table)
    if not serving_path.exists():
        raise ExportError(f"{serving_path} does not exist: run `yimei run` first")
    result = _read(serving_path, table, where, neutralise=fmt != "parquet")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        _write(result, fmt, tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return Export(table, out, result.num_rows)


def _read(serving_path: Path, table: str, where: str | None, neutralise: bool):
    con = duckdb.connect(
        str(serving_path),
        read_only=True,
        config={"enable_external_access": False, "lock_configuration": True},
    )
    try:
        columns = con.execute(
            "select column_name, data_type from duckdb_columns() "
            "where schema_name = ? and table_name = ? order by column_index",
            table.split("."),
        ).fetchall()
        select = ", ".join(
            _neutralised(name) if neutralise and data_type == "VARCHAR" else f'"{name}"'
            for name, data_type in columns
        )
        query = f"select {select} from {table}"
        if where:
            query += f" where {where}"
        try:
            if len(duckdb.extract_statements(query)) != 1:
                raise ExportError("the filter must be one SQL expression, not statements")
            return con.execute(query).fetch_arrow_table()
        except duckdb.Error as error:
            raise ExportError(f"the filter does not apply to {table}: {error}") from error
    finally:
        con.close()


def _neutralised(column: str) -> str:
    quoted = f'"{column}"'
    return (
        f"case when regexp_matches({quoted}, {sql_literal(FORMULA_STARTS)}) "
        f"then '''' || {quoted} else {quoted} end as {quoted}"
    )


def _write(result, fmt: str, path: Path) -> None:
    con = duckdb.connect()
    try:
        con.register("export", result)
        target = sql_literal(str(path))
        if fmt == "parquet":
            con.execute(f"copy export to {target} (format parquet)")
        elif fmt == "csv":
            plain = path.with_name(path.name + ".plain")
            try:
                con.execute(f"copy export to {sql_literal(str(plain))} (format csv, header true)")
                with path.open("wb") as out, plain.open("rb") as data:
                    out.write(UTF8_BOM)
                    shutil.copyfileobj(data, out)
            finally:
                plain.unlink(missing_ok=True)
        else:
            load_extension(con, "excel")
            con.execute(f"copy export to {target} (format xlsx, header true)")
    finally:
        con.close()
