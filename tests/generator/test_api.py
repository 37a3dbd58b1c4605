"""Public API of the generator: determinism, manifest file, CLI helpers, scenarios."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from generator import SampleConfig, cli_args, config_from_args, generate
from generator.config import Timeline, date_of, since_last_new_year
from tests.generator.conftest import TINY


def tree_digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_config_gives_identical_files_and_manifest(tmp_path):
    first = generate(tmp_path / "a", TINY)
    second = generate(tmp_path / "b", TINY)
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    other = generate(tmp_path / "c", replace(TINY, seed=TINY.seed + 1))
    assert tree_digest(tmp_path / "c") != tree_digest(tmp_path / "a")
    assert other["truth"]["gmv"] != first["truth"]["gmv"]


def test_regenerating_replaces_the_landing_zone(tmp_path):
    generate(tmp_path / "landing", TINY)
    (tmp_path / "landing" / "orders" / "dt=1999-01-01").mkdir()
    (tmp_path / "landing" / "keep.txt").write_text("not a feed")
    generate(tmp_path / "landing", TINY)
    assert not (tmp_path / "landing" / "orders" / "dt=1999-01-01").exists()
    assert (tmp_path / "landing" / "keep.txt").exists()  # only the four feeds are replaced


def test_manifest_file_is_written_outside_the_landing_dir(tmp_path):
    path = tmp_path / "out" / "sample_manifest.json"
    manifest = generate(tmp_path / "landing", replace(TINY, manifest_path=path))
    assert json.loads(path.read_text(encoding="utf-8")) == manifest
    with pytest.raises(ValueError, match="inside the landing dir"):
        generate(tmp_path / "landing",
                 replace(TINY, manifest_path=tmp_path / "landing" / "manifest.json"))


def test_config_validation():
    with pytest.raises(ValueError):
        SampleConfig(cities=99)
    with pytest.raises(ValueError):
        SampleConfig(clinics=5)
    assert SampleConfig(as_of="2026-01-02").as_of == date(2026, 1, 2)
    assert SampleConfig(as_of=None).resolved().as_of is not None


@pytest.mark.parametrize("as_of", ["2026-12-07", "2026-01-05", "2025-03-01"])
def test_the_default_history_is_last_year_and_this_year_to_date(as_of):
    """The default sample starts on 1 January of the year before the run date: the blue-book
    of the last full year has twelve months of data (issue 36)."""
    config = SampleConfig(as_of=as_of)
    first_order_day = date_of(Timeline.from_config(config).start)
    assert first_order_day == date(config.as_of.year - 1, 1, 1)
    assert SampleConfig(as_of=as_of, days=90).days == 90  # --days still sets it
    assert SampleConfig(as_of=None).resolved().days == since_last_new_year(
        SampleConfig(as_of=None).resolved().as_of
    )


def test_cli_helpers_expose_every_field():
    parser = argparse.ArgumentParser()
    parser.add_argument("--as-of")  # the yimei CLI defines its own
    cli_args(parser)
    args = parser.parse_args([
        "--as-of", "2026-11-23", "--seed", "5", "--orders", "5000", "--violation-rate", "0.05",
        "--no-bad-delivery", "--inject-pii-leak", "--manifest", "/tmp/m.json",
    ])
    assert args.manifest == Path("/tmp/m.json")
    config = config_from_args(args)
    assert config.seed == 5 and config.orders == 5000 and config.violation_rate == 0.05
    assert config.as_of == date(2026, 11, 23)
    assert config.bad_delivery is False and config.inject_pii_leak is True
    assert config.manifest_path == Path("/tmp/m.json")
    assert config.clinics == SampleConfig().clinics  # unset flags keep the default
    unset = config_from_args(parser.parse_args([]))
    assert unset.as_of is None and unset.manifest_path is None  # the CLI fills these in
    flags = {a.dest for a in parser._actions}
    assert {"seed", "cities", "clinics", "doctors_per_clinic", "days", "orders", "reviews",
            "snapshot_interval_days", "violation_rate", "bad_delivery", "inject_stale_feed",
            "inject_volume_drop", "inject_pii_leak", "manifest", "as_of"} <= flags


def test_blocking_scenarios(tmp_path):
    config = replace(TINY, inject_stale_feed=True, inject_volume_drop=True, inject_pii_leak=True)
    manifest = generate(tmp_path / "landing", config)
    assert manifest["blocking"] == ["GOV-10", "GOV-12"]
    # the reviews feed stops 5 days before the run date
    assert max(manifest["partitions"]["reviews"]) == "2026-11-18"
    # the newest orders partition holds about a fifth of the usual rows
    drop = manifest["scenarios"]["volume_drop"]
    assert drop["partition"] == "orders/dt=2026-11-22"
    assert drop["ratio"] < 0.5
    # a clear-text mobile number sits in a published-bound CRM column
    leak = manifest["scenarios"]["pii_leak"]
    text = (tmp_path / "landing" / leak["files"][-1]).read_text(encoding="utf-8")
    assert re.search(r"(^|[^0-9])1[3-9][0-9]{9}([^0-9]|$)", text)
    # the governance truth is still complete
    assert all(v["entity_ids"] for v in manifest["violations"].values())
