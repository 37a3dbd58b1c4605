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

import shutil
from pathlib import Path

import duckdb
import pytest

from quality.published import PUBLISHED_TABLES
from spark_engine import tables
from tests.conftest import AS_OF, yimei_run
from tests.transform.dbt_helpers import (
    assert_same_published_tables,
    assert_same_values,
    normalised_rows,
    published_findings,
    run_dbt,
    unit_test_statuses,
)
from tests.transform.redeliveries import (
    choose_order_resend,
    choose_review_resend,
    choose_unflagged_review,
    deliver_copies_of,
    plain_partitions,
    resend_orders,
    resend_reviews,
    revoke_in_snapshot,
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


ORDERS, REVIEWS = "staging.stg_orders__orders", "staging.stg_reviews__reviews"
# published tables with a row per run, or the resolved findings of earlier runs
PER_RUN_HISTORY = {"governance.findings", "governance.rule_results"}
SCHEMAS = ("reference", "staging", "intermediate", "governance", "marts")


def _assert_same_built_tables(duck_warehouse: Path, spark_dir: Path) -> list[tuple[str, int]]:
    """Every table dbt built into the DuckDB warehouse equals Spark's build row for row."""
    con = duckdb.connect()
    con.execute(f"attach '{duck_warehouse}' as duck (read_only)")
    built = [
        f"{schema}.{table}"
        for schema, table in con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where database_name = 'duck' and schema_name in (select unnest(?)) "
            "and (schema_name <> 'governance' or table_name like 'gov\\_%' escape '\\') "
            "order by 1, 2",
            [list(SCHEMAS)],
        ).fetchall()
    ]
    compared = []
    for qualified in built:
        assert tables.exists(spark_dir, qualified), f"{qualified} was not built on Spark"
        duck = normalised_rows(con, "duck", qualified)
        relation = tables.duckdb_relation(spark_dir, qualified)
        assert_same_values(
            duck, normalised_rows(con, "duck", qualified, relation=relation), qualified
        )
        compared.append((qualified, duck.height))
    con.close()
    assert len(compared) >= 35, compared
    assert all(rows > 0 for name, rows in compared if name.startswith("marts.")), compared
    return compared


def test_every_table_dbt_built_equals_the_duckdb_build_row_for_row(spark_run, clean_run):
    assert spark_run["result"].returncode == 0, spark_run["result"].stdout[-3000:]
    _assert_same_built_tables(
        clean_run["data_dir"] / "warehouse.duckdb", spark_run["data_dir"] / "spark"
    )


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


# Cost: about 2.5 min in the suite (one incremental `yimei run --engine spark` on the Spark
# run's data directory, one DuckDB run of the same deliveries). Needed: on Spark a month is
# rewritten by partition overwrite and a changed key by copy-on-write of its months
# (macros/incremental_months.sql), code DuckDB's incremental test never runs; issue 18's
# "incremental equals full refresh" on Spark too.
@pytest.fixture(scope="module")
def redelivered(tmp_path_factory, spark_run, clean_run) -> dict:
    """The next deliveries, built incrementally on Spark, and the same deliveries built in
    full by a DuckDB run: corrected re-sends of an orders and a reviews partition built
    already (withdrawn orders and reviews, an order and a review moved to another month, a
    corrected amount and receipt count), late copies of a review (a GOV-07 group) and a
    registry re-send that revokes a clinic's licence (tests/transform/redeliveries.py).

    It builds on ``spark_run``'s data directory, which it changes: its tests come after every
    test that reads that run (a session scenario only this module uses)."""
    root = tmp_path_factory.mktemp("redelivered")
    landing = root / "landing"
    # copy2 keeps every file's mtime: the partitions not changed below are not loaded again
    shutil.copytree(spark_run["landing"], landing)
    manifest = spark_run["manifest"]
    con = duckdb.connect(str(clean_run["data_dir"] / "warehouse.duckdb"), read_only=True)
    try:
        orders = choose_order_resend(
            con, plain_partitions(landing, "orders", manifest, ".parquet", AS_OF)
        )
        reviews = choose_review_resend(
            con, plain_partitions(landing, "reviews", manifest, ".jsonl", AS_OF)
        )
        copied_review = choose_unflagged_review(con, reviews)
        (licence,) = con.execute(
            "select license_no from staging.stg_platform__clinics "
            "where clinic_id in (select clinic_id from intermediate.int_order_compliance) "
            "and license_no is not null order by clinic_id limit 1"
        ).fetchone()
    finally:
        con.close()
    resend_orders(orders)
    resend_reviews(reviews)
    complete = {
        feed: max(p for p in (landing / feed).glob("dt=*") if (p / "_SUCCESS").exists())
        for feed in ("reviews", "registry")
    }
    copies = deliver_copies_of(copied_review, landing, complete["reviews"])
    revoke_in_snapshot(complete["registry"], licence)

    spark = yimei_run(landing, spark_run["data_dir"], "--engine", "spark")
    duck_dir = root / "duckdb"
    duck = yimei_run(landing, duck_dir)
    return {
        "spark": spark,
        "spark_dir": spark_run["data_dir"],
        "duck": duck,
        "duck_dir": duck_dir,
        "orders": orders,
        "reviews": reviews,
        "copies": copies,
    }


def test_the_redelivery_is_built_incrementally_on_spark(redelivered):
    spark = redelivered["spark"]
    assert spark.returncode == 0, spark.stdout[-4000:] + spark.stderr[-4000:]
    assert redelivered["duck"].returncode == 0, redelivered["duck"].stdout[-3000:]
    compiled = (
        redelivered["spark_dir"] / "dbt_target" / "compiled" / "yimei" / "models" / "staging"
        / "orders" / "stg_orders__orders.sql"
    ).read_text(encoding="utf-8")  # fmt: skip
    # the high-water mark and the re-ranked keys appear only in the incremental branch
    assert "_loaded_at >" in compiled and "delivered_on in" in compiled
    # the re-sends reached the build: withdrawn orders and reviews are gone, the copies are in
    spark_dir = redelivered["spark_dir"] / "spark"
    con = duckdb.connect()
    orders = con.sql(f"select order_id from {tables.duckdb_relation(spark_dir, ORDERS)}")
    reviews = con.sql(f"select review_id from {tables.duckdb_relation(spark_dir, REVIEWS)}")
    order_ids = {row[0] for row in orders.fetchall()}
    review_ids = {row[0] for row in reviews.fetchall()}
    con.close()
    assert not order_ids & set(redelivered["orders"]["withdrawn"])
    assert not review_ids & set(redelivered["reviews"]["withdrawn"])
    assert set(redelivered["copies"]) <= review_ids


def test_the_incremental_spark_build_equals_a_full_build(redelivered):
    assert redelivered["spark"].returncode == 0 and redelivered["duck"].returncode == 0
    _assert_same_built_tables(
        redelivered["duck_dir"] / "warehouse.duckdb", redelivered["spark_dir"] / "spark"
    )


def test_after_the_redelivery_spark_publishes_what_a_full_build_does(redelivered):
    assert redelivered["spark"].returncode == 0 and redelivered["duck"].returncode == 0
    duck = redelivered["duck_dir"] / "serving.duckdb"
    spark = redelivered["spark_dir"] / "serving.duckdb"
    # the rule results are one row per run and rule, the findings keep the resolved ones of
    # earlier runs: the standing findings are compared
    assert_same_published_tables(duck, spark, tables=set(PUBLISHED_TABLES) - PER_RUN_HISTORY)
    standing = published_findings(spark, standing_only=True)
    assert published_findings(duck, standing_only=True) == standing
    withdrawn = {("order", order_id) for order_id in redelivered["orders"]["withdrawn"]}
    assert not {(row[1], row[2]) for row in standing} & withdrawn
