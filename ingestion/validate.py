"""Row-by-row contract enforcement, as two vectorised DuckDB statements per group of files.

Both read a source: a temp table or a scan of the files (see readers.py: contract columns
as delivered, ``_file``, ``_row_number``, ``_pre_reason``). Neither copies it: at 1M
orders, holding 2.6M typed rows in a temp table cost as much as the checks themselves.

- ``create_rejects`` keeps only the rows that break a rule, with ``_reason`` (every
  broken rule, `; `-joined) and ``_record`` (the row as delivered, as JSON, personal
  fields hashed) for the quarantine table. Reason texts and records are built for the
  broken rows only.
- ``valid_rows_sql`` selects the other rows in their warehouse types, personal columns
  replaced by their keyed hash, for the loader's insert.

Rules and casts read each delivered text trimmed and blank-to-NULL'ed once per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ingestion.contract import (
    BOOL,
    DATE,
    DECIMAL,
    INT,
    ISO_DATE,
    ISO_TS,
    JSON,
    SQL_TYPES,
    TEXT,
    TIMESTAMP,
    Column,
    TableContract,
)
from ingestion.duck import sql_literal
from ingestion.pii import pii_hash_sql


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _cleaned(name: str) -> str:
    """The column holding a delivered value trimmed, blank made NULL."""
    return f"v.{_quoted('_v_' + name)}"


def _resolves(name: str) -> str:
    """The column saying whether a value resolves to a known one (references)."""
    return f"v.{_quoted('_known_' + name)}"


def _shown(column: Column, value: str) -> str:
    """The offending value for a reason text; never for personal data."""
    if column.pii:
        return "''"
    return f"left({value}, 40)"


@dataclass(frozen=True)
class Rule:
    broken: str  # SQL condition, true when the row breaks the rule
    reason: str  # SQL text expression saying how


def _blank_to_null(expr: str, source_type: str, trim: bool) -> str:
    if source_type != "VARCHAR":
        return expr
    return f"nullif(trim({expr}), '')" if trim else f"nullif({expr}, '')"


def _column_sql(
    column: Column, source_type: str | None, text_format: bool = False
) -> tuple[str, list[Rule]]:
    """(typed expression, rules) for one column, read from its cleaned value. Text read
    from CSV or JSON Lines (``text_format``) must not hold a NUL byte: no program writes
    one into text, and it would cut the value short in most clients."""
    name = column.name
    if source_type is None:  # nullable column absent from this file
        return f"null::{SQL_TYPES[column.kind]}", []
    is_text = source_type == "VARCHAR"
    value = _cleaned(name)
    rules = []
    if column.required:
        rules.append(Rule(f"{value} is null", f"'missing required field {name}'"))

    def bad(condition: str, what: str) -> Rule:
        return Rule(
            f"{value} is not null and ({condition})",
            f"'{name}: {what} ' || {_shown(column, f'{value}::varchar')}",
        )

    if text_format and is_text:
        rules.append(Rule(f"contains({value}, chr(0))", f"'{name}: contains a NUL byte'"))
    kind = column.kind
    typed = value
    if kind == TEXT or not is_text:
        typed = value if kind in (TEXT, JSON) else f"{value}::{SQL_TYPES[kind]}"
    elif kind == INT:
        typed = f"try_cast({value} as integer)"
        rules.append(bad(f"{typed} is null", "not an integer:"))
    elif kind == DECIMAL:
        typed = f"try_cast({value} as decimal(12,2))"
        rules.append(
            bad(f"not regexp_full_match({value}, '-?[0-9]+(\\.[0-9]{{1,2}})?')", "not an amount:")
        )
    elif kind == TIMESTAMP:
        typed = f"try_cast({value} as timestamptz)"
        rules.append(
            bad(
                f"not regexp_full_match({value}, '{ISO_TS}') or {typed} is null",
                "malformed timestamp:",
            )
        )
    elif kind == DATE:
        typed = f"try_cast({value} as date)"
        rules.append(
            bad(
                f"not regexp_full_match({value}, '{ISO_DATE}') or {typed} is null",
                "malformed date:",
            )
        )
    elif kind == BOOL:
        yes, no = column.true_values
        typed = f"case {value} when '{yes}' then true when '{no}' then false end"
        rules.append(bad(f"{value} not in ('{yes}', '{no}')", "not a boolean:"))
    if kind == JSON:
        # A valid document that starts with "{" is an object: the type is looked up (a
        # second parse) only for the rare value with leading blanks or another shape.
        rules.append(
            bad(
                f"not coalesce(case when starts_with({value}, '{{') then json_valid({value}) "
                f"else json_valid({value}) and json_type({value}) = 'OBJECT' end, false)",
                "not a JSON object:",
            )
        )
    if column.allowed:
        allowed = ", ".join(sql_literal(v) for v in column.allowed)
        rules.append(bad(f"{value}::varchar not in ({allowed})", "unknown value"))
    if column.pattern:
        rules.append(
            bad(
                f"not regexp_full_match({value}::varchar, {sql_literal(column.pattern)})",
                "does not match the expected format:",
            )
        )
    return typed, rules


def _reference_sql(
    references: dict[str, str], source_types: dict[str, str]
) -> tuple[list[str], list[Rule]]:
    """(flag columns, rules) for the values that must resolve to a known one (GOV-11).

    A flag is an ``in (select ...)``, which DuckDB runs as a mark join: at 2.6M order
    rows, three left joins carrying every column cost four times as much."""
    flags, rules = [], []
    for column_name, table in sorted(references.items()):
        if column_name not in source_types:
            continue
        value = f"{_cleaned(column_name)}::varchar"
        flags.append(
            f"{value} in (select value from {table}) as {_quoted('_known_' + column_name)}"
        )
        rules.append(
            Rule(
                f"{value} is not null and not {_resolves(column_name)}",
                f"'unresolvable {column_name}: ' || left({value}, 40)",
            )
        )
    return flags, rules


def _hash_distinct(
    con: duckdb.DuckDBPyConnection,
    source: str,
    table: str,
    column: Column,
    source_type: str,
    pii_key: bytes,
    trim: bool,
) -> None:
    """Temp table ``table`` (``value``, ``hash``): the distinct values of a personal column.

    HMAC-SHA256 is the costliest expression of a load (four SHA-256 blocks a value);
    buyers repeat across order versions, so hashing each phone once and joining it
    back is cheaper: at 1M orders, 556k phones for 2.6M order rows."""
    value = _blank_to_null(f"s.{_quoted(column.name)}", source_type, trim)
    con.execute(
        f"""
        create or replace temp table {table} as
        select value, {pii_hash_sql("value", pii_key)} as hash
        from (select distinct {value}::varchar as value from {source} s)
        where value is not null
        """
    )


def source_types(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, str]:
    """Column name -> DuckDB type of a source (a table name or a parenthesised select)."""
    return {
        name: dtype
        for name, dtype, *_ in con.execute(f"describe select * from {source}").fetchall()
    }


def _cleaned_select(source: str, delivered: list[Column], types: dict[str, str], trim: bool) -> str:
    """Every delivered column as delivered (for the record) and cleaned (``_v_``): an
    empty text is NULL, and text from CSV and JSON Lines is trimmed first. Parquet text
    is kept as written (a program wrote it; trimming all of it cost a second at 1M
    orders)."""
    cleaned = [
        f"{_blank_to_null(f's.{_quoted(c.name)}', types[c.name], trim)} "
        f"as {_quoted('_v_' + c.name)}"
        for c in delivered
    ]
    return f"select s.*, {', '.join(cleaned)} from {source} s"


def create_rejects(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    source: str,
    rejects: str,
    present: tuple[str, ...],
    pii_key: bytes,
    references: dict[str, str] | None = None,
    trim: bool = True,
) -> None:
    """Create temp table ``rejects`` (``_file``, ``_row_number``, ``_reason``, ``_record``)
    with the rows of ``source`` that break the contract.

    ``references`` maps a column to a one-column table (``value``, no NULL) of known
    values; a value that does not resolve makes the row invalid (GOV-11: unresolvable
    orders are quarantined at ingestion).
    """
    types = source_types(con, source)
    delivered = [c for c in contract.columns if c.name in present and c.name in types]
    rules = [
        rule
        for column in contract.columns
        if column.name in present
        for rule in _column_sql(column, types.get(column.name), trim)[1]
    ]
    flags, reference_rules = _reference_sql(references or {}, types)
    rules += reference_rules
    broken = " or ".join(["v._pre_reason is not null"] + [f"({r.broken}) is true" for r in rules])
    reasons = ", ".join(
        ["v._pre_reason"] + [f"case when ({r.broken}) is true then {r.reason} end" for r in rules]
    )
    record = []
    for column in delivered:
        value = f"v.{_quoted(column.name)}::varchar"
        if column.pii:
            value = pii_hash_sql(_blank_to_null(value, "VARCHAR", trim), pii_key)
        record.append(f"{_quoted(column.stored_name)} := {value}")
    # A line that could not be parsed (malformed CSV, broken JSON) has no fields to
    # judge: its one reason says it all, and its masked raw text stands for the record.
    con.execute(
        f"""
        create or replace temp table {rejects} as
        with cleaned as ({_cleaned_select(source, delivered, types, trim)}),
        resolved as (select {", ".join(["v.*", *flags])} from cleaned v)
        select v._file, v._row_number,
               case when v._raw_line is not null then v._pre_reason
                    else concat_ws('; ', {reasons}) end as _reason,
               case when v._raw_line is null
                    then to_json(struct_pack({", ".join(record)}))::varchar end as _record,
               v._raw_line
        from resolved v
        where {broken}
        """
    )


def valid_rows_sql(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    source: str,
    rejects: str,
    present: tuple[str, ...],
    pii_key: bytes,
    trim: bool = True,
) -> str:
    """A select of the rows of ``source`` not in ``rejects``, in the columns of the raw
    table (``stored_columns``) and their warehouse types, with ``_file`` and
    ``_row_number``. Creates the tables of hashed personal values it reads."""
    types = source_types(con, source)
    delivered = [c for c in contract.columns if c.name in present and c.name in types]
    typed, joins = [], []
    for column in contract.columns:
        expr = _column_sql(column, types.get(column.name) if column.name in present else None)[0]
        if column.pii and column in delivered:
            hashes = _quoted(f"{rejects}_{column.name}_hashes")
            _hash_distinct(con, source, hashes, column, types[column.name], pii_key, trim)
            joins.append(f"left join {hashes} on {hashes}.value = {_cleaned(column.name)}::varchar")
            expr = f"{hashes}.hash"
        elif column.pii:
            expr = "null::varchar"
        typed.append(f"{expr} as {_quoted(column.stored_name)}")
    return f"""
        (with v as ({_cleaned_select(source, delivered, types, trim)})
         select {", ".join(typed)}, v._file, v._row_number
         from v {" ".join(joins)}
         anti join {rejects} r on r._file = v._file and r._row_number = v._row_number)
    """


def stored_columns(contract: TableContract) -> list[str]:
    """The raw table's contract columns, quoted, in order."""
    return [_quoted(c.stored_name) for c in contract.columns]
