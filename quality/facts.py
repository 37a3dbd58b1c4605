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
# GOV-10's rows: one per text value that matches a personal-data pattern (matching_text)
MATCHING_TEXT_COLUMNS = ("table_name", "column_name", "value")


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
        outside: Sequence[tuple[str, Sequence[Any]]] = (),
    ) -> Iterator[Any]:
        """The rows (built after ``built_after``; with ``outside``, only those where a column
        holds a value, not null, outside its set) in pandas batches."""
        where, params = ["true"], []
        if built_after is not None:
            where.append(f"built_at > timestamp '{built_after.isoformat(sep=' ')}'")
        if outside:
            where.append("(" + " or ".join(_outside_sql(c, values) for c, values in outside) + ")")
            params += [value for _, values in outside for value in values]
        sql = f"select {', '.join(columns)} from {qualified} where {' and '.join(where)}"
        yield from _batches(self.con.execute(sql, params), empty_too=bool(outside))

    def matching_text(
        self, text_columns: dict[str, list[str]], patterns: Sequence[str]
    ) -> Iterator[Any]:
        """Every value of the tables' text columns that matches one of ``patterns`` (RE2,
        which reads the catalogue's patterns as Python's ``re`` does), one row each
        (``MATCHING_TEXT_COLUMNS``), in pandas batches; one query over every table."""
        branches, params = [], []
        for table, columns in text_columns.items():
            for column in columns:
                found = " or ".join(f'regexp_matches("{column}", ?)' for _ in patterns)
                branches.append(
                    "select ?::varchar as table_name, ?::varchar as column_name, "
                    f'"{column}" as value from {table} where {found}'
                )
                params += [table, column, *patterns]
        if not branches:  # no text column anywhere: nothing can match
            nothing = ", ".join(f"null::varchar as {name}" for name in MATCHING_TEXT_COLUMNS)
            branches, params = [f"select {nothing} where false"], []
        yield from _batches(self.con.execute(" union all ".join(branches), params), empty_too=True)


def _batches(result: duckdb.DuckDBPyConnection, empty_too: bool) -> Iterator[Any]:
    """A query's rows in pandas batches; with ``empty_too``, an empty frame when there are
    none: nothing found is a result too, which GX validates (no rows) and the docs list."""
    reader = result.fetch_record_batch(BATCH_ROWS)
    batches = 0
    for batch in reader:
        batches += 1
        yield batch.to_pandas()
    if empty_too and not batches:
        yield reader.schema.empty_table().to_pandas()


class SparkFacts:
    """Tables dbt built on Spark, read from their files (spark_engine/tables.py)."""

    # every row is validated on every run: Spark scales out instead
    incremental = False

    def __init__(self, spark_dir: Path, master: str | None = None) -> None:
        """``master``: the cluster's spark://host:port (Settings.spark_master); none, a local
        Spark."""
        from spark_engine.session import spark_session

        self.spark_dir = spark_dir
        self.spark = spark_session(master)

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
        outside: Sequence[tuple[str, Sequence[Any]]] = (),
    ) -> Iterator[Any]:
        """The rows, or with ``outside`` those where a column holds a value, not null, outside
        its set."""
        from pyspark.sql import functions as F

        frame = self._frame(qualified).select(*columns)
        if outside:
            found = [
                F.col(column).isNotNull() & ~F.col(column).isin(list(values))
                for column, values in outside
            ]
            frame = frame.filter(functools.reduce(operator.or_, found))
        yield frame

    def matching_text(
        self, text_columns: dict[str, list[str]], patterns: Sequence[str]
    ) -> Iterator[Any]:
        """Every value of the tables' text columns that matches one of ``patterns``
        (``rlike``: Java's, which reads the catalogue's patterns alike), one row each
        (``MATCHING_TEXT_COLUMNS``), as one DataFrame."""
        from pyspark.sql import DataFrame
        from pyspark.sql import functions as F

        found = [
            self._frame(table)
            .select(
                F.lit(table).alias("table_name"),
                F.lit(column).alias("column_name"),
                F.col(column).alias("value"),
            )
            .filter(functools.reduce(operator.or_, [F.col(column).rlike(p) for p in patterns]))
            for table, columns in text_columns.items()
            for column in columns
        ]
        if not found:
            schema = ", ".join(f"{name} string" for name in MATCHING_TEXT_COLUMNS)
            yield self.spark.createDataFrame([], schema)
            return
        yield functools.reduce(DataFrame.unionAll, found)
