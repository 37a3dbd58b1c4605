"""A sample with no violation injected publishes with no finding (issue 5): every rule is
checked, on every entity, and none of them fails."""

from __future__ import annotations

from dataclasses import replace

import duckdb
import pytest

from quality.rules import RULES
from tests.conftest import TINY, make_landing, yimei_run

pytestmark = pytest.mark.pipeline


# Cost: about 45 s (a run of its own: no other scenario is a sample without violations).
# Needed: a rule that fires on clean data would drown the owners in false findings.
def test_a_clean_sample_yields_no_finding(tmp_path):
    landing, manifest = make_landing(tmp_path, replace(TINY, violation_rate=0.0))
    assert not any(truth["entity_ids"] for truth in manifest["violations"].values())
    data_dir = tmp_path / "data"
    result = yimei_run(landing, data_dir)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

    con = duckdb.connect(str(data_dir / "serving.duckdb"), read_only=True)
    try:
        findings = con.execute(
            "select rule_id, entity_id, detail from governance.findings order by all limit 10"
        ).fetchall()
        results = con.execute(
            "select rule_id, entities_checked, entities_failing, passed "
            "from governance.rule_results order by rule_id"
        ).fetchall()
    finally:
        con.close()
    assert findings == []
    assert [r[0] for r in results] == sorted(r.rule_id for r in RULES)
    for rule_id, checked, failing, passed in results:
        assert checked > 0 and failing == 0 and passed, (rule_id, checked, failing)
