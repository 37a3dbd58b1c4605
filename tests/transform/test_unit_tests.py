"""dbt's unit tests (the `unit_tests:` of the model ymls) on the published sample's warehouse:
the production build leaves them out (orchestration/transform/assets.py), so they run here,
with the pipeline's vars (the rule catalogue's parameters)."""

from __future__ import annotations

import json
import shutil

from tests.transform.dbt_helpers import run_dbt


def test_every_dbt_unit_test_passes(published, tmp_path):
    result = published["result"]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    # a copy: dbt opens the warehouse for writing, the other tests read the original
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(published["data_dir"] / "warehouse.duckdb", data_dir / "warehouse.duckdb")
    target = tmp_path / "target"
    run_dbt(data_dir, target, "test", "--select", "test_type:unit")
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
    statuses = {
        r["unique_id"].split(".")[-1]: r["status"]
        for r in results
        if r["unique_id"].startswith("unit_test.")  # not the project's on-run-start hook
    }
    # one per cap of GOV-14, and the other rules' tests beside it
    assert "test_procedure_grade_is_capped_by_the_clinic_type_in_force" in statuses
    assert len(statuses) >= 16, sorted(statuses)
    assert set(statuses.values()) == {"pass"}, statuses
