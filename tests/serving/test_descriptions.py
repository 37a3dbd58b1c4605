"""Every published table and column carries a description, Chinese first: BI tools show them."""

from __future__ import annotations

import re

import duckdb
import pytest

from quality.published import PUBLISHED_TABLES, published_descriptions

CHINESE = re.compile(r"[\u4e00-\u9fff]")

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


def test_every_published_table_and_column_is_described_in_chinese_first(published):
    """The comment is the data dictionary's: its Chinese description, then its English one."""
    assert published["result"].returncode == 0, published["result"].stdout[-3000:]
    con = duckdb.connect(str(published["data_dir"] / "serving.duckdb"), read_only=True)
    try:
        tables = dict(
            con.execute(
                "select schema_name || '.' || table_name, comment from duckdb_tables()"
            ).fetchall()
        )
        columns = con.execute(
            "select schema_name || '.' || table_name, column_name, comment from duckdb_columns() "
            "where database_name = 'serving'"
        ).fetchall()
    finally:
        con.close()
    dictionary = published_descriptions()
    assert set(tables) == set(dictionary)
    for table, comment in tables.items():
        assert comment == dictionary[table].comment, table
        assert CHINESE.search(comment.split(" — ")[0]), table
    for table, column, comment in columns:
        described = dictionary[table].columns.get(column)
        assert described is not None, f"{table}.{column} is published but not in the dictionary"
        assert comment == described.comment, f"{table}.{column}"
        assert CHINESE.search(described.label_zh) and CHINESE.search(described.description_zh)
