"""A run whose publish step never ran is never a success.

Dagster skips a step when an asset it needs was not materialized before it (a dbt event lost
on the way, as once seen on the Spark path), and still calls the run a success. `yimei run`
must say it published nothing, name the skipped step and exit non-zero, and record the run
failed, so that no later run takes it for the last publish.
"""

from __future__ import annotations

import pytest

from tests.reliability.conftest import copy_data_dir, dagster_runs, run_yimei, serving_version

pytestmark = pytest.mark.pipeline


def test_a_run_whose_publish_was_skipped_exits_non_zero_and_names_the_step(
    tmp_path, clean_run, clean_version
):
    data_dir = copy_data_dir(clean_run["data_dir"], tmp_path / "data")
    landing = clean_run["landing"]

    lost = run_yimei(landing, data_dir, "--rebuild", faults="dbt:output=drop")
    output = lost.output()
    assert lost.process.returncode == 1, output[-3000:]
    assert "RUN DID NOT PUBLISH" in output, output[-3000:]
    assert "step governance_checks was skipped" in output, output[-3000:]
    assert serving_version(data_dir / "serving.duckdb") == clean_version
    builds = [status for _, job, status in dagster_runs(data_dir) if job == "build_check_publish"]
    assert sorted(builds) == ["FAILURE", "SUCCESS"], builds  # this one, and the clean one
