"""The published tables dbt built on Spark, brought into the warehouse the rest of yimei reads.

On the Spark engine the marts are built by Spark; the publish gate, ``serving.duckdb``, the
PostgreSQL endpoint, the quality site and the reports read them from the warehouse's
``marts`` schema as on DuckDB, so every consumer is unchanged. They are small (aggregates by
month, city, clinic): copied whole after every build, in one transaction, with the
descriptions dbt holds for them (the manifest), which the publish step carries on.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from ingestion.duck import sql_literal
from spark_engine import tables


def _models(manifest_path: Path) -> dict[str, dict]:
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return {
        f"{node['schema']}.{node['name']}": node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }


def import_tables(
    con: duckdb.DuckDBPyConnection, spark_dir: Path, qualified_tables: list[str], manifest: Path
) -> dict[str, int]:
    """Replace each table in the warehouse with the one dbt built on Spark; rows per table.
    Columns keep the order of the model's yml (Spark moves partition columns last)."""
    models = _models(manifest)
    rows = {}
    con.execute("begin transaction")
    try:
        for qualified in qualified_tables:
            schema = qualified.split(".")[0]
            con.execute(f"create schema if not exists {schema}")
            relation = tables.duckdb_relation(spark_dir, qualified)
            available = [
                name for (name, *_) in con.execute(f"describe select * from {relation}").fetchall()
            ]
            node = models.get(qualified, {})
            documented = [c for c in node.get("columns", {}) if c in available]
            ordered = documented + [c for c in available if c not in documented]
            listed = ", ".join(f'"{c}"' for c in ordered)
            con.execute(f"create or replace table {qualified} as select {listed} from {relation}")
            if node.get("description"):
                con.execute(f"comment on table {qualified} is {sql_literal(node['description'])}")
            for column, spec in node.get("columns", {}).items():
                if column in available and spec.get("description"):
                    con.execute(
                        f'comment on column {qualified}."{column}" is '
                        f"{sql_literal(spec['description'])}"
                    )
            rows[qualified] = con.execute(f"select count(*) from {qualified}").fetchone()[0]
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return rows
