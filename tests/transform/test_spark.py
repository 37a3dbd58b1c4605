"""The dbt project on Apache Spark: the same models, seeds, data tests and unit tests as on
DuckDB, and the same rows.

``spark_run`` is `yimei run --engine spark` on the small landing zone: the lake (raw Parquet
by ``dt``, ingestion/lake.py), dbt on Spark (dbt-spark, session mode: a local Spark in the dbt
process). Every table dbt built there is compared with the DuckDB build of the same landing
zone (``published``): same rows, amounts equal to the cent, doubles within 1e-9.
"""

from __future__ import annotations

import duckdb
import polars as pl
from polars.testing import assert_frame_equal

from spark_engine import tables
from tests.conftest import AS_OF
from tests.transform.dbt_helpers import run_dbt

# what a build records about itself, not what the data says: when it ran and from which load,
# and digests whose hash function is each engine's own
PER_BUILD = {"built_at", "source_digest", "loaded_at", "changed_at", "digest"}
SCHEMAS = ("reference", "staging", "intermediate", "governance", "marts")


def normalised_rows(
    con: duckdb.DuckDBPyConnection,
    database: str,
    qualified: str,
    skip: set[str] = PER_BUILD,
    relation: str | None = None,
) -> pl.DataFrame:
    """The rows of ``qualified`` (typed as in the attached ``database``; read from
    ``relation`` if given) in values both engines must agree on, one type each: amounts as
    text to the cent, integers as bigint; sorted, doubles rounded only to sort."""
    schema, name = qualified.split(".")
    columns = [
        (column, dtype)
        for column, dtype in con.execute(
            "select column_name, data_type from duckdb_columns() where database_name = ? "
            "and schema_name = ? and table_name = ? order by column_index",
            [database, schema, name],
        ).fetchall()
        if column not in skip
    ]
    select = []
    for column, dtype in columns:
        if dtype.startswith("DECIMAL"):
            select.append(f'cast(cast("{column}" as decimal(38, 2)) as varchar) as "{column}"')
        elif dtype in ("DOUBLE", "FLOAT"):
            select.append(f'cast("{column}" as double) as "{column}"')
        elif dtype in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UBIGINT"):
            select.append(f'cast("{column}" as bigint) as "{column}"')
        elif dtype.endswith("[]"):
            select.append(f'cast("{column}" as varchar) as "{column}"')
        else:
            select.append(f'"{column}"')
    source = relation or f"{database}.{qualified}"
    frame = con.sql(f"select {', '.join(select)} from {source}").pl()
    order = [
        pl.col(c).round(6) if dtype in ("DOUBLE", "FLOAT") else pl.col(c) for c, dtype in columns
    ]
    return frame.sort(order, nulls_last=True)


def assert_same_rows(duck: pl.DataFrame, spark: pl.DataFrame, what: str) -> None:
    try:
        assert_frame_equal(duck, spark, check_dtypes=False, rel_tol=1e-9, abs_tol=1e-9)
    except AssertionError as error:
        raise AssertionError(f"{what} differs between DuckDB and Spark: {error}") from None


def _built_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        f"{schema}.{table}"
        for schema, table in con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where database_name = 'duck' and schema_name in (select unnest(?)) "
            "and (schema_name <> 'governance' or table_name like 'gov\\_%' escape '\\') "
            "order by 1, 2",
            [list(SCHEMAS)],
        ).fetchall()
    ]


def test_every_table_dbt_built_equals_the_duckdb_build_row_for_row(spark_run, published):
    assert spark_run["result"].returncode == 0, spark_run["result"].stdout[-3000:]
    spark_dir = spark_run["data_dir"] / "spark"
    con = duckdb.connect()
    con.execute(f"attach '{published['data_dir'] / 'warehouse.duckdb'}' as duck (read_only)")
    compared = []
    for qualified in _built_tables(con):
        assert tables.exists(spark_dir, qualified), f"{qualified} was not built on Spark"
        duck = normalised_rows(con, "duck", qualified)
        relation = tables.duckdb_relation(spark_dir, qualified)
        assert_same_rows(
            duck, normalised_rows(con, "duck", qualified, relation=relation), qualified
        )
        compared.append((qualified, duck.height))
    assert len(compared) >= 35, compared
    assert all(rows > 0 for name, rows in compared if name.startswith("marts.")), compared


def test_the_unit_tests_pass_on_spark(spark_run, monkeypatch):
    """dbt's unit tests (the SQL of each rule and mart on fixed rows), on the Spark target."""
    assert spark_run["result"].returncode == 0
    monkeypatch.setenv("YIMEI_AS_OF", AS_OF.isoformat())
    data_dir = spark_run["data_dir"]
    result = run_dbt(
        data_dir,
        data_dir / "unit_tests",
        "test",
        "--select",
        "resource_type:unit_test",
        target="spark",
    )
    done = next(line for line in result.stdout.splitlines() if "Done. PASS=" in line)
    assert "ERROR=0" in done and int(done.split("PASS=")[1].split()[0]) >= 16, done
