"""The dbt project on Apache Spark: the same models, seeds, data tests and unit tests as on
DuckDB, and the same rows.

``spark_run`` is `yimei run --engine spark` on the small landing zone: the lake (raw Parquet
by ``dt``, ingestion/lake.py), dbt on Spark (dbt-spark, session mode: a local Spark in the dbt
process). Every table dbt built there is compared with the DuckDB build of the same landing
zone (``published``): same rows, amounts equal to the cent, doubles within 1e-9.
"""

from __future__ import annotations

import duckdb
import pytest

from spark_engine import tables
from tests.conftest import AS_OF
from tests.transform.dbt_helpers import (
    assert_same_values,
    normalised_rows,
    run_dbt,
    unit_test_statuses,
)

pytestmark = [pytest.mark.pipeline, pytest.mark.spark]

SCHEMAS = ("reference", "staging", "intermediate", "governance", "marts")


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
        assert_same_values(
            duck, normalised_rows(con, "duck", qualified, relation=relation), qualified
        )
        compared.append((qualified, duck.height))
    assert len(compared) >= 35, compared
    assert all(rows > 0 for name, rows in compared if name.startswith("marts.")), compared


# Cost: about 70 s alone, twice that beside the other worker (a dbt-spark session and 16
# unit tests on it). Needed: the SQL of every rule and mart must be proven on Spark too, not
# only built there.
def test_the_unit_tests_pass_on_spark(spark_run, monkeypatch):
    """dbt's unit tests (the SQL of each rule and mart on fixed rows), on the Spark target."""
    assert spark_run["result"].returncode == 0
    monkeypatch.setenv("YIMEI_AS_OF", AS_OF.isoformat())
    # without adaptive execution (profiles.yml): on a handful of rows it only re-plans deep
    # plans at every stage; 108 s with it, 70 s without, alone on this machine
    monkeypatch.setenv("YIMEI_SPARK_ADAPTIVE", "false")
    data_dir = spark_run["data_dir"]
    target = data_dir / "unit_tests"
    run_dbt(data_dir, target, "test", "--select", "resource_type:unit_test", target="spark")
    statuses, declared = unit_test_statuses(target)
    assert set(statuses) == declared, "every unit test of the project ran"
    assert set(statuses.values()) == {"pass"}, statuses
