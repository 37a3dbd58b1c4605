"""Great Expectations suites for the governance rules, as pure functions.

Each ``build_<table>_suite()`` returns a GX 1.x suite of typed expectation
classes. Every expectation carries its rule id, owner and severity in ``meta``;
the runner (quality/runner.py) turns failing rows into findings through those
tags, so a suite is the single statement of what a rule enforces.
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from quality.rules import RULE_BY_ID, parameter

# GOV-10: a mainland mobile number, an IPv4 address, a UUID-form device id.
PERSONAL_DATA_PATTERNS = dict(parameter("GOV-10", "patterns"))
# shown in the Data Docs beside GOV-10's counts (quality/runner.py::_personal_data)
PERSONAL_DATA_NOTE = (
    "Validated on the values the engine found matching a personal-data pattern in any text "
    "column of any published table (every row is scanned), one row each with its table and "
    "column: none means no published table holds clear text."
)


def _meta(rule_id: str, **extra) -> dict:
    rule = RULE_BY_ID[rule_id]
    return {"rule_id": rule_id, "owner": rule.owner, "severity": rule.severity, **extra}


# shown in the Data Docs beside the entity rules' counts (quality/runner.py::run_entity_rules)
SELECTED_ROWS_NOTE = (
    "Validated on the rows the engine found holding a value outside the set in any column "
    "this suite checks (every row is scanned; the rows checked per rule are in "
    "governance.rule_results)."
)


def _in_set(column: str, values: list, rule_id: str, reason_column: str) -> gxe.Expectation:
    return gxe.ExpectColumnValuesToBeInSet(
        column=column,
        value_set=values,
        meta=_meta(rule_id, reason_column=reason_column),
        notes=SELECTED_ROWS_NOTE,
    )


def _must_be_true(column: str, rule_id: str, reason_column: str) -> gxe.Expectation:
    return _in_set(column, [True], rule_id, reason_column)


def build_clinic_licence_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="int_clinic_licence_verification",
        expectations=[
            _must_be_true("licence_verified", "GOV-01", "licence_verification_reason"),
            _must_be_true("licence_in_force", "GOV-15", "licence_in_force_reason"),
            _must_be_true("departments_licensed", "GOV-16", "departments_reason"),
        ],
    )


def build_doctor_listing_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="int_doctor_listing_checks",
        expectations=[_must_be_true("doctor_registered", "GOV-17", "registration_reason")],
    )


def build_clinic_tier_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="int_clinic_tier_checks",
        expectations=[_must_be_true("tier_label_earned", "GOV-18", "tier_label_reason")],
    )


def build_order_compliance_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="int_order_compliance",
        expectations=[
            _must_be_true("licence_valid_at_service", "GOV-02", "licence_reason"),
            _must_be_true("department_in_scope", "GOV-03", "department_reason"),
            _must_be_true("practitioner_in_scope", "GOV-04", "practitioner_reason"),
            _must_be_true("product_registered", "GOV-05", "product_reason"),
            _must_be_true("price_transparent", "GOV-08", "price_reason"),
            _must_be_true("grade_within_level", "GOV-14", "grade_reason"),
        ],
    )


def build_review_verification_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="int_review_verification",
        expectations=[
            _must_be_true("review_verified", "GOV-06", "verification_reason"),
            _in_set("manipulation_flagged", [False], "GOV-07", "manipulation_reason"),
        ],
    )


def build_complaint_response_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="int_complaint_response",
        expectations=[_must_be_true("replied_in_time", "GOV-09", "reply_reason")],
    )


def build_personal_data_suite() -> gx.ExpectationSuite:
    """GOV-10 over every published table at once: one row per text value the engine found
    matching a pattern (quality/facts.py, ``MATCHING_TEXT_COLUMNS``), which must not match."""
    return gx.ExpectationSuite(
        name="personal_data",
        expectations=[
            gxe.ExpectColumnValuesToNotMatchRegex(
                column="value",
                regex=pattern,
                meta=_meta("GOV-10", kind=kind, detail=f"clear-text {kind}"),
                notes=PERSONAL_DATA_NOTE,
            )
            for kind, pattern in PERSONAL_DATA_PATTERNS.items()
        ],
    )


def build_table_integrity_suite() -> gx.ExpectationSuite:
    """GOV-11 on governance.gov_table_profiles: one row per guarded table."""
    return gx.ExpectationSuite(
        name="table_integrity",
        expectations=[_must_be_true("integrity_ok", "GOV-11", "integrity_reason")],
    )


def build_feed_freshness_suite() -> gx.ExpectationSuite:
    """GOV-12 on governance.gov_feed_status: one row per feed."""
    return gx.ExpectationSuite(
        name="feed_freshness",
        expectations=[_must_be_true("feed_healthy", "GOV-12", "freshness_reason")],
    )


def build_persona_segments_suite() -> gx.ExpectationSuite:
    """GOV-13 on governance.gov_small_cells: the persona table as one row."""
    return gx.ExpectationSuite(
        name="persona_segments",
        expectations=[_must_be_true("cell_large_enough", "GOV-13", "small_cell_reason")],
    )
