"""BI tools reach the published data through a real PostgreSQL: psql, psycopg and JDBC."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import psycopg
import pytest

from quality.published import (
    BOOKKEEPING_COLUMNS,
    PUBLISHED_TABLES,
    published_descriptions,
)
from tests.conftest import free_port
from tests.serving.conftest import serve_env

pytestmark = [pytest.mark.pipeline, pytest.mark.server]

JDBC_DRIVER = Path("/usr/share/java/postgresql.jar")
# Java 17 runs a single source file as it is: the metadata calls Metabase and Tableau make.
JDBC_CLIENT = """
import java.sql.*;

public class Metadata {
    static String oneLine(String text) {
        return String.valueOf(text).replace('\\n', ' ').replace('\\t', ' ');
    }

    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0], args[1], args[2])) {
            DatabaseMetaData meta = c.getMetaData();
            for (String schema : new String[] {"marts", "governance"}) {
                try (ResultSet t = meta.getTables(null, schema, "%", new String[] {"TABLE"})) {
                    while (t.next()) {
                        System.out.println("T\\t" + schema + "." + t.getString("TABLE_NAME")
                            + "\\t" + oneLine(t.getString("REMARKS")));
                    }
                }
                try (ResultSet col = meta.getColumns(null, schema, "%", "%")) {
                    while (col.next()) {
                        System.out.println("C\\t" + schema + "." + col.getString("TABLE_NAME")
                            + "." + col.getString("COLUMN_NAME")
                            + "\\t" + oneLine(col.getString("REMARKS")));
                    }
                }
            }
            try (Statement s = c.createStatement()) {
                s.executeUpdate("delete from marts.market_monthly");
                System.out.println("W\\twritten");
            } catch (SQLException e) {
                System.out.println("W\\t" + e.getSQLState());
            }
        }
    }
}
"""


def _serving(endpoint):
    return duckdb.connect(str(endpoint.data_dir / "serving.duckdb"), read_only=True)


def _published_columns(endpoint) -> dict[str, str]:
    con = _serving(endpoint)
    try:
        rows = con.execute(
            "select schema_name || '.' || table_name || '.' || column_name, comment "
            "from duckdb_columns() where database_name = 'serving'"
        ).fetchall()
    finally:
        con.close()
    return dict(rows)


def test_serve_prints_the_connection_without_the_password(endpoint):
    assert f"yimei_reader@127.0.0.1:{endpoint.port}/yimei" in endpoint.announced
    assert endpoint.reader_password not in endpoint.announced


def test_psql_lists_the_tables_and_their_descriptions(endpoint):
    env = {"PGPASSWORD": endpoint.reader_password, "PATH": "/usr/bin:/bin"}
    url = endpoint.reader_url.replace(f":{endpoint.reader_password}@", "@")
    listing = subprocess.run(
        ["psql", url, "-X", "-c", r"\dt+ marts.*", "-c", r"\dt+ governance.*"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listing.returncode == 0, listing.stderr
    for table in PUBLISHED_TABLES:
        assert table.split(".")[1] in listing.stdout, table
    described = subprocess.run(
        ["psql", url, "-X", "-c", r"\d+ marts.market_monthly"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert described.returncode == 0, described.stderr
    gmv_comment = _published_columns(endpoint)["marts.market_monthly.gmv"]
    assert gmv_comment and gmv_comment[:40] in described.stdout


def test_psql_describes_every_published_table_and_column_in_chinese(endpoint):
    """`\\d+` of every published table through psql, as a Chinese analyst reads it: each
    table's comment and each column's, Chinese description first (quality/published.py)."""
    env = {"PGPASSWORD": endpoint.reader_password, "PATH": "/usr/bin:/bin"}
    url = endpoint.reader_url.replace(f":{endpoint.reader_password}@", "@")
    dictionary = published_descriptions()
    commands = [arg for table in PUBLISHED_TABLES for arg in ("-c", rf"\d+ {table}")]
    described = subprocess.run(
        ["psql", url, "-X", "-P", "pager=off", "-c", r"\dt+ marts.*", "-c", r"\dt+ governance.*"]
        + commands,
        env={**env, "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert described.returncode == 0, described.stderr
    for table in PUBLISHED_TABLES:
        for column, text in dictionary[table].columns.items():
            if column in BOOKKEEPING_COLUMNS:
                continue
            assert text.description_zh in described.stdout, f"{table}.{column}"
    for table in PUBLISHED_TABLES:  # the table's comment, in \dt+
        assert dictionary[table].description_zh in described.stdout, table


def test_psycopg_reads_what_serving_duckdb_holds(endpoint):
    con = _serving(endpoint)
    try:
        expected = {
            t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in PUBLISHED_TABLES
        }
        gmv = con.execute("select sum(gmv) from marts.market_monthly").fetchone()[0]
    finally:
        con.close()
    with psycopg.connect(endpoint.reader_url) as pg:
        counts = {
            t: pg.execute(f"select count(*) from {t}").fetchone()[0] for t in PUBLISHED_TABLES
        }
        pg_gmv = pg.execute("select sum(gmv) from marts.market_monthly").fetchone()[0]
        # the reader's search path finds the marts without a schema
        assert (
            pg.execute("select count(*) from market_monthly").fetchone()[0]
            == counts["marts.market_monthly"]
        )
    assert counts == expected
    assert expected["marts.market_monthly"] > 0
    assert pg_gmv == gmv


def test_revoked_and_expired_licences_are_not_shown_as_verified(endpoint, published):
    """Issue 31: a clinic whose licence the registry marks 吊销, or whose 有效期 ended, is not
    `verified` to consumers, in serving.duckdb and through the endpoint alike."""
    kinds = published["manifest"]["violations"]["GOV-15"]["kinds"]
    revoked = [c for c, kind in kinds.items() if "licence_revoked" in kind]
    expired = [c for c, kind in kinds.items() if "licence_expired" in kind]
    assert revoked and expired
    query = "select clinic_id, listing_status from marts.clinic_scorecard"
    con = _serving(endpoint)
    try:
        in_file = dict(con.execute(query).fetchall())
    finally:
        con.close()
    with psycopg.connect(endpoint.reader_url) as pg:
        through_endpoint = dict(pg.execute(query).fetchall())
    assert through_endpoint == in_file
    assert {in_file[c] for c in revoked + expired} == {"suspended"}
    # the sample's other listings are mostly verified: the column tells them apart
    assert "verified" in in_file.values()


def test_sqlalchemy_reflects_the_published_tables_with_their_comments(endpoint):
    """Python's SQLAlchemy (2.x, this environment's) with psycopg 3: what pandas.read_sql and
    most notebooks use."""
    import sqlalchemy as sa

    engine = sa.create_engine(endpoint.reader_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        inspector = sa.inspect(engine)
        reflected = {
            f"{schema}.{table}"
            for schema in ("marts", "governance")
            for table in inspector.get_table_names(schema=schema)
        }
        assert reflected == set(PUBLISHED_TABLES)
        assert inspector.get_table_comment("market_monthly", schema="marts")["text"]
        columns = inspector.get_columns("market_monthly", schema="marts")
        assert columns and all(c["comment"] for c in columns)
        with engine.connect() as conn:
            gmv = conn.execute(sa.text("select sum(gmv) from marts.market_monthly")).scalar()
    finally:
        engine.dispose()
    con = _serving(endpoint)
    try:
        assert gmv == con.execute("select sum(gmv) from marts.market_monthly").fetchone()[0]
    finally:
        con.close()


@pytest.mark.skipif(not JDBC_DRIVER.exists(), reason="libpostgresql-jdbc-java (make setup)")
def test_jdbc_metadata_lists_every_table_and_column_with_its_remark(endpoint, tmp_path):
    source = tmp_path / "Metadata.java"
    source.write_text(JDBC_CLIENT, encoding="utf-8")
    jdbc_url = f"jdbc:postgresql://127.0.0.1:{endpoint.port}/yimei"
    result = subprocess.run(
        [
            "java",
            "-cp",
            str(JDBC_DRIVER),
            str(source),
            jdbc_url,
            "yimei_reader",
            endpoint.reader_password,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    tables = {line[1]: line[2] for line in lines if line[0] == "T"}
    columns = {line[1]: line[2] for line in lines if line[0] == "C"}
    assert set(tables) == set(PUBLISHED_TABLES)
    assert set(columns) == set(_published_columns(endpoint))
    undescribed = [n for n, remark in [*tables.items(), *columns.items()] if remark in ("", "null")]
    assert not undescribed
    # PostgreSQL's own permission error (SQLSTATE 42501), through the driver
    assert ["W", "42501"] in lines


@pytest.mark.parametrize(
    "statement",
    [
        "insert into marts.channel_funnel (month) values (date '2026-01-01')",
        "update marts.clinic_scorecard set trust_score = 100",
        "delete from governance.findings",
        "create table marts.mine (x int)",
        "create schema mine",
        "drop table marts.market_monthly",
        "copy (select 1) to program 'id'",
        "select * from yimei_serving.versions",
        "alter table marts.market_monthly add column x int",
    ],
)
def test_the_reader_can_only_read_the_published_tables(endpoint, statement):
    with psycopg.connect(endpoint.reader_url, autocommit=True) as pg:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            pg.execute(statement)


def test_the_reader_can_use_no_schema_but_the_published_ones(endpoint):
    """Not the bookkeeping schema, not ``public``, not a next or old version of the published
    schemas; PostgreSQL's own catalogues stay readable, as every client needs them."""
    with psycopg.connect(endpoint.reader_url, autocommit=True) as pg:
        usable = pg.execute(
            "select nspname from pg_namespace where has_schema_privilege(oid, 'usage') "
            "and nspname not in ('pg_catalog', 'information_schema') order by 1"
        ).fetchall()
        schemas = [r[0] for r in pg.execute("select nspname from pg_namespace").fetchall()]
    assert [r[0] for r in usable] == ["governance", "marts"]
    assert {"public", "yimei_serving"} <= set(schemas)


def test_serve_refuses_to_listen_beyond_loopback_without_password_and_tls(tmp_path):
    yimei = str(Path(sys.executable).with_name("yimei"))
    result = subprocess.run(
        [yimei, "serve", "--host", "0.0.0.0"],
        env=serve_env(tmp_path, free_port()),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0" in result.stdout
    assert not (tmp_path / "postgres").exists()
