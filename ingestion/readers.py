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
- ``_pre_reason``: a reason found while reading a row (a malformed CSV line, a broken
  JSON line, a JSON value of the wrong type), NULL otherwise;
- ``_raw_line``: for a line that could not be parsed into fields (malformed CSV, broken
  JSON), its text with personal data masked by pattern (``pii.mask_pii_sql``), else NULL.

A malformed line is one row with its reason and raw text; the file's other lines still
load. CSV is read by DuckDB's reader (the fast path); a file that reader cannot read line by
line (it raises, or one line's open quote swallows the lines after it) is read again by the
standard library's ``csv``, one physical line at a time (``_read_csv_lines``), and
``audit.load_audit.reader`` says which read it. A file that cannot be read at all (no
usable header, truncated Parquet, an encoding that nothing detects) raises ``FileRejected``
with a readable reason; the loader quarantines it whole and goes on with the partition's
other files.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from ingestion.contract import BOOL, DATE, DECIMAL, INT, SQL_TYPES, TEXT, TIMESTAMP, TableContract
from ingestion.duck import load_encodings, sql_literal
from ingestion.pii import mask_pii_sql

log = logging.getLogger(__name__)

UTF8_BOM = codecs.BOM_UTF8
# Which reader read a file (audit.load_audit.reader).
DUCKDB_READER = "duckdb"
CSV_LINE_READER = "python csv, line by line"
JSON_LINE_READER = "python, line by line"
MALFORMED_CSV = "malformed CSV line"
_LINE_BREAK = "unquoted value (a line break inside an unquoted field)"
# A quoted field may span lines; the line-by-line reader joins at most this many lines into
# one record, and never a line that is a whole record on its own.
MAX_RECORD_LINES = 100
# Rows of the line-by-line reader handed to DuckDB per Arrow batch (bounded memory).
LINE_BATCH_ROWS = 100_000
# A broken line has no fields, so no record: its raw text is kept, personal data masked.
BROKEN_LINE = "broken JSON line"
NOT_UTF8_LINE = "broken JSON line: not valid UTF-8"
# A header beyond these is not a delivery of any contract (a binary file, a hostile one).
MAX_HEADER_BYTES = 1 << 20
MAX_HEADER_COLUMNS = 1000


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
    reader: str = DUCKDB_READER  # which reader read it (DUCKDB_READER or CSV_LINE_READER)


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) or GB18030, told apart by the bytes, not configured.

    GB18030 is a superset of GBK, so a GBK registry export decodes with it; a
    UTF-8 re-export decodes as UTF-8. Valid GBK text is almost never valid UTF-8. The
    lines of the first 64 KB vote, so that one line of bad bytes in a UTF-8 file (or one
    UTF-8 line in a GBK export) costs that line, not the file: the lines that are not
    plain ASCII count for UTF-8 when they decode as UTF-8, for GB18030 when they don't.
    """
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    if head.startswith(UTF8_BOM):
        return "utf-8-sig"
    lines = head.split(b"\n")
    if len(head) == 1 << 16 and len(lines) > 1:
        lines = lines[:-1]  # cut mid-line, perhaps mid-character
    utf8 = other = 0
    for line in lines:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8 += 1
        except UnicodeDecodeError:
            other += 1
    return "gb18030" if other > utf8 else "utf-8"


def _header(path: Path, encoding: str) -> list[str]:
    with path.open("rb") as handle:
        first = handle.readline(MAX_HEADER_BYTES + 1)
    if len(first) > MAX_HEADER_BYTES:
        raise FileRejected(f"no header row: the first line is longer than {MAX_HEADER_BYTES} B")
    if b"\0" in first:
        raise FileRejected("no header row: the first line has a NUL byte")
    text = first.decode(encoding, errors="strict").lstrip("\ufeff")
    try:
        row = next(csv.reader(io.StringIO(text)), [])
    except csv.Error as error:
        raise FileRejected(f"header row is not CSV: {error}") from error
    if len(row) > MAX_HEADER_COLUMNS:
        raise FileRejected(f"header row has {len(row)} columns (at most {MAX_HEADER_COLUMNS})")
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


def read_csv(
    con: duckdb.DuckDBPyConnection, contract: TableContract, path: Path, pii_key: bytes
) -> ReadResult:
    """Create ``_src`` from one CSV file: one row per record, plus one row per line that is
    no record (with a reason and its masked text), numbered by the line it stood on.

    DuckDB's reader goes first: it keeps the lines it cannot parse in its rejects table
    while the good ones load (``store_rejects``). For some lines it does not: a carriage
    return inside a field stops its parser, and a quote opened and never closed swallows
    the lines after it into one rejected record. Both are caught (the error; records and
    rejected lines that do not add up to the file's lines), and that file is read again
    line by line, so a bad line still costs only itself."""
    if path.stat().st_size == 0:
        raise FileRejected("empty file (0 bytes)")
    encoding = detect_encoding(path)
    try:
        delivered = _header(path, encoding)
    except UnicodeDecodeError as error:
        raise FileRejected(f"header is neither UTF-8 nor GBK: {error.reason}") from error
    if not any(delivered):
        raise FileRejected("no header row")
    mapping, result = _map_columns(contract, delivered)
    lines, why = _data_lines(path)
    reader = DUCKDB_READER
    if why is None:
        try:
            _read_csv_duckdb(con, path, encoding, delivered, mapping, pii_key)
            records = con.execute("select count(*) from _src").fetchone()[0]
            if records != lines:
                why = f"{records:,} records and rejected lines from {lines:,} lines"
        except duckdb.Error as error:
            # the first line only: DuckDB's later lines quote the record, personal data too
            why = _first_line(error)[:200]
    if why is not None:
        log.warning("%s: read line by line (DuckDB's CSV reader: %s)", path.name, why)
        _read_csv_lines(con, path, encoding, delivered, mapping, pii_key)
        reader = CSV_LINE_READER
    # Rows are counted by the loader, once per group of files (staging.check_groups).
    return ReadResult(
        result.columns, result.missing_columns, result.extra_columns, encoding, reader
    )


def _data_lines(path: Path) -> tuple[int, str | None]:
    """The lines after the header that are not empty (DuckDB skips those), and what in
    the file DuckDB's reader would get wrong: an empty line before the last record (its rows
    would be numbered by record, not by the line they stood on). 20 ms for 200,000 lines."""
    count, empty, trouble = 0, False, None
    with path.open("rb") as handle:
        handle.readline()
        for line in handle:
            if not line.rstrip(b"\r\n"):
                empty = True
                continue
            count += 1
            if trouble is None and empty:
                trouble = "an empty line between records"
    return count, trouble


def _read_csv_duckdb(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    encoding: str,
    delivered: list[str],
    mapping: dict[str, str],
    pii_key: bytes,
) -> None:
    """The fast path: DuckDB's reader, its rejected lines added as rows."""
    # Every delivered column is read as text; positions, not names, tie data to header.
    columns = ", ".join(f"{sql_literal(f'c{i}')}: 'VARCHAR'" for i in range(len(delivered)))
    select = ", ".join(
        f'"c{i}" as "{mapping[name]}"' for i, name in enumerate(delivered) if name in mapping
    )
    duck_encoding = "gb18030" if encoding == "gb18030" else "utf-8"
    if duck_encoding == "gb18030":
        load_encodings(con)
    con.execute("drop table if exists _csv_rejects")
    con.execute("drop table if exists _csv_scans")
    # The rows come out in file order (and are numbered so) only while insertion order is
    # preserved: DuckDB's default. The setting is global to the database, shared by the
    # connections of feeds loading at once (loader.load_feeds), so it is never switched off
    # for the inserts (at 1M orders that saved nothing measurable: 9.6 s and 9.8 s).
    con.execute("set preserve_insertion_order = true")
    con.execute(
        f"""
        create or replace temp table _src as
        select {select}, row_number() over () as _row_number,
               null::varchar as _pre_reason, null::varchar as _raw_line
        from read_csv({sql_literal(str(path))}, header = true, auto_detect = false,
                      columns = {{{columns}}}, delim = ',', quote = '"', escape = '"',
                      strict_mode = true, hive_partitioning = false,
                      encoding = '{duck_encoding}', store_rejects = true,
                      rejects_table = '_csv_rejects', rejects_scan = '_csv_scans')
        """
    )
    _add_rejected_lines(con, pii_key)


def _add_rejected_lines(con: duckdb.DuckDBPyConnection, pii_key: bytes) -> None:
    """Number ``_src``'s rows by the CSV record they came from, and add one row per record
    DuckDB rejected. ``row_number`` counted only the good rows: the k-th good row is record
    k + (the rejected records before it), found with an as-of join on the rejects."""
    if not con.execute("select count(*) from _csv_rejects").fetchone()[0]:
        return
    con.execute(
        f"""
        create or replace temp table _csv_bad as
        select _row_number, _pre_reason, {mask_pii_sql("raw", pii_key)} as _raw_line
        from (
            select line - 1 as _row_number,   -- line 1 is the header
                   '{MALFORMED_CSV}: ' || string_agg(
                       distinct lower(error_type::varchar) || ' (' || error_message || ')', '; '
                   ) as _pre_reason,
                   any_value(csv_line) as raw
            from _csv_rejects group by line
        )
        """
    )
    con.execute(
        """
        create or replace temp table _csv_gaps as
        select good_before, max(skipped) as skipped
        from (select _row_number - row_number() over (order by _row_number) as good_before,
                     row_number() over (order by _row_number) as skipped
              from _csv_bad)
        group by good_before
        """
    )
    con.execute(
        """
        create or replace temp table _src_numbered as
        select s.* replace (s._row_number + coalesce(g.skipped, 0) as _row_number)
        from _src s asof left join _csv_gaps g on s._row_number > g.good_before
        union all by name
        select * from _csv_bad
        """
    )
    con.execute("drop table _src")
    con.execute("alter table _src_numbered rename to _src")
    for table in ("_csv_bad", "_csv_gaps", "_csv_rejects", "_csv_scans"):
        con.execute(f"drop table if exists {table}")


class _Line:
    """One physical line of a CSV file: its number after the header, and its text."""

    __slots__ = ("number", "raw", "encoding", "text", "error")

    def __init__(self, number: int, raw: bytes, encoding: str) -> None:
        # A NUL byte is read into its value, as DuckDB does: validation quarantines the row.
        self.number, self.raw, self.encoding = number, raw, encoding
        self.text: str | None = None
        self.error: str | None = None
        try:
            self.text = raw.decode(encoding)
        except UnicodeDecodeError as error:
            self.error = f"invalid encoding (not valid {encoding.upper()}: {error.reason})"

    def shown(self) -> str:
        """The text kept in quarantine (masked later, in SQL)."""
        return self.raw.decode(self.encoding, errors="replace")


def _parse_record(text: str) -> tuple[list[str] | None, str | None]:
    """The fields of one record, or why the text is none: CSV as DuckDB reads it (comma,
    double quote, a quote escaped by doubling it), strictly."""
    try:
        rows = list(csv.reader([text], delimiter=",", quotechar='"', doublequote=True, strict=True))
    except csv.Error as error:
        message = str(error)
        if "unexpected end of data" in message:
            return None, "open quote"
        if "new-line character" in message or "newline" in message:
            return None, _LINE_BREAK
        return None, f"unquoted value ({message})"
    if len(rows) != 1:
        return None, _LINE_BREAK
    return rows[0], None


def _field_count_problem(fields: list[str], width: int) -> str | None:
    if len(fields) > width:
        return f"too many columns (expected {width} fields, found {len(fields)})"
    if len(fields) < width:
        return f"missing columns (expected {width} fields, found {len(fields)})"
    return None


def _records(lines: list[_Line], width: int):
    """(line, fields, None) per record, (line, None, reason) per line that is none.

    Each physical line is a record on its own, except where a quote left open on a line is
    closed on a later one (a quoted value with a line break): those lines are joined, up to
    MAX_RECORD_LINES, as long as none of the joined lines is a record on its own. A line
    that opens a quote it never closes therefore costs only itself."""

    def whole(line: _Line) -> list[str] | None:
        if line.text is None:
            return None
        fields, problem = _parse_record(line.text)
        return fields if problem is None and len(fields) == width else None

    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.error is not None:
            yield line, None, line.error
            continue
        fields, problem = _parse_record(line.text)
        if problem == "open quote":
            text, last = line.text, index
            while last < len(lines) and last - index < MAX_RECORD_LINES - 1:
                following = lines[last]
                if following.text is None or whole(following) is not None:
                    break
                text += "\n" + following.text
                last += 1
                fields, problem = _parse_record(text)
                if problem != "open quote":
                    break
            if problem is None and len(fields) == width:
                index = last  # the joined lines are this record
            else:
                fields, problem = None, "unquoted value (a quote is opened and never closed)"
        if problem is None:
            problem = _field_count_problem(fields, width)
        if problem is not None:
            yield line, None, problem
        else:
            yield line, fields, None


def _read_csv_lines(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    encoding: str,
    delivered: list[str],
    mapping: dict[str, str],
    pii_key: bytes,
) -> None:
    """The fallback: ``_src`` built from the standard library's ``csv`` over each physical
    line (``_records``), with the same columns, numbering and reasons as the fast path.
    Used only for a file DuckDB's reader could not read line by line."""
    text_encoding = "gb18030" if encoding == "gb18030" else "utf-8"
    width = len(delivered)
    kept = [(i, mapping[name]) for i, name in enumerate(delivered) if name in mapping]
    previous_limit = csv.field_size_limit()
    csv.field_size_limit(max(previous_limit, 1 << 24))  # DuckDB's 16 MB line limit
    raw = path.read_bytes()
    lines = [
        _Line(number, line[:-1] if line.endswith(b"\r") else line, text_encoding)
        for number, line in enumerate(raw.split(b"\n")[1:], start=1)
    ]
    del raw
    lines = [line for line in lines if line.raw]  # empty lines: skipped, as DuckDB does
    schema = pa.schema(
        [(name, pa.string()) for _, name in kept]
        + [("_row_number", pa.int64()), ("_pre_reason", pa.string()), ("_raw_text", pa.string())]
    )
    batches = []
    try:
        rows: dict[str, list] = {name: [] for name in schema.names}
        for line, fields, problem in _records(lines, width):
            for i, name in kept:
                rows[name].append(fields[i] if fields is not None else None)
            rows["_row_number"].append(line.number)
            rows["_pre_reason"].append(None if problem is None else f"{MALFORMED_CSV}: {problem}")
            rows["_raw_text"].append(None if problem is None else line.shown())
            if len(rows["_row_number"]) == LINE_BATCH_ROWS:
                batches.append(pa.RecordBatch.from_pydict(rows, schema=schema))
                rows = {name: [] for name in schema.names}
        batches.append(pa.RecordBatch.from_pydict(rows, schema=schema))
    finally:
        csv.field_size_limit(previous_limit)
    del lines
    con.register("_csv_lines_view", pa.Table.from_batches(batches, schema=schema))
    try:
        select = ", ".join(f'"{name}"' for _, name in kept)
        con.execute(
            f"""
            create or replace temp table _src as
            select {select}, _row_number, _pre_reason,
                   case when _raw_text is not null
                        then {mask_pii_sql("_raw_text", pii_key)} end as _raw_line
            from _csv_lines_view order by _row_number
            """
        )
    finally:
        con.unregister("_csv_lines_view")


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
        "file_row_number + 1 as _row_number, null::varchar as _pre_reason, "
        "null::varchar as _raw_line "
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


def _lines_from_python(con: duckdb.DuckDBPyConnection, files: list[tuple[int, Path]]) -> str:
    """The lines of JSON Lines files with invalid UTF-8 somewhere, split and decoded line by
    line, as temp table ``_py_lines``: a bad line is one rejected row, not a lost file.
    Taken only when DuckDB's ``read_text`` refuses a file (it reads whole files as UTF-8)."""
    rows: dict[str, list] = {"_file": [], "_row_number": [], "line": [], "_bad_utf8": []}
    for index, path in files:
        for number, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
            try:
                line, bad = raw.decode("utf-8"), False
            except UnicodeDecodeError:
                line, bad = raw.decode("utf-8", errors="replace"), True
            rows["_file"].append(index)
            rows["_row_number"].append(number)
            rows["line"].append(line)
            rows["_bad_utf8"].append(bad)
    con.register("_py_lines_view", pa.table(rows))
    con.execute("create or replace temp table _py_lines as select * from _py_lines_view")
    con.unregister("_py_lines_view")
    return "select _file, _row_number::bigint as _row_number, line, _bad_utf8 from _py_lines"


def read_jsonl_files(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    files: list[tuple[int, Path]],
    pii_key: bytes,
) -> tuple[dict[int, tuple[str, ...]], str]:
    """Create ``_src`` from JSON Lines files in one pass over their text; returns, per
    file index, the delivered keys the contract does not know, and which reader split the
    lines (DuckDB's ``read_text``, or Python where a file is not valid UTF-8).

    Read as lines, so a broken line is one quarantined row (with its masked text), not a
    lost file; ``_row_number`` is the line number.
    """
    paths = ", ".join(sql_literal(str(path)) for _, path in files)
    indexes = ", ".join(str(index) for index, _ in files)
    lines = f"""
        select _file, unnest(lines) as line, unnest(range(1, len(lines) + 1)) as _row_number,
               false as _bad_utf8
        from (select [{indexes}][file_index::integer + 1] as _file,
                     string_split(content, chr(10)) as lines
              from read_text([{paths}]))
    """

    # Broken lines are kept apart first: DuckDB may evaluate JSON functions on every
    # row of a projection, and one broken line must not fail the file. Lines are
    # almost always objects starting with "{", so trimming is paid only by the rest.
    def docs(lines: str) -> str:
        return f"""
        create or replace temp table _docs as
        with numbered as ({lines}),
        judged as (
            select _file, _row_number, line, _bad_utf8,
                   not _bad_utf8 and case
                       when starts_with(line, '{{') then coalesce(json_valid(line), false)
                       else coalesce(json_valid(line) and starts_with(ltrim(line), '{{'), false)
                   end as _valid
            from numbered
            where case when starts_with(line, '{{') then true
                       else trim(line, ' \t\r') <> '' end
        )
        select _file, _row_number, case when _valid then line end as line, _valid,
               case when not _valid then {mask_pii_sql("line", pii_key)} end as _raw_line,
               case when _bad_utf8 then '{NOT_UTF8_LINE}' else '{BROKEN_LINE}' end as _broken
        from judged
    """

    reader = DUCKDB_READER
    try:
        con.execute(docs(lines))
    except duckdb.InvalidInputException as error:
        if "UTF-8" not in str(error):
            raise
        con.execute(docs(_lines_from_python(con, files)))
        reader = JSON_LINE_READER
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
               null::varchar as _raw_line, _extra
        from parsed
        union all
        select {", ".join("null" for _ in selects)}, _file, _row_number, _broken, _raw_line,
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
    con.execute("drop table if exists _py_lines")
    return {index: tuple(keys) for index, keys in extra}, reader
