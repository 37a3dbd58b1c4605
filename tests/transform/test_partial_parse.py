"""A warehouse's first dbt build reuses the project's parse (keep_partial_parse)."""

from __future__ import annotations

import shutil

import pytest

from orchestration.transform.project import PARTIAL_PARSE, keep_partial_parse
from tests.transform.dbt_helpers import run_dbt

FULL_PARSE = "Unable to do partial parsing"


@pytest.mark.pipeline
def test_a_new_warehouse_builds_from_the_projects_parse(clean_run):
    """The tiny sample's run into a new data directory: dbt did not parse the whole project."""
    log = clean_run["log"].read_text(encoding="utf-8")
    assert "Running with dbt" in log
    assert FULL_PARSE not in log, log[log.index(FULL_PARSE) - 200 :][:600]


@pytest.mark.pipeline
def test_a_moved_warehouse_keeps_its_parse_once_rekeyed(clean_run, tmp_path, monkeypatch):
    """The run's own parse, in a data directory moved elsewhere (a restored backup): dbt parses
    everything again unless re-keyed to the new path's profile, and nothing once it is."""
    built = clean_run["data_dir"] / "dbt_target" / PARTIAL_PARSE
    for name in ("as_moved", "rekeyed"):
        (tmp_path / name / "dbt_target").mkdir(parents=True)
        shutil.copyfile(built, tmp_path / name / "dbt_target" / PARTIAL_PARSE)

    monkeypatch.setenv("YIMEI_DATA_DIR", str(tmp_path / "rekeyed"))
    keep_partial_parse(tmp_path / "rekeyed" / "dbt_target", None)
    assert (tmp_path / "rekeyed" / "dbt_target" / PARTIAL_PARSE).read_bytes() != built.read_bytes()

    as_moved = run_dbt(tmp_path / "as_moved", tmp_path / "as_moved" / "dbt_target", "parse")
    assert "profile has changed" in as_moved.stdout, as_moved.stdout[-3000:]
    rekeyed = run_dbt(tmp_path / "rekeyed", tmp_path / "rekeyed" / "dbt_target", "parse")
    assert FULL_PARSE not in rekeyed.stdout, rekeyed.stdout[-3000:]


def test_a_cut_short_parse_is_dropped_for_dbt_to_parse_again(tmp_path):
    saved = tmp_path / PARTIAL_PARSE
    saved.write_bytes(b"\x8f\xa5state")  # a map of 15 entries cut after its first key
    keep_partial_parse(tmp_path, None)
    assert not saved.exists()
