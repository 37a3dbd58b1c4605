"""Write-audit-publish: copy the checked marts into a new serving database file,
then rename it over ``serving.duckdb``.

The rename is atomic on one file system, so a reader sees the old file or the
new one, never a mix; a reader holding the old file open keeps reading it.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from ingestion import faults
from ingestion.duck import connect, sql_literal
from quality.outcomes import decided_runs
from quality.published import (
    BOOKKEEPING_COLUMNS,
    PUBLISHED_TABLES,
    TableDescription,
    published_descriptions,
)

# Rows of a published table that only some runs may show: the rule results of runs that
# were killed before the gate decided (no governance.run_outcomes row) stay unpublished.
ROWS_PUBLISHED = {
    "governance.rule_results": f"run_id = $run_id or run_id in ({decided_runs('wh')})",
}


def remove_stale_copies(serving_path: Path) -> list[Path]:
    """Half-written copies left by a publish that was killed. Called under the data
    directory's run lock, so no other publish is writing one."""
    stale = sorted(serving_path.parent.glob(f".{serving_path.name}.*.tmp*"))
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def publish(warehouse_path: Path, serving_path: Path, run_id: str) -> list[str]:
    """Returns the published tables. Raises (leaving serving untouched) on any error."""
    serving_path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_copies(serving_path)
    staging = serving_path.with_name(f".{serving_path.name}.{run_id}.tmp")
    published = []
    descriptions = published_descriptions()
    try:
        con = connect(staging)  # bounded like every pipeline connection (ingestion/duck.py)
        try:
            con.execute(f"attach {sql_literal(str(warehouse_path))} as wh (read_only)")
            for table in PUBLISHED_TABLES:
                schema, name = table.split(".")
                rows = ROWS_PUBLISHED.get(table, "true")
                con.execute(f"create schema if not exists {schema}")
                columns = _published_columns(con, schema, name)
                con.execute(
                    f"create table {table} as select {columns} from wh.{table} where {rows}",
                    {"run_id": run_id} if "$run_id" in rows else None,
                )
                _comment(con, schema, name, descriptions.get(table))
                published.append(table)
            con.execute("detach wh")
            con.execute("checkpoint")
        finally:
            con.close()
        faults.point("publish:before_rename")
        os.replace(staging, serving_path)
        faults.point("publish:after_rename")
    finally:
        staging.unlink(missing_ok=True)
    return published


def _published_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    """Every column but the incremental bookkeeping (quality/published.py), in table order."""
    names = [
        name
        for (name,) in con.execute(
            "select column_name from duckdb_columns() where database_name = 'wh' "
            "and schema_name = ? and table_name = ? order by column_index",
            [schema, table],
        ).fetchall()
        if name not in BOOKKEEPING_COLUMNS
    ]
    return ", ".join(f'"{n}"' for n in names)


def _comment(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, described: TableDescription | None
) -> None:
    """Each table and column's comment, which BI tools show: its Chinese description, then its
    English one (quality/published.py); the warehouse's (dbt's description) for anything the
    dictionary does not describe."""
    (comment,) = con.execute(
        "select comment from duckdb_tables() where database_name = 'wh' "
        "and schema_name = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    if described is not None:
        comment = described.comment
    if comment:
        con.execute(f"comment on table {schema}.{table} is {sql_literal(comment)}")
    columns = described.columns if described is not None else {}
    for column, comment in con.execute(
        "select column_name, comment from duckdb_columns() where database_name = 'wh' "
        "and schema_name = ? and table_name = ?",
        [schema, table],
    ).fetchall():
        if column in BOOKKEEPING_COLUMNS:  # not published (_published_columns)
            continue
        if column in columns:
            comment = columns[column].comment
        if comment:
            con.execute(f'comment on column {schema}.{table}."{column}" is {sql_literal(comment)}')
