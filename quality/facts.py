"""Where the suites read the facts dbt built: DuckDB, or Spark (the Spark engine).

The runner asks the same questions of both (does a table exist, its columns, its rows) and
hands each frame to Great Expectations: pandas frames streamed from DuckDB in Arrow batches,
validated by GX's pandas engine; Spark DataFrames over the tables dbt built on Spark,
validated where they are by GX's Spark execution engine, never pulled into pandas.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from ingestion.duck import has_table

BATCH_ROWS = 1_000_000


def _outside_sql(column: str, values: Sequence[Any]) -> str:
    """Where ``column`` holds a value outside ``values`` (bound as parameters): what GX's
    ExpectColumnValuesToBeInSet counts as unexpected (it leaves nulls out)."""
    return f"({column} is not null and {column} not in ({', '.join('?' for _ in values)}))"


class DuckDBFacts:
    """Tables of the DuckDB warehouse."""

    # an incremental fact table is validated where dbt rewrote it since its last validation
    incremental = True

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def exists(self, qualified: str) -> bool:
        return has_table(self.con, qualified)

    def columns(self, qualified: str) -> list[tuple[str, bool]]:
        """(column, is text) in table order."""
        schema, table = qualified.split(".")
        return [
            (name, dtype == "VARCHAR")
            for name, dtype in self.con.execute(
                "select column_name, data_type from duckdb_columns() "
                "where schema_name = ? and table_name = ? order by column_index",
                [schema, table],
            ).fetchall()
        ]

    def newest_built_at(self, qualified: str) -> datetime | None:
        if "built_at" not in {name for name, _ in self.columns(qualified)}:
            return None
        return self.con.execute(f"select max(built_at) from {qualified}").fetchone()[0]

    def count(self, qualified: str) -> int:
        return self.con.execute(f"select count(*) from {qualified}").fetchone()[0]

    def frames(
        self,
        qualified: str,
        columns: list[str],
        built_after: datetime | None = None,
        matching: Sequence[str] = (),
        outside: Sequence[tuple[str, Sequence[Any]]] = (),
    ) -> Iterator[Any]:
        """The rows (built after ``built_after``; with ``matching``, only those where a column
        matches one of those regular expressions: RE2, which reads the catalogue's patterns as
        Python's ``re`` does; with ``outside``, only those where a column holds a value, not
        null, outside its set) in pandas batches."""
        where, params = ["true"], []
        if built_after is not None:
            where.append(f"built_at > timestamp '{built_after.isoformat(sep=' ')}'")
        if outside:
            where.append("(" + " or ".join(_outside_sql(c, values) for c, values in outside) + ")")
            params += [value for _, values in outside for value in values]
        if matching:
            where.append(
                "("
                + " or ".join(
                    f"regexp_matches({column}, ?)" for column in columns for _ in matching
                )
                + ")"
            )
            params += [pattern for _ in columns for pattern in matching]
        sql = f"select {', '.join(columns)} from {qualified} where {' and '.join(where)}"
        reader = self.con.execute(sql, params).fetch_record_batch(BATCH_ROWS)
        batches = 0
        for batch in reader:
            batches += 1
            yield batch.to_pandas()
        if (matching or outside) and not batches:
            # nothing found is a result too: GX validates no rows
            yield reader.schema.empty_table().to_pandas()


class SparkFacts:
    """Tables dbt built on Spark, read from their files (spark_engine/tables.py)."""

    # every row is validated on every run: Spark scales out instead
    incremental = False

    def __init__(self, spark_dir: Path) -> None:
        from spark_engine.session import spark_session

        self.spark_dir = spark_dir
        self.spark = spark_session()

    def _frame(self, qualified: str):
        from spark_engine import tables

        return self.spark.read.parquet(str(tables.table_dir(self.spark_dir, qualified)))

    def exists(self, qualified: str) -> bool:
        from spark_engine import tables

        return tables.exists(self.spark_dir, qualified)

    def columns(self, qualified: str) -> list[tuple[str, bool]]:
        return [
            (field.name, field.dataType.typeName() == "string")
            for field in self._frame(qualified).schema.fields
        ]

    def newest_built_at(self, qualified: str) -> datetime | None:
        return None

    def count(self, qualified: str) -> int:
        return self._frame(qualified).count()

    def frames(
        self,
        qualified: str,
        columns: list[str],
        built_after: datetime | None = None,
        matching: Sequence[str] = (),
        outside: Sequence[tuple[str, Sequence[Any]]] = (),
    ) -> Iterator[Any]:
        """The rows, or with ``matching`` those where a column matches one of the regular
        expressions (``rlike``: Java's, which reads the catalogue's patterns alike), or with
        ``outside`` those where a column holds a value, not null, outside its set."""
        from pyspark.sql import functions as F

        frame = self._frame(qualified).select(*columns)
        if outside:
            found = [
                F.col(column).isNotNull() & ~F.col(column).isin(list(values))
                for column, values in outside
            ]
            frame = frame.filter(functools.reduce(operator.or_, found))
        if matching:
            found = [F.col(column).rlike(pattern) for column in columns for pattern in matching]
            frame = frame.filter(functools.reduce(operator.or_, found))
        yield frame
