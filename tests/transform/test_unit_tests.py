"""dbt's unit tests (the `unit_tests:` of the model ymls) on the published sample's warehouse:
the production build leaves them out (orchestration/transform/assets.py), so they run here,
with the pipeline's vars (the rule catalogue's parameters)."""

from __future__ import annotations

import shutil

import pytest

from tests.transform.dbt_helpers import run_dbt, unit_test_statuses

pytestmark = pytest.mark.pipeline


def test_every_dbt_unit_test_passes(published, tmp_path):
    result = published["result"]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    # a copy: dbt opens the warehouse for writing, the other tests read the original
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(published["data_dir"] / "warehouse.duckdb", data_dir / "warehouse.duckdb")
    target = tmp_path / "target"
    run_dbt(data_dir, target, "test", "--select", "test_type:unit")
    statuses, declared = unit_test_statuses(target)
    assert set(statuses) == declared, "every unit test of the project ran"
    # one per cap of GOV-14, and the other rules' tests beside it
    assert any(
        s.endswith(".test_procedure_grade_is_capped_by_the_clinic_type_in_force") for s in declared
    )
    assert set(statuses.values()) == {"pass"}, statuses
