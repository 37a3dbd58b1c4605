"""dbt's DuckDB connections take the pipeline's memory bound and spill folder."""

from __future__ import annotations

import os

from ingestion import duck
from tests.transform.dbt_helpers import run_dbt


def test_dbt_connections_are_bounded_by_the_pipeline_setting(tmp_path, monkeypatch):
    monkeypatch.setitem(os.environ, duck.MEMORY_LIMIT_ENV, "1500MB")
    monkeypatch.setitem(os.environ, duck.TEMP_DIR_ENV, str(tmp_path / "spill"))
    result = run_dbt(
        tmp_path,
        tmp_path / "target",
        "show",
        "--inline",
        "select current_setting('memory_limit') as memory_limit, "
        "current_setting('temp_directory') as temp_directory",
        "--output",
        "json",
    )
    assert '"memory_limit": "1.3 GiB"' in result.stdout, result.stdout[-2000:]
    assert str(tmp_path / "spill") in result.stdout
