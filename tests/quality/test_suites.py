"""Each suite against a clean and a deliberately broken fixture, through real GX."""

from __future__ import annotations

import pandas as pd
import pytest

from quality import suites
from quality.runner import Validator


@pytest.fixture(scope="module")
def validator():
    return Validator()


def _failing(result) -> dict[str, list]:
    return {
        item.expectation_config.meta["rule_id"]: item.result.get("unexpected_index_list") or []
        for item in result.results
        if not item.success
    }


def test_every_expectation_is_tagged():
    built = [
        suites.build_clinic_licence_suite(),
        suites.build_order_compliance_suite(),
        suites.build_review_verification_suite(),
        suites.build_complaint_response_suite(),
        suites.build_personal_data_suite("marts.x", ["city"]),
        suites.build_table_integrity_suite(),
        suites.build_feed_freshness_suite(),
        suites.build_persona_segments_suite(),
    ]
    for suite in built:
        for expectation in suite.expectations:
            assert {"rule_id", "owner", "severity"} <= set(expectation.meta), suite.name


def test_order_compliance_clean_and_broken(validator):
    columns = [
        "licence_valid_at_service",
        "department_in_scope",
        "practitioner_in_scope",
        "product_registered",
        "price_transparent",
    ]
    reasons = [
        "licence_reason",
        "department_reason",
        "practitioner_reason",
        "product_reason",
        "price_reason",
    ]
    clean = pd.DataFrame(
        {"order_id": ["O1", "O2"], "clinic_id": ["C1", "C2"]}
        | {c: [True, True] for c in columns}
        | {r: [None, None] for r in reasons}
    )
    index = ["order_id", "clinic_id", *reasons]
    suite = suites.build_order_compliance_suite()
    assert validator.validate("orders_clean", clean, suite, index).success
    broken = clean.copy()
    broken.loc[1, "product_registered"] = False
    broken.loc[1, "product_reason"] = "registration not found"
    failing = _failing(validator.validate("orders_broken", broken, suite, index))
    assert list(failing) == ["GOV-05"]
    assert failing["GOV-05"][0]["order_id"] == "O2"
    assert failing["GOV-05"][0]["product_reason"] == "registration not found"


def test_personal_data_suite_finds_phone_ip_and_device_id(validator):
    suite = suites.build_personal_data_suite("marts.t", ["detail"])
    clean = pd.DataFrame({"detail": ["成都", "licence 吊销 since 2026-05-03", "a" * 64, None]})
    assert validator.validate("pii_clean", clean, suite, []).success
    for leak in [
        "call 13812345678",
        "from 203.0.113.7",
        "dev 1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    ]:
        broken = pd.DataFrame({"detail": ["成都", leak]})
        assert not validator.validate("pii_broken", broken, suite, []).success, leak


def test_persona_suite_blocks_small_cells(validator):
    suite = suites.build_persona_segments_suite()
    assert validator.validate("persona", pd.DataFrame({"buyers": [10, 25]}), suite, []).success
    assert not validator.validate("persona", pd.DataFrame({"buyers": [10, 9]}), suite, []).success


def test_freshness_suite(validator):
    suite = suites.build_feed_freshness_suite()
    fresh = pd.DataFrame(
        {
            "feed": ["orders", "reviews"],
            "newest_dt": pd.to_datetime(["2026-11-22", "2026-11-21"]),
            "days_behind": [1, 2],
            "volume_ratio": [1.1, None],
        }
    )
    assert validator.validate("feeds", fresh, suite, ["feed"]).success
    stale = fresh.assign(days_behind=[1, 5])
    assert (
        _failing(validator.validate("feeds", stale, suite, ["feed"]))["GOV-12"][0]["feed"]
        == "reviews"
    )
    dropped = fresh.assign(volume_ratio=[0.2, None])
    assert not validator.validate("feeds", dropped, suite, ["feed"]).success


def test_integrity_suite(validator):
    suite = suites.build_table_integrity_suite()
    good = pd.DataFrame(
        {
            "table_name": ["marts.a"],
            "row_count": [3],
            "distinct_key_count": [3],
            "hours_after_run_end": [-5.0],
            "min_amount": [0.0],
            "unresolved_references": [0],
        }
    )
    assert validator.validate("profiles", good, suite, ["table_name"]).success
    for broken in (
        good.assign(distinct_key_count=[2]),
        good.assign(hours_after_run_end=[1.0]),
        good.assign(min_amount=[-1.0]),
        good.assign(unresolved_references=[1]),
    ):
        assert not validator.validate("profiles", broken, suite, ["table_name"]).success
