"""dbt's data tests of an incremental model read the rows written since its tests last passed
(dbt_project/macros/tests_since_passed.sql).

The first test reads what the pipeline's run noted; the others run `dbt test` on a copy of
that run's warehouse after changing rows of the order fact by hand: a new row that repeats an
old key fails the uniqueness test, a failed test keeps its rows under test until they are
mended, and rows tested before are read again only when the note is gone (a test added or
changed has another fingerprint, so it has no note either).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.transform.dbt_helpers import run_dbt

pytestmark = pytest.mark.pipeline

ORDERS = "staging.stg_orders__orders"
ORDERS_ID = "model.yimei.stg_orders__orders"
NOTES = "audit.model_tests_passed"
UNIQUE = "unique_stg_orders__orders_order_id"
NOT_NULL = "declared_not_null_stg_orders__orders_"


@pytest.fixture
def copied(published, tmp_path) -> Path:
    """A copy of the published run's warehouse, for one test to change."""
    assert published["result"].returncode == 0, published["result"].stdout[-3000:]
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copyfile(published["data_dir"] / "warehouse.duckdb", data_dir / "warehouse.duckdb")
    return data_dir


def _execute(data_dir: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _note(data_dir: Path):
    rows = _execute(data_dir, f"select tested_through from {NOTES} where model_id = '{ORDERS_ID}'")
    return rows[0][0] if rows else None


def _test_orders(data_dir: Path, target: Path) -> dict[str, str]:
    """`dbt test` of the order fact: each test's status."""
    run_dbt(
        data_dir, target, "test", "--select", "stg_orders__orders",
        "--exclude-resource-type", "unit_test", check=False,
    )  # fmt: skip
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))
    return {
        r["unique_id"].split(".")[2]: r["status"]
        for r in results["results"]
        if r["unique_id"].startswith("test.")
    }


def test_the_run_notes_each_incremental_model_whose_tests_passed(published):
    data_dir = published["data_dir"]
    manifest = json.loads((data_dir / "dbt_target" / "manifest.json").read_text("utf-8"))
    nodes = manifest["nodes"]
    tested = {
        node["attached_node"]
        for node in nodes.values()
        if node["resource_type"] == "test"
        and node.get("attached_node")
        and nodes[node["attached_node"]]["config"]["materialized"] == "incremental"
        and "built_at" in nodes[node["attached_node"]]["columns"]
    }
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        notes = dict(con.execute(f"select model_id, tested_through from {NOTES}").fetchall())
        built = {
            model_id: con.execute(
                f"select max(built_at) from {nodes[model_id]['schema']}.{nodes[model_id]['name']}"
            ).fetchone()[0]
            for model_id in notes
        }
    finally:
        con.close()
    assert ORDERS_ID in notes
    assert set(notes) == tested
    # one invocation built them all and tested them: the note is its start, the rows' built_at
    assert notes == built


def test_a_new_row_repeating_an_old_key_fails_until_mended(copied, tmp_path):
    noted = _note(copied)
    (order_id,) = _execute(copied, f"select min(order_id) from {ORDERS}")[0]
    _execute(
        copied,
        f"insert into {ORDERS} by name select * replace "
        f"((select max(built_at) from {ORDERS}) + interval 1 second as built_at) "
        f"from {ORDERS} where order_id = '{order_id}'",
    )
    statuses = _test_orders(copied, tmp_path / "first")
    assert statuses[UNIQUE] == "fail"
    assert _note(copied) == noted  # the rows written since stay under test
    assert _test_orders(copied, tmp_path / "again")[UNIQUE] == "fail"

    _execute(
        copied,
        f"delete from {ORDERS} where order_id = '{order_id}' and built_at > '{noted}'",
    )
    statuses = _test_orders(copied, tmp_path / "mended")
    assert set(statuses.values()) == {"pass"}
    assert _note(copied) > noted


def test_rows_tested_before_are_read_again_without_a_note(copied, tmp_path):
    (order_id,) = _execute(copied, f"select max(order_id) from {ORDERS}")[0]
    _execute(copied, f"update {ORDERS} set order_id = null where order_id = '{order_id}'")
    # the row keeps its built_at: tested and passed before, it is not read again
    assert _test_orders(copied, tmp_path / "noted")[NOT_NULL] == "pass"

    _execute(copied, f"delete from {NOTES}")
    assert _test_orders(copied, tmp_path / "unnoted")[NOT_NULL] == "fail"
