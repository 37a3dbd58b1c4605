"""Running the dbt project of the repository against a warehouse of a test."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from ingestion.settings import DBT_PROJECT_DIR
from orchestration.transform.project import dbt_args
from quality.published import BOOKKEEPING_COLUMNS, PUBLISHED_TABLES

# Every model compared between builds, with the columns that identify a row.
MODEL_KEYS = {
    "staging.stg_orders__orders": ["order_id"],
    "staging.stg_reviews__reviews": ["review_id"],
    "intermediate.int_orders__enriched": ["order_id"],
    "intermediate.int_order_compliance": ["order_id"],
    "intermediate.int_reviews__manipulation": ["review_id"],
    "intermediate.int_review_verification": ["review_id"],
    "intermediate.int_complaint_response": ["review_id"],
    "intermediate.int_buyer_cities__profile": ["user_id", "clinic_city"],
    "intermediate.int_buyers__spend": ["user_id"],
    "marts.market_monthly": ["month", "city", "procedure_code"],
    "marts.procedure_price_index": ["month", "city", "procedure_code"],
    "marts.clinic_scorecard": ["clinic_id"],
    "marts.persona_segments": ["city", "age_band", "gender", "spend_tier", "favourite_category"],
    "marts.travel_flows": ["month", "buyer_city", "clinic_city"],
    "marts.channel_funnel": ["month", "channel"],
    "marts.clinic_complaints": ["clinic_id", "complaint_type"],
    "marts.product_clinic_usage": ["registration_no", "clinic_id"],
}


def run_dbt(
    data_dir: Path,
    target_dir: Path,
    command: str,
    *args: str,
    check: bool = True,
    **extra_vars: Any,
) -> subprocess.CompletedProcess:
    """`dbt <command> <args>` on the project, against `data_dir`/warehouse.duckdb, with the
    pipeline's vars (the rule parameters) plus ``extra_vars``; artifacts and logs go to
    `target_dir`, so the project's own target/ (read by Dagster) is left alone. ``check``:
    dbt must succeed."""
    dbt = Path(sys.executable).with_name("dbt")
    env = {**os.environ, "YIMEI_DATA_DIR": str(data_dir)}
    command_line = [
        str(dbt),
        *dbt_args(command, *args, **extra_vars),
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(target_dir),
        "--log-path",
        str(target_dir / "logs"),
    ]
    result = subprocess.run(
        command_line, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0 or not check, (
        f"{command} {' '.join(args)}\n{result.stdout[-6000:]}{result.stderr}"
    )
    return result


def unit_test_statuses(target_dir: Path) -> tuple[dict[str, str], set[str]]:
    """After `dbt test --select test_type:unit` into ``target_dir``: each unit test's status
    (from run_results.json), and every unit test the project declares (from the manifest the
    same invocation wrote), so a test that stops being selected is noticed."""
    import json

    results = json.loads((target_dir / "run_results.json").read_text(encoding="utf-8"))
    manifest = json.loads((target_dir / "manifest.json").read_text(encoding="utf-8"))
    statuses = {
        r["unique_id"]: r["status"]
        for r in results["results"]
        if r["unique_id"].startswith("unit_test.")  # not the project's on-run-start hook
    }
    return statuses, set(manifest["unit_tests"])


def read_models(warehouse: Path, models: dict[str, list[str]] = MODEL_KEYS) -> dict:
    """Every row of each model, sorted by its key (the file is closed again for dbt)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {
            name: con.sql(f"select * from {name}")
            .pl()
            .drop(BOOKKEEPING_COLUMNS, strict=False)
            .sort(keys, nulls_last=True)
            for name, keys in models.items()
        }
    finally:
        con.close()


def assert_same_rows(left: dict[str, pl.DataFrame], right: dict[str, pl.DataFrame]) -> None:
    """Equal row for row; doubles (averages, shares) may differ in the last bits only, as
    DuckDB sums them in parallel in whatever order its threads finish."""
    from polars.testing import assert_frame_equal

    assert left.keys() == right.keys()
    for name in left:
        assert left[name].height > 0, f"{name} is empty"
        try:
            assert_frame_equal(left[name], right[name], rel_tol=1e-9, abs_tol=1e-9)
        except AssertionError as error:
            raise AssertionError(f"{name} differs: {error}") from None


# what a build records about itself, not what the data says: when it ran and from which load,
# and digests whose hash function is each engine's own
PER_BUILD = {"built_at", "source_digest", "loaded_at", "changed_at", "digest"}


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


def assert_same_values(duck: pl.DataFrame, spark: pl.DataFrame, what: str) -> None:
    """Equal row for row across engines: types may differ, values may not (doubles 1e-9)."""
    from polars.testing import assert_frame_equal

    try:
        assert_frame_equal(duck, spark, check_dtypes=False, rel_tol=1e-9, abs_tol=1e-9)
    except AssertionError as error:
        raise AssertionError(f"{what} differs between DuckDB and Spark: {error}") from None


# what differs between two runs by construction: their run ids and clocks
PER_RUN = {
    "run_id", "first_detected_at", "detected_at", "resolved_at", "run_at", "checked_at", "since"
}


def assert_same_published_tables(
    duck_serving: Path, spark_serving: Path, tables: Iterable[str] = PUBLISHED_TABLES
) -> None:
    """Every published table (of ``tables``) of a Spark run's serving.duckdb equals the DuckDB
    run's."""
    con = duckdb.connect()
    con.execute(f"attach '{duck_serving}' as duck (read_only)")
    con.execute(f"attach '{spark_serving}' as spark (read_only)")
    for table in tables:
        duck = normalised_rows(con, "duck", table, skip=PER_RUN)
        assert duck.height > 0, table
        assert_same_values(duck, normalised_rows(con, "spark", table, skip=PER_RUN), table)
    con.close()


def published_findings(serving: Path, standing_only: bool = False) -> list[tuple]:
    """The published findings, entity by entity, without what differs per run;
    ``standing_only``: without the resolved ones, the history of earlier runs."""
    con = duckdb.connect(str(serving), read_only=True)
    standing = "where status <> 'resolved' " if standing_only else ""
    try:
        return con.execute(
            "select rule_id, entity_type, entity_id, clinic_id, status, detail "
            f"from governance.findings {standing}order by all"
        ).fetchall()
    finally:
        con.close()
