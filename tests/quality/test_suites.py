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
        suites.build_personal_data_suite(),
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
        "grade_within_level",
    ]
    reasons = [
        "licence_reason",
        "department_reason",
        "practitioner_reason",
        "product_reason",
        "price_reason",
        "grade_reason",
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
    suite = suites.build_personal_data_suite()
    index = ["table_name", "column_name"]

    def values(*texts):
        return pd.DataFrame({"table_name": "marts.t", "column_name": "detail", "value": texts})

    clean = values("成都", "licence 吊销 since 2026-05-03", "a" * 64, None)
    assert validator.validate("pii_clean", clean, suite, index).success
    for kind, leak in [
        ("phone", "call 13812345678"),
        ("ipv4", "from 203.0.113.7"),
        ("device_id", "dev 1b4e28ba-2fa1-11d2-883f-0016d3cca427"),
    ]:
        result = validator.validate("pii_broken", values("成都", leak), suite, index)
        failed = [i for i in result.results if not i.success]
        assert [i.expectation_config.meta["kind"] for i in failed] == [kind], leak
        assert failed[0].result["unexpected_index_list"] == [
            {"table_name": "marts.t", "column_name": "detail"}
        ]


@pytest.mark.parametrize(
    ("build", "entity", "flag", "reason"),
    [
        (suites.build_table_integrity_suite, "table_name", "integrity_ok", "integrity_reason"),
        (suites.build_feed_freshness_suite, "feed", "feed_healthy", "freshness_reason"),
        (
            suites.build_persona_segments_suite,
            "table_name",
            "cell_large_enough",
            "small_cell_reason",
        ),
    ],
)
def test_a_table_rule_fails_on_the_row_its_dbt_model_flagged(
    validator, build, entity, flag, reason
):
    """GOV-11..13 are judged in dbt (models/governance); the suite enforces the flag and
    hands the reason on."""
    suite = build()
    clean = pd.DataFrame({entity: ["a", "b"], flag: [True, True], reason: [None, None]})
    index = [entity, reason]
    assert validator.validate(f"{flag}_clean", clean, suite, index).success
    broken = clean.assign(**{flag: [True, False], reason: [None, "why it failed"]})
    (rule_id,) = {e.meta["rule_id"] for e in suite.expectations}
    (row,) = _failing(validator.validate(f"{flag}_broken", broken, suite, index))[rule_id]
    assert (row[entity], row[reason]) == ("b", "why it failed")
