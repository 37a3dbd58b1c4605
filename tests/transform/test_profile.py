"""dbt's DuckDB connections take the pipeline's memory bound and spill folder."""

from __future__ import annotations

import os
import subprocess
import sys

from ingestion import duck
from ingestion.settings import DBT_PROJECT_DIR
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


SPILL_TWICE = """
import sys
from dbt.cli.main import dbtRunner

from orchestration.transform.project import dbt_args

project, target = sys.argv[1], sys.argv[2]
# ten million groups under a 200 MB bound: the aggregate spills to the temp directory
query = (
    "select count(*) as n from (select (range * 7919) % 10000019 as k, count(*) as c "
    "from range(20000000) group by 1)"
)
runner = dbtRunner()  # one process, like a build whose threads each open a cursor
for attempt in range(2):
    result = runner.invoke(dbt_args(
        "show", "--inline", query, "--quiet", "--project-dir", project,
        "--profiles-dir", project, "--target-path", target, "--log-path", target,
    ))
    if not result.success:
        sys.exit(f"attempt {attempt + 1}: {result.exception}")
"""


def test_dbt_keeps_working_after_duckdb_spilled(tmp_path):
    """A new cursor after a spill must not set the temp directory again (DuckDB refuses to
    switch it once used: a full build at L failed so)."""
    env = {
        **os.environ,
        "YIMEI_DATA_DIR": str(tmp_path),
        duck.MEMORY_LIMIT_ENV: "200MB",
        duck.TEMP_DIR_ENV: str(tmp_path / "spill"),
    }
    result = subprocess.run(
        [sys.executable, "-c", SPILL_TWICE, str(DBT_PROJECT_DIR), str(tmp_path / "target")],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
