"""8 reader processes query ``serving.duckdb`` in a loop, as BI tools do, while 5
consecutive runs publish: no reader ever fails, and every read sees one version.

Each reader opens the file afresh for every read (a BI tool's new connection or refresh)
and checks, inside that one connection, that the findings of every rule are exactly the
failing entities that the rule's latest result counted (``consistent_version``), and
touches every published table. A connection kept open across publishes keeps seeing the
version it opened (the rename leaves its file in place); readers that want the new
version reconnect (README, "Querying the result").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.reliability.conftest import FIGURES, copy_data_dir, run_yimei, wait_for

pytestmark = pytest.mark.pipeline

REPO = Path(__file__).resolve().parents[2]
READERS = 8
PUBLISHES = 5

READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import duckdb
    from quality.published import PUBLISHED_TABLES
    from tests.reliability.conftest import consistent_version

    serving, stop, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    PACE_S = 0.2
    reads, errors, inconsistent, versions = 0, [], 0, set()
    deadline = time.monotonic() + 1800
    while not stop.exists() and time.monotonic() < deadline:
        try:
            con = duckdb.connect(str(serving), read_only=True)
            try:
                (run_id,) = con.execute(
                    "select run_id from governance.rule_results order by checked_at desc limit 1"
                ).fetchone()
                if not consistent_version(con, run_id):
                    inconsistent += 1
                for table in PUBLISHED_TABLES:
                    con.execute(f"select count(*) from {table}").fetchone()
                versions.add(run_id)
                reads += 1
            finally:
                con.close()
        except Exception as error:
            errors.append(f"{type(error).__name__}: {error}")
        time.sleep(PACE_S)  # a dashboard's refresh, not a race: the runs need the CPU too
    out.write_text(json.dumps({"reads": reads, "errors": errors[:20], "error_count": len(errors),
                               "inconsistent": inconsistent, "versions": sorted(versions)}))
    """
)


# Cost: about 160-220 s (five rebuilds under eight reader processes, which take a core
# between them and slow the other worker too). Needed: a torn read shows only under many
# publishes racing many readers; fewer publishes measured no faster (stop 25).
def test_readers_see_one_whole_version_while_runs_publish(tmp_path, clean_run):
    data_dir = copy_data_dir(clean_run["data_dir"], tmp_path / "data")
    serving, stop = data_dir / "serving.duckdb", tmp_path / "stop"
    script = tmp_path / "reader.py"
    script.write_text(READER, encoding="utf-8")
    outputs = [tmp_path / f"reader-{i}.json" for i in range(READERS)]
    readers = [
        subprocess.Popen(
            [sys.executable, str(script), str(serving), str(stop), str(out)],
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        for out in outputs
    ]
    try:
        published = []
        for _ in range(PUBLISHES):
            run = run_yimei(clean_run["landing"], data_dir, "--rebuild")
            assert run.process.returncode == 0, run.output()[-3000:]
            published.append(run)
    finally:
        stop.touch()
        for reader in readers:
            reader.wait(timeout=120)
    wait_for(lambda: all(out.exists() for out in outputs), "every reader's report", timeout=60)
    reports = [json.loads(out.read_text()) for out in outputs]
    reads = sum(r["reads"] for r in reports)
    errors = [e for r in reports for e in r["errors"]]
    FIGURES["reads"] += reads
    FIGURES["reader errors"] += sum(r["error_count"] for r in reports)
    FIGURES["publishes under readers"] += PUBLISHES
    assert not errors, errors[:5]
    assert sum(r["inconsistent"] for r in reports) == 0
    assert all(r["reads"] > 0 for r in reports)
    seen = {v for r in reports for v in r["versions"]}
    assert len(seen) >= 3, f"the readers saw the versions change as runs published: {seen}"
