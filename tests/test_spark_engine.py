"""`yimei run --engine spark`: the whole pipeline on Apache Spark publishes what DuckDB does.

Ingestion writes the lake, dbt builds on Spark, the governance suites run on Great
Expectations' Spark engine, and the publish step writes the same ``serving.duckdb``. Every
published table is compared with the DuckDB run of the same landing zone (``published``):
same rows, amounts equal to the cent, rates within 1e-9; the findings of every rule entity
for entity.
"""

from __future__ import annotations

import duckdb
import pytest

from quality.published import PUBLISHED_TABLES
from tests.transform.dbt_helpers import assert_same_values, normalised_rows

pytestmark = [pytest.mark.pipeline, pytest.mark.spark]

# what differs between two runs by construction: their run ids and clocks
PER_RUN = {"run_id", "first_detected_at", "detected_at", "resolved_at", "run_at", "checked_at"}


def test_the_spark_run_ingests_to_the_lake_and_publishes(spark_run):
    result = spark_run["result"]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "Published:" in result.stdout, result.stdout[-3000:]
    assert any((spark_run["data_dir"] / "lake" / "raw" / "orders").glob("dt=*/*.parquet"))
    # the raw rows are in the lake, not in the warehouse
    con = duckdb.connect(str(spark_run["data_dir"] / "warehouse.duckdb"), read_only=True)
    assert con.execute("select count(*) from raw.orders").fetchone()[0] == 0
    con.close()


def test_every_published_table_equals_the_duckdb_run(spark_run, published):
    assert spark_run["result"].returncode == 0
    con = duckdb.connect()
    con.execute(f"attach '{published['data_dir'] / 'serving.duckdb'}' as duck (read_only)")
    con.execute(f"attach '{spark_run['data_dir'] / 'serving.duckdb'}' as spark (read_only)")
    for table in PUBLISHED_TABLES:
        duck = normalised_rows(con, "duck", table, skip=PER_RUN)
        assert duck.height > 0, table
        assert_same_values(duck, normalised_rows(con, "spark", table, skip=PER_RUN), table)


def test_the_findings_of_every_rule_are_the_same_entities(spark_run, published):
    assert spark_run["result"].returncode == 0
    sql = (
        "select rule_id, entity_type, entity_id, clinic_id, status, detail "
        "from governance.findings order by all"
    )
    found = {}
    for name, run in (("duck", published), ("spark", spark_run)):
        con = duckdb.connect(str(run["data_dir"] / "serving.duckdb"), read_only=True)
        found[name] = con.execute(sql).fetchall()
        con.close()
    assert found["duck"] == found["spark"]
    assert len({row[0] for row in found["spark"]}) >= 10
