"""Every published table and column carries a description: BI tools show them."""

from __future__ import annotations

import duckdb
import pytest

from quality.published import PUBLISHED_TABLES

pytestmark = pytest.mark.pipeline


def test_every_published_table_and_column_is_described(published):
    assert published["result"].returncode == 0, published["result"].stdout[-3000:]
    con = duckdb.connect(str(published["data_dir"] / "serving.duckdb"), read_only=True)
    try:
        tables = con.execute(
            "select schema_name || '.' || table_name, comment from duckdb_tables() "
            "where database_name = 'serving'"
        ).fetchall()
        columns = con.execute(
            "select schema_name || '.' || table_name || '.' || column_name, comment "
            "from duckdb_columns() where database_name = 'serving'"
        ).fetchall()
    finally:
        con.close()
    assert {name for name, _ in tables} == set(PUBLISHED_TABLES)
    undescribed = [name for name, comment in [*tables, *columns] if not (comment or "").strip()]
    assert not undescribed, f"published without a description: {undescribed}"
    assert len(columns) > 3 * len(tables)
