"""Row-by-row contract enforcement, as one vectorised DuckDB statement.

From ``_src`` (see readers.py) build ``_checked``: every contract column in its
warehouse type (personal columns replaced by their keyed hash), ``_row_number``,
``_reason`` (NULL when the row is valid, else every broken rule, `; `-joined) and,
for rejected rows only, ``_record``: the row as delivered, as JSON, with personal
fields hashed, for the quarantine table.
"""

from __future__ import annotations

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
from ingestion.readers import BROKEN_LINE


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _shown(column: Column, value: str) -> str:
    """The offending value for a reason text; never for personal data."""
    if column.pii:
        return "''"
    return f"left({value}, 40)"


def _column_sql(column: Column, source_type: str | None) -> tuple[str, list[str]]:
    """(typed expression, [reason expressions]) for one column."""
    name = column.name
    if source_type is None:  # nullable column absent from this file
        return f"null::{SQL_TYPES[column.kind]}", []
    raw = f"s.{_quoted(name)}"
    is_text = source_type == "VARCHAR"
    value = f"nullif(trim({raw}), '')" if is_text else raw
    reasons = []
    if column.required:
        reasons.append(f"case when {value} is null then 'missing required field {name}' end")

    def bad(condition: str, what: str) -> str:
        return (
            f"case when {value} is not null and ({condition}) "
            f"then '{name}: {what} ' || {_shown(column, f'{value}::varchar')} end"
        )

    kind = column.kind
    typed = value
    if kind == TEXT or not is_text:
        typed = value if kind in (TEXT, JSON) else f"{value}::{SQL_TYPES[kind]}"
    elif kind == INT:
        typed = f"try_cast({value} as integer)"
        reasons.append(bad(f"{typed} is null", "not an integer:"))
    elif kind == DECIMAL:
        typed = f"try_cast({value} as decimal(12,2))"
        reasons.append(
            bad(f"not regexp_full_match({value}, '-?[0-9]+(\\.[0-9]{{1,2}})?')", "not an amount:")
        )
    elif kind == TIMESTAMP:
        typed = f"try_cast({value} as timestamptz)"
        reasons.append(
            bad(
                f"not regexp_full_match({value}, '{ISO_TS}') or {typed} is null",
                "malformed timestamp:",
            )
        )
    elif kind == DATE:
        typed = f"try_cast({value} as date)"
        reasons.append(
            bad(
                f"not regexp_full_match({value}, '{ISO_DATE}') or {typed} is null",
                "malformed date:",
            )
        )
    elif kind == BOOL:
        yes, no = column.true_values
        typed = f"case {value} when '{yes}' then true when '{no}' then false end"
        reasons.append(bad(f"{value} not in ('{yes}', '{no}')", "not a boolean:"))
    if kind == JSON:
        reasons.append(
            bad(
                f"not coalesce(json_valid({value}) and json_type({value}) = 'OBJECT', false)",
                "not a JSON object:",
            )
        )
    if column.allowed:
        allowed = ", ".join(sql_literal(v) for v in column.allowed)
        reasons.append(bad(f"{value}::varchar not in ({allowed})", "unknown value"))
    if column.pattern:
        reasons.append(
            bad(
                f"not regexp_full_match({value}::varchar, {sql_literal(column.pattern)})",
                "does not match the expected format:",
            )
        )
    return typed, reasons


def build_checked(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    present: tuple[str, ...],
    pii_key: bytes,
    references: dict[str, str] | None = None,
) -> None:
    """Create temp table ``_checked`` from ``_src``; ``_file`` (the index of the file a
    row came from) is carried through.

    ``references`` maps a column to a one-column table of known values; a value
    that does not resolve makes the row invalid (GOV-11: unresolvable orders are
    quarantined at ingestion).
    """
    source_types = dict(
        con.execute(
            "select column_name, data_type from duckdb_columns() "
            "where table_name = '_src' and database_name = 'temp'"
        ).fetchall()
    )
    selects, reasons, record = [], ["s._pre_reason"], []
    for column in contract.columns:
        source_type = source_types.get(column.name) if column.name in present else None
        typed, column_reasons = _column_sql(column, source_type)
        if column.pii:
            typed = pii_hash_sql(f"{typed}::varchar", pii_key)
        selects.append(f"{typed} as {_quoted(column.stored_name)}")
        reasons.extend(column_reasons)
        if source_type is not None:
            delivered = f"s.{_quoted(column.name)}::varchar"
            if column.pii:
                delivered = pii_hash_sql(f"nullif(trim({delivered}), '')", pii_key)
            record.append(f"{_quoted(column.stored_name)} := {delivered}")
    joins = []
    for i, (column_name, table) in enumerate(sorted((references or {}).items())):
        alias = f"ref{i}"
        joins.append(
            f"left join {table} {alias} on {alias}.value = s.{_quoted(column_name)}::varchar"
        )
        reasons.append(
            f"case when s.{_quoted(column_name)} is not null and {alias}.value is null "
            f"then 'unresolvable {column_name}: ' "
            f"|| left(s.{_quoted(column_name)}::varchar, 40) end"
        )
    # A broken JSON line has no fields to judge: its one reason says it all.
    reason = (
        f"case when s._pre_reason = '{BROKEN_LINE}' then s._pre_reason "
        f"else nullif(concat_ws('; ', {', '.join(reasons)}), '') end"
    )
    # The delivered record is only serialised for rejected rows (CASE evaluates
    # lazily), so valid rows pay nothing for the quarantine path.
    con.execute(
        f"""
        create or replace temp table _checked as
        with judged as (
            select s.*, {reason} as _reason
            from _src s {" ".join(joins)}
        )
        select {", ".join(selects)}, s._file, s._row_number, s._reason,
               case when s._reason is not null and s._reason <> '{BROKEN_LINE}'
                    then to_json(struct_pack({", ".join(record)}))::varchar end as _record
        from judged s
        """
    )
