"""What the serving database holds, and the key of each published table."""

from __future__ import annotations

# table -> columns that identify a row (GOV-11: unique after de-duplication)
PUBLISHED_TABLES: dict[str, tuple[str, ...]] = {
    "marts.market_monthly": ("month", "city", "procedure_code"),
    "marts.procedure_price_index": ("month", "city", "procedure_code"),
    "marts.clinic_scorecard": ("clinic_id",),
    "marts.persona_segments": ("city", "age_band", "gender", "spend_tier", "favourite_category"),
    "marts.travel_flows": ("month", "buyer_city", "clinic_city"),
    "marts.channel_funnel": ("month", "channel"),
    "marts.clinic_verification": ("clinic_id",),
    "marts.clinic_doctors": ("doctor_id",),
    "marts.clinic_complaints": ("clinic_id", "complaint_type"),
    "marts.product_registry": ("registration_no",),
    "marts.product_clinic_usage": ("registration_no", "clinic_id"),
    "governance.findings": ("rule_id", "entity_type", "entity_id"),
    "governance.listing_actions": ("entity_type", "entity_id"),
    "governance.rule_results": ("run_id", "rule_id"),
}

# Fact tables the findings are built from: their keys must be unique too.
FACT_TABLES: dict[str, tuple[str, ...]] = {
    "intermediate.int_order_compliance": ("order_id",),
    "intermediate.int_review_verification": ("review_id",),
    "intermediate.int_clinic_licence_verification": ("clinic_id",),
    "intermediate.int_doctor_listing_checks": ("doctor_id",),
    "intermediate.int_clinic_tier_checks": ("clinic_id",),
}

# Columns of incremental models that record when a row was written or from what, not what it
# says (macros/incremental_months.sql): outside GOV-11's timestamp bound, never compared as
# data, never published.
BOOKKEEPING_COLUMNS: tuple[str, ...] = ("built_at", "built_as_of", "source_digest")
