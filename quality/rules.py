"""The rule catalogue of ../shared/spec/governance.md: id, severity, owner, entity, and every
number a rule uses (its parameters), stated here once.

Everything that applies a rule reads its parameters from here: dbt receives them as the
``rule_parameters`` var (orchestration/transform/dbt_vars.py, read by the
``rule_parameter`` macro), the Great Expectations suites, the generator's planted
violations and the blue-book report import them. docs/rules.md names, per rule, its
catalogue row, its dbt column and its expectation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

BLOCKING, FINDING = "blocking", "finding"

# The clinic types of feeds.md, in the order of the level they may practise at.
CLINIC_TYPES = ("医疗美容诊所", "医疗美容门诊部", "医疗美容医院", "综合医院医疗美容科")


def _frozen(values: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(
        {k: _frozen(v) if isinstance(v, Mapping) else v for k, v in values.items()}
    )


@dataclass(frozen=True)
class Rule:
    rule_id: str
    severity: str
    entity_type: str
    owner: str
    # "<name>: <text>", the text may name parameters: "{reply_within_hours} hours"
    title_template: str
    guards: str  # the table the rule judges (its dbt column), or what a table rule covers
    parameters: Mapping[str, Any] = field(default_factory=dict)
    # a listing check's action in the owners' work queue (governance.md, "Listing actions")
    listing_action: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", _frozen(self.parameters))

    @property
    def title(self) -> str:
        return self.title_template.format(**self.parameters)

    @property
    def check_name(self) -> str:
        """Dagster asset-check name, e.g. ``gov_10_personal_data``."""
        return f"{self.rule_id.lower().replace('-', '_')}_{self.title.split(':')[0]}"

    @property
    def blocking(self) -> bool:
        return self.severity == BLOCKING


# The actions of governance.listing_actions, strongest first: an entity with several open
# listing findings gets the strongest of their actions.
SUSPEND_LISTING, CORRECT_LISTING, REMOVE_TIER_LABEL = LISTING_ACTIONS = (
    "suspend_listing",
    "correct_listing",
    "remove_tier_label",
)


def _finding(
    *args: str, alert_above: int, listing_action: str | None = None, **parameters: Any
) -> Rule:
    """A finding rule; ``alert_above``: newly opened findings in one run above this many post
    an alert to the owners (quality/alerts.py); ``listing_action``: what its open findings ask
    of the owners, for a rule that judges what the platform shows today."""
    return Rule(
        *args,
        parameters={**parameters, "alert_new_findings_above": alert_above},
        listing_action=listing_action,
    )


RULES: tuple[Rule, ...] = (
    _finding(
        "GOV-01",
        FINDING,
        "clinic",
        "clinic-onboarding",
        "licence_verified: clinic licence matches the 卫健委 registry",
        "intermediate.int_clinic_licence_verification",
        alert_above=0,
        listing_action=SUSPEND_LISTING,
    ),
    _finding(
        "GOV-02",
        FINDING,
        "order",
        "clinic-onboarding",
        "licence_valid_at_service: licence 正常 and in validity at completion",
        "intermediate.int_order_compliance",
        alert_above=50,
    ),
    _finding(
        "GOV-03",
        FINDING,
        "order",
        "clinic-onboarding",
        "department_in_scope: procedure department among the licence's 诊疗科目",
        "intermediate.int_order_compliance",
        alert_above=50,
    ),
    _finding(
        "GOV-04",
        FINDING,
        "order",
        "medical-affairs",
        "practitioner_in_scope: doctor registered, 正常, scope permits the department",
        "intermediate.int_order_compliance",
        alert_above=50,
    ),
    _finding(
        "GOV-05",
        FINDING,
        "order",
        "supply-compliance",
        "product_registered: injectable, implant or device registered and valid",
        "intermediate.int_order_compliance",
        alert_above=50,
    ),
    _finding(
        "GOV-06",
        FINDING,
        "review",
        "review-integrity",
        "review_verified: review backed by a completed order of the same buyer, written "
        "within {review_window_days} days",
        "intermediate.int_review_verification",
        alert_above=200,
        review_window_days=90,
        min_receipts=1,
    ),
    _finding(
        "GOV-07",
        FINDING,
        "review",
        "review-integrity",
        "review_not_manipulated: no bursts of {burst_min_reviews} near-identical reviews in "
        "{burst_window_hours} hours, no IP shared by {shared_ip_min_users} users in "
        "{shared_ip_window_days} days",
        "intermediate.int_review_verification",
        alert_above=100,
        burst_min_reviews=5,
        burst_window_hours=24,
        min_similarity=0.9,
        shared_ip_min_users=3,
        shared_ip_window_days=7,
    ),
    _finding(
        "GOV-08",
        FINDING,
        "order",
        "pricing",
        "price_transparent: fee items add up (within {fee_tolerance_yuan} yuan), mandatory "
        "items present, paid <= list",
        "intermediate.int_order_compliance",
        alert_above=50,
        fee_tolerance_yuan=1,
    ),
    _finding(
        "GOV-09",
        FINDING,
        "review",
        "customer-service",
        "complaint_replied: complaint answered within {reply_within_hours} hours",
        "intermediate.int_complaint_response",
        alert_above=50,
        reply_within_hours=48,
    ),
    _finding(
        "GOV-14",
        FINDING,
        "order",
        "medical-affairs",
        "grade_within_level: procedure grade within the clinic type's cap (医疗美容项目分级)",
        "intermediate.int_order_compliance",
        alert_above=0,
        grade_caps=dict(zip(CLINIC_TYPES, (1, 2, 3, 4), strict=True)),
    ),
    # GOV-15..18 are listing checks: they judge what the platform shows on the run date, not
    # what happened in an order (governance.md, "Listing actions").
    _finding(
        "GOV-15",
        FINDING,
        "clinic",
        "clinic-onboarding",
        "licence_in_force: listed clinic's licence 正常 and within its validity on the run date",
        "intermediate.int_clinic_licence_verification",
        alert_above=0,
        listing_action=SUSPEND_LISTING,
    ),
    _finding(
        "GOV-16",
        FINDING,
        "clinic",
        "clinic-onboarding",
        "departments_licensed: every advertised department among the licence's 诊疗科目",
        "intermediate.int_clinic_licence_verification",
        alert_above=0,
        listing_action=CORRECT_LISTING,
    ),
    _finding(
        "GOV-17",
        FINDING,
        "doctor",
        "medical-affairs",
        "doctor_registered: listed doctor 正常 in the registry, same name, at this clinic, chief "
        "consultant a 美容主诊医师",
        "intermediate.int_doctor_listing_checks",
        alert_above=0,
        listing_action=CORRECT_LISTING,
    ),
    _finding(
        "GOV-18",
        FINDING,
        "clinic",
        "merchant-operations",
        "tier_label_earned: 美钻 clinics meet the diamond bar, 严选 and 美钻 clinics have no "
        "open GOV-01, GOV-15 or GOV-16 finding",
        "intermediate.int_clinic_tier_checks",
        alert_above=0,
        listing_action=REMOVE_TIER_LABEL,
        # the diamond bar (marts.md), besides a licence verified and in force
        min_avg_years_experience=5,
        chief_consultant_min_years=15,
        min_doctor_cases=5000,
        finding_window_days=90,
        min_avg_score=4.5,
        min_verified_reviews=20,
    ),
    Rule(
        "GOV-10",
        BLOCKING,
        "table",
        "data-platform",
        "personal_data: no clear-text phone, IP or device id published",
        "every published table (marts.*, governance.*)",
        parameters={
            # a mainland mobile number, an IPv4 address, a UUID-form device id
            "patterns": {
                "phone": r"(?:^|[^0-9])1[3-9][0-9]{9}(?:[^0-9]|$)",
                "ipv4": r"(?:^|[^0-9.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?:[^0-9.]|$)",
                "device_id": r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-"
                r"[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}",
            }
        },
    ),
    Rule(
        "GOV-11",
        BLOCKING,
        "table",
        "data-platform",
        "integrity: unique keys, resolved references, no future timestamps, no negative amounts",
        "the marts and the intermediate fact tables",
        parameters={"min_amount": 0, "hours_after_run_end_allowed": 0},
    ),
    Rule(
        "GOV-12",
        BLOCKING,
        "table",
        "data-platform",
        "freshness_volume: feeds at most {max_days_behind} days behind, newest orders volume "
        "within {volume_ratio_min:.0%}..{volume_ratio_max:.0%} of the {volume_window_days}-day "
        "median",
        "the raw feeds (audit.partition_loads)",
        parameters={
            "max_days_behind": 2,
            "volume_ratio_min": 0.5,
            "volume_ratio_max": 2.0,
            "volume_window_days": 28,
            "volume_min_partitions": 7,
        },
    ),
    Rule(
        "GOV-13",
        BLOCKING,
        "table",
        "data-platform",
        "small_cells: no persona cell under {min_buyers} buyers",
        "marts.persona_segments",
        parameters={"min_buyers": 10},
    ),
)
RULE_BY_ID = {rule.rule_id: rule for rule in RULES}
LISTING_RULES = tuple(rule for rule in RULES if rule.listing_action)


def parameter(rule_id: str, name: str) -> Any:
    """One parameter of one rule: ``parameter("GOV-09", "reply_within_hours")``."""
    return RULE_BY_ID[rule_id].parameters[name]


def rule_parameters() -> dict[str, dict[str, Any]]:
    """Every rule's parameters as plain data (dbt's ``rule_parameters`` var, docs/rules.md)."""

    def plain(value: Any) -> Any:
        return {k: plain(v) for k, v in value.items()} if isinstance(value, Mapping) else value

    return {rule.rule_id: plain(rule.parameters) for rule in RULES}


def parameters_markdown() -> str:
    """The parameter table of docs/rules.md, rendered from the catalogue."""

    def cell(value: Any) -> str:
        if isinstance(value, dict):
            return ", ".join(f"{k}: {cell(v)}" for k, v in value.items())
        return "`" + str(value).replace("|", "\\|") + "`"

    lines = ["| rule | parameter | value |", "|---|---|---|"]
    for rule in sorted(RULES, key=lambda r: r.rule_id):
        for name, value in rule_parameters()[rule.rule_id].items():
            lines.append(f"| {rule.rule_id} | `{name}` | {cell(value)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(parameters_markdown(), end="")
