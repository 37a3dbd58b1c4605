"""Where the Spark engine's tables are, and how DuckDB reads them.

dbt-spark builds managed Parquet tables (``+file_format: parquet``) in Spark's warehouse
folder, ``<data dir>/spark/warehouse/<schema>.db/<table>/`` (profiles.yml), partitioned
models with Hive-style ``<column>=<value>/`` folders. Readers outside Spark (the publish
step, the tests) read those files directly rather than through Spark's catalog: its embedded
metastore admits one process at a time, and that is dbt's.
"""

from __future__ import annotations

from pathlib import Path

from ingestion.duck import sql_literal


def warehouse_dir(spark_dir: Path) -> Path:
    return spark_dir / "warehouse"


def table_dir(spark_dir: Path, qualified: str) -> Path:
    """The folder of a table dbt built on Spark, ``schema.table``."""
    schema, table = qualified.split(".")
    return warehouse_dir(spark_dir) / f"{schema}.db" / table


def exists(spark_dir: Path, qualified: str) -> bool:
    return table_dir(spark_dir, qualified).is_dir()


def duckdb_relation(spark_dir: Path, qualified: str) -> str:
    """A DuckDB relation of every row of a Spark table; partition columns come back from
    their folder names (typed: dates as dates)."""
    pattern = str(table_dir(spark_dir, qualified) / "**" / "*.parquet")
    return f"read_parquet({sql_literal(pattern)}, hive_partitioning = true, union_by_name = true)"
