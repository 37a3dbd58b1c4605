"""The waivers file: valid rows apply, every other row is ignored with its reason."""

from __future__ import annotations

from datetime import date

from quality.waivers import read_waivers, waivers_path

AS_OF = date(2026, 11, 23)
HEADER = "rule_id,entity_id,reason,owner,expires_on\n"


def test_each_invalid_row_is_reported_and_only_valid_rows_apply(tmp_path):
    path = tmp_path / "waivers.csv"
    path.write_bytes(
        (
            "\ufeff"  # a BOM, as Excel writes UTF-8 CSV
            + HEADER
            + "GOV-01,C0001,许可证续期，登记未更新,clinic-onboarding,2026-11-23\n"
            + "GOV-99,C0002,typo,clinic-onboarding,2026-12-31\n"
            + "GOV-10,marts.market_monthly,no,data-platform,2026-12-31\n"
            + "GOV-06,R1,,review-integrity,2026-12-31\n"
            + "GOV-06,R2,reason,,2026-12-31\n"
            + "GOV-06,R3,reason,review-integrity,2026-11-22\n"
            + "GOV-06,R4,reason,review-integrity,next week\n"
            + "GOV-01,C0001,again,clinic-onboarding,2026-12-31\n"
            + ",,,,\n"
        ).encode("utf-8")
    )
    waivers = read_waivers(path, AS_OF)
    assert [(r.rule_id, r.entity_id) for r in waivers.valid] == [("GOV-01", "C0001")]
    assert waivers.valid[0].reason == "许可证续期，登记未更新"
    problems = {r.line: r.problem for r in waivers.invalid}
    assert problems == {
        3: "unknown rule 'GOV-99'",
        4: "GOV-10 is a blocking rule: it cannot be waived",
        5: "missing reason",
        6: "missing owner",
        7: "expired on 2026-11-22, before the run date 2026-11-23",
        8: "expires_on 'next week' is not a date (YYYY-MM-DD)",
        9: "a second waiver of the same finding (the first one applies)",
    }
    frame = waivers.applied_frame()
    assert frame.to_dict("records") == [
        {
            "rule_id": "GOV-01",
            "entity_id": "C0001",
            "reason": "许可证续期，登记未更新",
            "owner": "clinic-onboarding",
            "expires_on": date(2026, 11, 23),
        }
    ]


def test_a_missing_file_waives_nothing_and_a_broken_one_is_reported(tmp_path):
    assert read_waivers(tmp_path / "absent.csv", AS_OF).rows == ()
    bad = tmp_path / "bad.csv"
    bad.write_text("rule,entity\nGOV-01,C1\n", encoding="utf-8")
    waivers = read_waivers(bad, AS_OF)
    assert waivers.rows == () and "missing columns" in waivers.file_problem
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes((HEADER + "GOV-01,C1,理由,owner,2026-12-31\n").encode("gbk"))
    assert "not UTF-8" in read_waivers(gbk, AS_OF).file_problem


def test_the_path_defaults_to_the_data_dir_and_follows_the_env(tmp_path, monkeypatch):
    monkeypatch.delenv("YIMEI_WAIVERS", raising=False)
    assert waivers_path(tmp_path) == tmp_path / "governance" / "waivers.csv"
    monkeypatch.setenv("YIMEI_WAIVERS", str(tmp_path / "elsewhere.csv"))
    assert waivers_path(tmp_path) == tmp_path / "elsewhere.csv"
