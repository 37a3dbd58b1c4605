"""Row-by-row contract enforcement, as two vectorised DuckDB statements per group.

From a source table (see readers.py: contract columns as delivered, ``_file``,
``_row_number``, ``_pre_reason``):

- ``create_rejects`` keeps only the rows that break a rule, with ``_reason`` (every
  broken rule, `; `-joined) and ``_record`` (the row as delivered, as JSON, personal
  fields hashed) for the quarantine table. Valid rows are tested once, by one
  boolean filter; reason texts are built for rejected rows only.
- ``insert_valid`` writes the other rows into their raw table, each column in its
  warehouse type, personal columns replaced by their keyed hash.
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
from ingestion.readers import BROKEN_LINE


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _shown(column: Column, value: str) -> str:
    """The offending value for a reason text; never for personal data."""
    if column.pii:
        return "''"
    return f"left({value}, 40)"


@dataclass(frozen=True)
class Rule:
    broken: str  # SQL condition, true when the row breaks the rule
    reason: str  # SQL text expression saying how


def _blank_to_null(expr: str, source_type: str) -> str:
    return f"nullif(trim({expr}), '')" if source_type == "VARCHAR" else expr


def _column_sql(
    column: Column, source_type: str | None, cleaned: bool = False
) -> tuple[str, list[Rule]]:
    """(typed expression, rules) for one column of row ``s`` as delivered, or of row
    ``v`` whose text was already blank-to-NULL'ed (``cleaned``)."""
    name = column.name
    if source_type is None:  # nullable column absent from this file
        return f"null::{SQL_TYPES[column.kind]}", []
    is_text = source_type == "VARCHAR"
    value = f"v.{_quoted(name)}" if cleaned else _blank_to_null(f"s.{_quoted(name)}", source_type)
    rules = []
    if column.required:
        rules.append(Rule(f"{value} is null", f"'missing required field {name}'"))

    def bad(condition: str, what: str) -> Rule:
        return Rule(
            f"{value} is not null and ({condition})",
            f"'{name}: {what} ' || {_shown(column, f'{value}::varchar')}",
        )

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
        rules.append(
            bad(
                f"not coalesce(json_valid({value}) and json_type({value}) = 'OBJECT', false)",
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


def _source_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    return dict(
        con.execute(
            "select column_name, data_type from duckdb_columns() "
            "where table_name = ? and database_name = 'temp'",
            [table],
        ).fetchall()
    )


def _cleaned(
    contract: TableContract, present: tuple[str, ...], source_types: dict[str, str]
) -> str:
    """Select list of ``s`` with every delivered text trimmed and blank made NULL once;
    the rules and casts then read these columns (as ``v``) instead of trimming again
    in every expression, several times faster on wide text rows."""
    columns = [
        f"{_blank_to_null(f's.{_quoted(c.name)}', source_types[c.name])} as {_quoted(c.name)}"
        for c in contract.columns
        if c.name in present and c.name in source_types
    ]
    return ", ".join(["s._file", "s._row_number", "s._pre_reason", *columns])


def _references_sql(references: dict[str, str] | None, row: str) -> tuple[list[str], list[Rule]]:
    joins, rules = [], []
    for i, (column_name, table) in enumerate(sorted((references or {}).items())):
        alias = f"ref{i}"
        column = f"{row}.{_quoted(column_name)}"
        joins.append(f"left join {table} {alias} on {alias}.value = {column}::varchar")
        rules.append(
            Rule(
                f"{column} is not null and {alias}.value is null",
                f"'unresolvable {column_name}: ' || left({column}::varchar, 40)",
            )
        )
    return joins, rules


def create_rejects(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    source: str,
    rejects: str,
    present: tuple[str, ...],
    pii_key: bytes,
    references: dict[str, str] | None = None,
) -> None:
    """Create temp table ``rejects`` (``_file``, ``_row_number``, ``_reason``, ``_record``)
    with the rows of ``source`` that break the contract.

    ``references`` maps a column to a one-column table of known values; a value
    that does not resolve makes the row invalid (GOV-11: unresolvable orders are
    quarantined at ingestion).

    Two steps: one boolean filter over every row finds the broken ones; reason texts
    and records are built for those rows only.
    """
    source_types = _source_types(con, source)

    def rules_of(cleaned: bool) -> list[Rule]:
        return [
            rule
            for column in contract.columns
            if column.name in present
            for rule in _column_sql(column, source_types.get(column.name), cleaned)[1]
        ]

    record = []
    for column in contract.columns:
        if column.name in present and column.name in source_types:
            delivered = f"s.{_quoted(column.name)}::varchar"
            if column.pii:
                delivered = pii_hash_sql(f"nullif(trim({delivered}), '')", pii_key)
            record.append(f"{_quoted(column.stored_name)} := {delivered}")
    v_joins, v_reference_rules = _references_sql(references, "v")
    s_joins, s_reference_rules = _references_sql(references, "s")
    broken = " or ".join(
        ["v._pre_reason is not null"]
        + [f"({r.broken}) is true" for r in rules_of(True) + v_reference_rules]
    )
    reasons = ", ".join(
        ["s._pre_reason"]
        + [
            f"case when ({r.broken}) is true then {r.reason} end"
            for r in rules_of(False) + s_reference_rules
        ]
    )
    # A broken JSON line has no fields to judge: its one reason says it all, and its
    # record is not kept (its personal fields cannot be hashed).
    con.execute(
        f"""
        create or replace temp table {rejects} as
        with v as (
            select {_cleaned(contract, present, source_types)} from {source} s
        ),
        broken as (
            select v._file, v._row_number from v {" ".join(v_joins)} where {broken}
        )
        select s._file, s._row_number,
               case when s._pre_reason = '{BROKEN_LINE}' then s._pre_reason
                    else concat_ws('; ', {reasons}) end as _reason,
               case when s._pre_reason is distinct from '{BROKEN_LINE}'
                    then to_json(struct_pack({", ".join(record)}))::varchar end as _record
        from {source} s
        semi join broken b on b._file = s._file and b._row_number = s._row_number
        {" ".join(s_joins)}
        """
    )


def valid_rows_sql(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    source: str,
    rejects: str,
    present: tuple[str, ...],
    pii_key: bytes,
) -> tuple[str, str]:
    """(stored column list, select) of the rows of ``source`` not in ``rejects``, in their
    warehouse types; the select also yields ``_file`` and ``_row_number``."""
    source_types = _source_types(con, source)
    stored, selects = [], []
    for column in contract.columns:
        source_type = source_types.get(column.name) if column.name in present else None
        typed = _column_sql(column, source_type, cleaned=True)[0]
        if column.pii:
            typed = pii_hash_sql(f"{typed}::varchar", pii_key)
        stored.append(_quoted(column.stored_name))
        selects.append(f"{typed} as {_quoted(column.stored_name)}")
    select = (
        f"with v as (select {_cleaned(contract, present, source_types)} from {source} s "
        f"anti join {rejects} r on r._file = s._file and r._row_number = s._row_number) "
        f"select {', '.join(selects)}, v._file, v._row_number from v"
    )
    return ", ".join(stored), select
