"""Findings with a history, through three real `yimei run`s on one landing zone: a GOV-01
violation fixed in the registry between runs 1 and 2 and back in run 3 keeps its first
detection; a waived finding is published `waived` with its reason, and open again once the
waiver has expired (the site then lists the waiver as invalid)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from quality.waivers import WAIVERS_ENV
from tests.conftest import AS_OF, yimei_run
from tests.reliability.conftest import copy_data_dir

pytestmark = pytest.mark.pipeline


def _read_registry(path: Path) -> tuple[list[dict], list[str], str]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gbk"):  # the registry delivers both (feeds.md)
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    reader = csv.DictReader(io.StringIO(text))
    return list(reader), list(reader.fieldnames or []), encoding


def _write_registry(path: Path, rows: list[dict], header: list[str], encoding: str) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))


def _finding(serving: Path, rule_id: str, entity_id: str) -> dict:
    con = duckdb.connect(str(serving), read_only=True)
    try:
        row = con.execute(
            "select status, first_detected_at, resolved_at, run_id, waiver_reason, waived_by "
            "from governance.findings where rule_id = ? and entity_id = ?",
            [rule_id, entity_id],
        ).fetchone()
    finally:
        con.close()
    assert row is not None, (rule_id, entity_id)
    keys = ("status", "first_detected_at", "resolved_at", "run_id", "waiver_reason", "waived_by")
    return dict(zip(keys, row, strict=True))


# Cost: about 70 s (two runs on the tiny sample after the shared clean run). Needed: a
# finding's lifecycle (open, resolved, reopened, waived) spans three runs by definition.
@pytest.fixture(scope="module")
def three_runs(tmp_path_factory, clean_run):
    """The first run is the shared clean run (no waivers); the next two run on copies of its
    landing zone and data directory."""
    root = tmp_path_factory.mktemp("lifecycle")
    landing = root / "landing"
    shutil.copytree(clean_run["landing"], landing)
    data_dir = copy_data_dir(clean_run["data_dir"], root / "data")
    manifest = clean_run["manifest"]
    kinds = manifest["violations"]["GOV-01"]["kinds"]
    clinic = next(c for c, kind in sorted(kinds.items()) if kind == "registry_name_mismatch")
    review = manifest["violations"]["GOV-06"]["entity_ids"][0]
    waivers = root / "waivers.csv"
    env = {WAIVERS_ENV: str(waivers)}

    def run() -> None:
        result = yimei_run(landing, data_dir, env=env)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    def waive(expires_on) -> None:
        waivers.write_text(
            "rule_id,entity_id,reason,owner,expires_on\n"
            f"GOV-06,{review},客户线下补传收据，待系统同步,review-integrity,{expires_on}\n"
            f"GOV-10,marts.market_monthly,not allowed,data-platform,{expires_on}\n",
            encoding="utf-8",
        )

    # the registry name of the clinic's licence, in the newest snapshot GOV-01 reads
    crm = sorted((landing / "clinics").glob("dt=*/clinics.csv"))[-1]
    with crm.open(encoding="utf-8-sig", newline="") as handle:
        declared = next(r for r in csv.DictReader(handle) if r["clinic_id"] == clinic)
    registry = sorted((landing / "registry").glob("dt=*/institutions.csv"))[-1]
    rows, header, encoding = _read_registry(registry)
    (entry,) = [r for r in rows if r["登记号"] == declared["license_no"]]
    wrong_name = entry["机构名称"]

    states = {}
    states[1] = _finding(data_dir / "serving.duckdb", "GOV-01", clinic)

    entry["机构名称"] = declared["name"]  # the registry corrects the name
    _write_registry(registry, rows, header, encoding)
    waive(AS_OF.isoformat())  # applies through the run date
    run()
    states[2] = _finding(data_dir / "serving.duckdb", "GOV-01", clinic)
    states["waived"] = _finding(data_dir / "serving.duckdb", "GOV-06", review)

    entry["机构名称"] = wrong_name  # and the old name comes back
    _write_registry(registry, rows, header, encoding)
    waive((AS_OF - timedelta(days=1)).isoformat())  # expired before the run date
    run()
    states[3] = _finding(data_dir / "serving.duckdb", "GOV-01", clinic)
    states["expired"] = _finding(data_dir / "serving.duckdb", "GOV-06", review)
    states["site"] = (data_dir / "quality" / "index.html").read_text(encoding="utf-8")
    con = duckdb.connect(str(data_dir / "serving.duckdb"), read_only=True)
    try:
        states["rule_results_runs"] = con.execute(
            "select count(distinct run_id) from governance.rule_results"
        ).fetchone()[0]
    finally:
        con.close()
    return states


def test_a_fixed_finding_is_resolved_and_reopens_with_its_first_detection(three_runs):
    first, fixed, back = three_runs[1], three_runs[2], three_runs[3]
    assert first["status"] == "open" and first["resolved_at"] is None
    assert fixed["status"] == "resolved"
    assert fixed["resolved_at"] > first["first_detected_at"]
    assert fixed["first_detected_at"] == first["first_detected_at"]
    assert back["status"] == "open" and back["resolved_at"] is None
    assert back["first_detected_at"] == first["first_detected_at"]
    assert back["run_id"] != first["run_id"]


def test_rule_results_keep_every_run(three_runs):
    assert three_runs["rule_results_runs"] == 3


def test_a_waived_finding_is_published_waived_until_its_waiver_expires(three_runs):
    waived, expired = three_runs["waived"], three_runs["expired"]
    assert waived["status"] == "waived"
    assert waived["waiver_reason"] == "客户线下补传收据，待系统同步"
    assert waived["waived_by"] == "review-integrity"
    assert expired["status"] == "open" and expired["waiver_reason"] is None
    assert expired["first_detected_at"] == waived["first_detected_at"]


def test_the_site_reports_the_invalid_waivers_it_ignored(three_runs):
    site = three_runs["site"]
    assert "GOV-10 is a blocking rule: it cannot be waived" in site
    assert "expired on" in site
    assert json.dumps("0 waivers applied")[1:-1] in site
