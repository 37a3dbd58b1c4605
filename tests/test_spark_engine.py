"""`yimei run --engine spark`: the whole pipeline on Apache Spark publishes what DuckDB does,
and the dbt project on Spark builds the same tables and passes the same unit tests.

``spark_run`` is `yimei run --engine spark` on the tiny landing zone: ingestion writes the
lake (raw Parquet by ``dt``, ingestion/lake.py), dbt builds on Spark (dbt-spark, session
mode: a local Spark in the dbt process), the governance suites run on Great Expectations'
Spark engine, and the publish step writes the same ``serving.duckdb``. Every published table,
and every table dbt built, is compared with the DuckDB run of the same landing zone
(``clean_run``): same rows, amounts equal to the cent, doubles within 1e-9; the findings of
every rule entity for entity.

The Spark tests are one module so that pytest-xdist gives them to one worker, the one that
builds the Spark run (tests/README.md).
"""

from __future__ import annotations

import duckdb
import pytest

from spark_engine import tables
from tests.conftest import AS_OF
from tests.transform.dbt_helpers import (
    assert_same_published_tables,
    assert_same_values,
    normalised_rows,
    published_findings,
    run_dbt,
    unit_test_statuses,
)

pytestmark = [pytest.mark.pipeline, pytest.mark.spark]

def test_the_spark_run_ingests_to_the_lake_and_publishes(spark_run):
    result = spark_run["result"]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "Published:" in result.stdout, result.stdout[-3000:]
    assert any((spark_run["data_dir"] / "lake" / "raw" / "orders").glob("dt=*/*.parquet"))
    # the raw rows are in the lake, not in the warehouse
    con = duckdb.connect(str(spark_run["data_dir"] / "warehouse.duckdb"), read_only=True)
    assert con.execute("select count(*) from raw.orders").fetchone()[0] == 0
    con.close()


def test_every_published_table_equals_the_duckdb_run(spark_run, clean_run):
    assert spark_run["result"].returncode == 0
    assert_same_published_tables(
        clean_run["data_dir"] / "serving.duckdb", spark_run["data_dir"] / "serving.duckdb"
    )


def test_the_findings_of_every_rule_are_the_same_entities(spark_run, clean_run):
    assert spark_run["result"].returncode == 0
    found = published_findings(spark_run["data_dir"] / "serving.duckdb")
    assert published_findings(clean_run["data_dir"] / "serving.duckdb") == found
    assert len({row[0] for row in found}) >= 10


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


def test_every_table_dbt_built_equals_the_duckdb_build_row_for_row(spark_run, clean_run):
    assert spark_run["result"].returncode == 0, spark_run["result"].stdout[-3000:]
    spark_dir = spark_run["data_dir"] / "spark"
    con = duckdb.connect()
    con.execute(f"attach '{clean_run['data_dir'] / 'warehouse.duckdb'}' as duck (read_only)")
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


# Cost: about 70 s alone, 115 s beside the other worker (a dbt-spark session and 26 unit
# tests on it). Needed: the SQL of every rule and mart must be proven on Spark too, not
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
