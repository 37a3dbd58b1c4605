"""Every pipeline connection is bounded by one memory setting and spills beside the data."""

from __future__ import annotations

from ingestion import duck


def test_connections_take_the_memory_limit_and_spill_folder_of_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv(duck.MEMORY_LIMIT_ENV, "1500MB")
    monkeypatch.setenv("YIMEI_DATA_DIR", str(tmp_path))
    monkeypatch.delenv(duck.TEMP_DIR_ENV, raising=False)
    con = duck.connect(tmp_path / "w.duckdb")
    try:
        limit, temp = con.execute(
            "select current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchone()
    finally:
        con.close()
    assert limit == "1.3 GiB"  # 1500 MB, as DuckDB prints it
    assert temp == str(tmp_path / "duckdb_tmp")


def test_a_query_larger_than_the_limit_spills_instead_of_failing(tmp_path, monkeypatch):
    monkeypatch.setenv(duck.MEMORY_LIMIT_ENV, "64MB")
    monkeypatch.setenv(duck.TEMP_DIR_ENV, str(tmp_path / "spill"))
    con = duck.connect(tmp_path / "w.duckdb")
    try:
        # a hash table of 8M groups (some 300 MB) cannot be held in 64 MB
        groups = con.execute(
            "select count(*) from (select i, count(*) from range(8000000) r(i) group by i)"
        ).fetchone()[0]
    finally:
        con.close()
    assert groups == 8_000_000


def test_the_default_fits_the_machine():
    limit = duck.default_memory_limit()
    assert limit.endswith("MB") and 0 < int(limit[:-2]) <= duck.DEFAULT_MEMORY_LIMIT_GB * 1024
