"""Readers: landed files in, rows for the validator out.

CSV is read file by file (each has its own header and encoding) into a temp table;
JSON Lines files are read together into the temp table ``_src``; Parquet files of one
layout become one scan (``parquet_scan_sql``) that the validator reads directly. Each
gives

- one column per contract column, named with the English contract name (the
  Chinese registry headers are mapped here, through ``Column.header``), in the
  delivered type (VARCHAR for text formats, the Parquet type for Parquet);
- ``_row_number``: 1-based data row, line or Parquet row;
- ``_file`` (multi-file readers): the loader's index of the file of the row;
- ``_pre_reason``: a reason found while reading a row (broken JSON line, JSON
  value of the wrong type), NULL otherwise.

A file that cannot be read at all raises ``FileRejected`` with a readable reason;
the loader quarantines it whole and goes on with the partition's other files.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion.contract import BOOL, DATE, DECIMAL, INT, SQL_TYPES, TEXT, TIMESTAMP, TableContract
from ingestion.duck import load_encodings, sql_literal

UTF8_BOM = codecs.BOM_UTF8
# Its record is not kept: a broken line cannot be parsed, so its personal fields
# cannot be hashed.
BROKEN_LINE = "broken JSON line"


def _first_line(error: Exception, lines: int = 1) -> str:
    return " / ".join(str(error).strip().splitlines()[:lines])


class FileRejected(Exception):
    """The file as a whole breaks the contract; the message says why."""


@dataclass(frozen=True)
class ReadResult:
    columns: tuple[str, ...]  # contract columns present in the file
    missing_columns: tuple[str, ...]  # contract columns absent (nullable ones are NULL-filled)
    extra_columns: tuple[str, ...]  # delivered columns the contract does not know
    encoding: str


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) or GB18030, told apart by the bytes, not configured.

    GB18030 is a superset of GBK, so a GBK registry export decodes with it; a
    UTF-8 re-export decodes as UTF-8. Valid GBK text is almost never valid UTF-8.
    """
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    if head.startswith(UTF8_BOM):
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=len(head) < (1 << 16))
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _header(path: Path, encoding: str) -> list[str]:
    with path.open("rb") as handle:
        first = handle.readline()
    text = first.decode(encoding if encoding != "gb18030" else "gb18030", errors="strict")
    text = text.lstrip("\ufeff")
    row = next(csv.reader(io.StringIO(text)), [])
    return [name.strip() for name in row]


def _map_columns(
    contract: TableContract, delivered: list[str]
) -> tuple[dict[str, str], ReadResult]:
    by_delivered = {c.delivered_name: c.name for c in contract.columns}
    # Accept the English name for registries too: some exports carry it.
    by_delivered.update({c.name: c.name for c in contract.columns})
    mapping = {}
    extra = []
    for name in delivered:
        if name in by_delivered and by_delivered[name] not in mapping.values():
            mapping[name] = by_delivered[name]
        else:
            extra.append(name)
    present = tuple(c.name for c in contract.columns if c.name in mapping.values())
    missing = tuple(c.name for c in contract.columns if c.name not in mapping.values())
    _require(contract, missing)
    return mapping, ReadResult(present, missing, tuple(extra), "")


def _require(contract: TableContract, missing: tuple[str, ...]) -> None:
    missing_required = [c for c in missing if contract.column(c).required]
    if missing_required:
        raise FileRejected(f"missing required column(s): {', '.join(missing_required)}")


def read_csv(con: duckdb.DuckDBPyConnection, contract: TableContract, path: Path) -> ReadResult:
    if path.stat().st_size == 0:
        raise FileRejected("empty file (0 bytes)")
    encoding = detect_encoding(path)
    try:
        delivered = _header(path, encoding)
    except UnicodeDecodeError as error:
        raise FileRejected(f"header is neither UTF-8 nor GBK: {error}") from error
    if not any(delivered):
        raise FileRejected("no header row")
    mapping, result = _map_columns(contract, delivered)
    # Every delivered column is read as text; positions, not names, tie data to header.
    columns = ", ".join(f"{sql_literal(f'c{i}')}: 'VARCHAR'" for i in range(len(delivered)))
    select = ", ".join(
        f'"c{i}" as "{mapping[name]}"' for i, name in enumerate(delivered) if name in mapping
    )
    duck_encoding = "gb18030" if encoding == "gb18030" else "utf-8"
    if duck_encoding == "gb18030":
        load_encodings(con)
    try:
        con.execute(
            f"""
            create or replace temp table _src as
            select {select}, row_number() over () as _row_number,
                   null::varchar as _pre_reason
            from read_csv({sql_literal(str(path))}, header = true, auto_detect = false,
                          columns = {{{columns}}}, delim = ',', quote = '"', escape = '"',
                          strict_mode = true, hive_partitioning = false,
                          encoding = '{duck_encoding}')
            """
        )
    except duckdb.Error as error:
        raise FileRejected(f"unreadable CSV: {_first_line(error, 2)}") from error
    # Rows are counted by the loader, once per group of files (loader._check_groups).
    return ReadResult(result.columns, result.missing_columns, result.extra_columns, encoding)


# Parquet physical types accepted per contract kind; anything else rejects the file,
# because a whole column of the wrong type is an upstream schema change, not a bad row.
_PARQUET_TYPES = {
    TEXT: ("VARCHAR",),
    INT: ("INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT", "UINTEGER", "USMALLINT"),
    DECIMAL: ("DECIMAL", "DOUBLE", "FLOAT"),
    TIMESTAMP: ("TIMESTAMP WITH TIME ZONE",),
    DATE: ("DATE",),
    BOOL: ("BOOLEAN",),
}


@dataclass(frozen=True)
class ParquetLayout:
    """What one Parquet file's footer says, checked against the contract.

    Files of a chunk with the same layout are read with one ``read_parquet([...])``
    scan instead of one statement per file.
    """

    mapping: tuple[tuple[str, str], ...]  # (delivered column, contract column)
    casts: tuple[tuple[str, str], ...]  # (delivered column, SQL type) for all-NULL columns
    columns: tuple[str, ...]  # contract columns present
    missing_columns: tuple[str, ...]
    extra_columns: tuple[str, ...]


def inspect_parquet(
    con: duckdb.DuckDBPyConnection, contract: TableContract, path: Path
) -> ParquetLayout:
    """Read the footer only; raise FileRejected if the file cannot be a delivery."""
    if path.stat().st_size == 0:
        raise FileRejected("empty file (0 bytes)")
    try:
        schema = con.execute(
            f"describe select * from read_parquet({sql_literal(str(path))}, "
            "hive_partitioning = false)"
        ).fetchall()
    except duckdb.Error as error:
        raise FileRejected(
            f"unreadable Parquet (truncated or corrupt): {_first_line(error)}"
        ) from error
    types = {name: dtype for name, dtype, *_ in schema}
    mapping, result = _map_columns(contract, list(types))
    casts = {}
    for delivered, name in mapping.items():
        kind = contract.column(name).kind
        accepted = _PARQUET_TYPES.get(kind, ("VARCHAR",))
        if not types[delivered].startswith(accepted):
            # A column written with no values at all carries no real type (Arrow's
            # null type); anything else of the wrong type is a schema change.
            non_null = con.execute(
                f'select count("{delivered}") from read_parquet({sql_literal(str(path))})'
            ).fetchone()[0]
            if non_null:
                raise FileRejected(
                    f"column {name} has Parquet type {types[delivered]}, expected {kind}"
                )
            casts[delivered] = SQL_TYPES[kind]
    return ParquetLayout(
        tuple(mapping.items()),
        tuple(sorted(casts.items())),
        result.columns,
        result.missing_columns,
        result.extra_columns,
    )


def parquet_scan_sql(layout: ParquetLayout, files: list[tuple[int, Path]]) -> str:
    """A parenthesised select over Parquet files of one layout, one scan for all of them;
    ``_file`` is the loader's index of the file each row came from. Not materialised:
    the validator reads it once (validate.create_checked)."""
    casts = dict(layout.casts)
    select = ", ".join(
        f'"{d}"::{casts[d]} as "{n}"' if d in casts else f'"{d}" as "{n}"'
        for d, n in layout.mapping
    )
    paths = ", ".join(sql_literal(str(path)) for _, path in files)
    indexes = ", ".join(str(index) for index, _ in files)
    return (
        f"(select {select}, [{indexes}][file_index::integer + 1] as _file, "
        "file_row_number + 1 as _row_number, null::varchar as _pre_reason "
        f"from read_parquet([{paths}], hive_partitioning = false))"
    )


# JSON value types (json_type) accepted per contract kind.
_JSON_TYPES = {
    TEXT: ("VARCHAR",),
    INT: ("BIGINT", "UBIGINT"),
    DECIMAL: ("BIGINT", "UBIGINT", "DOUBLE"),
    TIMESTAMP: ("VARCHAR",),
    DATE: ("VARCHAR",),
    BOOL: ("BOOLEAN",),
}


def read_jsonl_files(
    con: duckdb.DuckDBPyConnection, contract: TableContract, files: list[tuple[int, Path]]
) -> dict[int, tuple[str, ...]]:
    """Create ``_src`` from JSON Lines files in one pass over their text; returns, per
    file index, the delivered keys the contract does not know.

    Read as lines, so a broken line is one quarantined row, not a lost file;
    ``_row_number`` is the line number.
    """
    paths = ", ".join(sql_literal(str(path)) for _, path in files)
    indexes = ", ".join(str(index) for index, _ in files)
    # Broken lines are kept apart first: DuckDB may evaluate JSON functions on every
    # row of a projection, and one broken line must not fail the file. Lines are
    # almost always objects starting with "{", so trimming is paid only by the rest.
    con.execute(
        f"""
        create or replace temp table _docs as
        with files as (
            select [{indexes}][file_index::integer + 1] as _file,
                   string_split(content, chr(10)) as lines
            from read_text([{paths}])
        ),
        numbered as (
            select _file, unnest(lines) as line, unnest(range(1, len(lines) + 1)) as _row_number
            from files
        )
        select _file, _row_number, line,
               case when starts_with(line, '{{') then coalesce(json_valid(line), false)
                    else coalesce(json_valid(line) and starts_with(ltrim(line), '{{'), false)
               end as _valid
        from numbered
        where case when starts_with(line, '{{') then true else trim(line, ' \t\r') <> '' end
        """
    )
    paths_list = ", ".join(f"'$.{c.delivered_name}'" for c in contract.columns)
    selects, type_checks = [], []
    for i, column in enumerate(contract.columns, start=1):
        selects.append(f'_values[{i}] as "{column.name}"')
        accepted = ", ".join(f"'{t}'" for t in _JSON_TYPES.get(column.kind, ("VARCHAR",)))
        type_checks.append(
            f"case when _types[{i}] not in ({accepted}, 'NULL') "
            f"then '{column.name}: expected {column.kind}, got ' || lower(_types[{i}]) end"
        )
    known = {c.delivered_name.split(".")[0] for c in contract.columns}
    known |= {c.name for c in contract.columns}
    known_list = ", ".join(sql_literal(k) for k in sorted(known))
    con.execute(
        f"""
        create or replace temp table _src as
        with parsed as (
            select _file, _row_number,
                   json_extract_string(line, [{paths_list}]) as _values,
                   json_type(line, [{paths_list}]) as _types,
                   list_filter(json_keys(line), k -> k not in ({known_list})) as _extra
            from _docs where _valid
        )
        select {", ".join(selects)}, _file, _row_number,
               nullif(concat_ws('; ', {", ".join(type_checks)}), '') as _pre_reason,
               _extra
        from parsed
        union all
        select {", ".join("null" for _ in selects)}, _file, _row_number, '{BROKEN_LINE}',
               []::varchar[]
        from _docs where not _valid
        """
    )
    extra = con.execute(
        "select _file, list(distinct key order by key) from "
        "(select _file, unnest(_extra) as key from _src where len(_extra) > 0) group by _file"
    ).fetchall()
    con.execute("alter table _src drop column _extra")
    con.execute("drop table _docs")
    return {index: tuple(keys) for index, keys in extra}
