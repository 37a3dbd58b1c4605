"""The rule catalogue of ../shared/spec/governance.md: id, severity, owner, entity."""

from __future__ import annotations

from dataclasses import dataclass

BLOCKING, FINDING = "blocking", "finding"


@dataclass(frozen=True)
class Rule:
    rule_id: str
    severity: str
    entity_type: str
    owner: str
    title: str
    guards: str  # the table the rule judges (its dbt column), or what a table rule covers

    @property
    def check_name(self) -> str:
        """Dagster asset-check name, e.g. ``gov_10_personal_data``."""
        return f"{self.rule_id.lower().replace('-', '_')}_{self.title.split(':')[0]}"

    @property
    def blocking(self) -> bool:
        return self.severity == BLOCKING


RULES: tuple[Rule, ...] = (
    Rule(
        "GOV-01",
        FINDING,
        "clinic",
        "clinic-onboarding",
        "licence_verified: clinic licence matches the 卫健委 registry",
        "intermediate.int_clinic_licence_verification",
    ),
    Rule(
        "GOV-02",
        FINDING,
        "order",
        "clinic-onboarding",
        "licence_valid_at_service: licence 正常 and in validity at completion",
        "intermediate.int_order_compliance",
    ),
    Rule(
        "GOV-03",
        FINDING,
        "order",
        "clinic-onboarding",
        "department_in_scope: procedure department among the licence's 诊疗科目",
        "intermediate.int_order_compliance",
    ),
    Rule(
        "GOV-04",
        FINDING,
        "order",
        "medical-affairs",
        "practitioner_in_scope: doctor registered, 正常, scope permits the department",
        "intermediate.int_order_compliance",
    ),
    Rule(
        "GOV-05",
        FINDING,
        "order",
        "supply-compliance",
        "product_registered: injectable, implant or device registered and valid",
        "intermediate.int_order_compliance",
    ),
    Rule(
        "GOV-06",
        FINDING,
        "review",
        "review-integrity",
        "review_verified: review backed by a completed order of the same buyer",
        "intermediate.int_review_verification",
    ),
    Rule(
        "GOV-07",
        FINDING,
        "review",
        "review-integrity",
        "review_not_manipulated: no near-identical bursts or shared-IP groups",
        "intermediate.int_review_verification",
    ),
    Rule(
        "GOV-08",
        FINDING,
        "order",
        "pricing",
        "price_transparent: fee items add up, mandatory items present, paid <= list",
        "intermediate.int_order_compliance",
    ),
    Rule(
        "GOV-09",
        FINDING,
        "review",
        "customer-service",
        "complaint_replied: complaint answered within 48 hours",
        "intermediate.int_complaint_response",
    ),
    Rule(
        "GOV-10",
        BLOCKING,
        "table",
        "data-platform",
        "personal_data: no clear-text phone, IP or device id published",
        "every published table (marts.*, governance.*)",
    ),
    Rule(
        "GOV-11",
        BLOCKING,
        "table",
        "data-platform",
        "integrity: unique keys, resolved references, no future timestamps, no negative amounts",
        "the marts and the intermediate fact tables",
    ),
    Rule(
        "GOV-12",
        BLOCKING,
        "table",
        "data-platform",
        "freshness_volume: feeds fresh, newest orders volume normal",
        "the raw feeds (audit.partition_loads)",
    ),
    Rule(
        "GOV-13",
        BLOCKING,
        "table",
        "data-platform",
        "small_cells: no persona cell under 10 buyers",
        "marts.persona_segments",
    ),
)
RULE_BY_ID = {rule.rule_id: rule for rule in RULES}
