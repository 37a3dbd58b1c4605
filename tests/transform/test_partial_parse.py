"""A warehouse's first dbt build reuses the project's parse (keep_partial_parse)."""

from __future__ import annotations

import shutil

import pytest

from orchestration.transform.project import PARTIAL_PARSE, keep_partial_parse, profile_hash
from tests.conftest import run_log
from tests.transform.dbt_helpers import run_dbt

FULL_PARSE = "Unable to do partial parsing"


@pytest.mark.pipeline
def test_a_new_warehouse_builds_from_the_projects_parse(clean_run):
    """The tiny sample's run into a new data directory: dbt did not parse the whole project
    (dbt's log, in the run log)."""
    log = run_log(clean_run["log"].read_text(encoding="utf-8")).read_text(encoding="utf-8")
    assert "Running with dbt" in log
    assert FULL_PARSE not in log, log[log.index(FULL_PARSE) - 200 :][:600]


@pytest.mark.pipeline
def test_a_moved_warehouse_keeps_its_parse_once_rekeyed(clean_run, tmp_path, monkeypatch):
    """The run's own parse, in a data directory moved elsewhere (a restored backup): its profile
    hash is not the new path's (dbt would parse everything again), and once re-keyed dbt parses
    nothing: the hash computed is the one dbt computes."""
    built = clean_run["data_dir"] / "dbt_target" / PARTIAL_PARSE
    moved = tmp_path / "moved"
    (moved / "dbt_target").mkdir(parents=True)
    shutil.copyfile(built, moved / "dbt_target" / PARTIAL_PARSE)
    monkeypatch.setenv("YIMEI_DATA_DIR", str(moved))
    assert _profile_hash_of(built) != profile_hash(None)

    keep_partial_parse(moved / "dbt_target", None)
    assert _profile_hash_of(moved / "dbt_target" / PARTIAL_PARSE) == profile_hash(None)
    parsed = run_dbt(moved, moved / "dbt_target", "parse")
    assert FULL_PARSE not in parsed.stdout, parsed.stdout[-3000:]


def _profile_hash_of(saved) -> str:
    import msgpack

    state = msgpack.unpackb(saved.read_bytes(), raw=False, strict_map_key=False)
    return state["state_check"]["profile_hash"]["checksum"]


def test_a_cut_short_parse_is_dropped_for_dbt_to_parse_again(tmp_path):
    saved = tmp_path / PARTIAL_PARSE
    saved.write_bytes(b"\x8f\xa5state")  # a map of 15 entries cut after its first key
    keep_partial_parse(tmp_path, None)
    assert not saved.exists()
