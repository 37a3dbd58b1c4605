"""An incremental build of the order and review facts gives the rows a full refresh gives.

Part of a generated landing zone is loaded and built; then the rest arrives (later days, a
late partition of an old day, a late registry snapshot, later versions of orders already
built) together with corrected re-sends of an orders and a reviews partition that were built
already: the re-sends withdraw the winning version of an order that has an older one,
withdraw orders and reviews entirely, move an order and a review to another month, and correct
an amount and a receipt count; and a late file brings four copies of a review built already,
written within hours of it, which makes it a GOV-07 near-identical group. The incremental build
must equal, row for row, a `--full-refresh` build of the same raw data, for the incremental
models and everything built on them (compliance and review facts, marts).

Every build is a real `yimei run` (the loader, dbt, the governance step, the gate, the
publish); the tests read what the runs wrote into the warehouse.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from tests.conftest import AS_OF, yimei_run
from tests.transform.dbt_helpers import MODEL_KEYS, assert_same_rows, read_models
from tests.transform.redeliveries import (
    MOVED_BY,
    ORDER_WINNERS,
    PAID_CORRECTION,
    choose_order_resend,
    choose_review_resend,
    choose_unflagged_review,
    deliver_copies_of,
    partition_day,
    plain_partitions,
    resend_orders,
    resend_reviews,
    revoke_in_snapshot,
)

pytestmark = pytest.mark.pipeline

# The first run sees deliveries up to this day: a day the snapshot feeds delivered (the
# sample's are monthly until the last days), for GOV-12 wants every feed at most two days
# behind the run date.
CUTOFF = AS_OF - timedelta(days=30)
SNAPSHOT_FEEDS = ("clinics", "registry")
REFERENCE_CHANGES = "intermediate.int_reference_changes"


def _run(landing: Path, data_dir: Path, as_of: date, *flags: str) -> None:
    """`yimei run` as the scheduler starts it, on the run date ``as_of``."""
    result = yimei_run(landing, data_dir, *flags, as_of=as_of)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def _full_validation(data_dir: Path, scratch: Path) -> dict:
    """Every row validated by the governance step's entity rules, on a copy of the
    warehouse (the step's own validation was incremental)."""
    from ingestion.duck import connect
    from quality.runner import Validator, run_entity_rules

    shutil.copy(data_dir / "warehouse.duckdb", scratch)
    con = connect(scratch)
    try:
        everything, _ = run_entity_rules(con, Validator(), incremental=False)
    finally:
        con.close()
    return everything


def _findings(con: duckdb.DuckDBPyConnection) -> dict:
    try:
        rows = con.execute(
            "select rule_id, entity_id, clinic_id, detail, run_id, detected_at "
            # the findings standing; resolved ones are the table's history
            "from governance.findings where status <> 'resolved'"
        ).fetchall()
    except duckdb.CatalogException:
        return {}
    return {(r[0], r[1]): r[2:] for r in rows}


def _reference_digests(con: duckdb.DuckDBPyConnection) -> set[tuple]:
    return set(
        con.execute(f"select entity_kind, entity_key, digest from {REFERENCE_CHANGES}").fetchall()
    )


# Cost: about 135 s alone (five `yimei run`s: three deliveries, a rebuild, a full refresh).
# Needed: incremental builds must equal a full refresh after late, re-sent and changed
# deliveries, through the real run that the scheduler starts.
@pytest.fixture(scope="module")
def builds(tmp_path_factory, small_landing) -> SimpleNamespace:
    full_landing, manifest = small_landing
    root = tmp_path_factory.mktemp("incremental")
    landing, held, data_dir = (root / n for n in ("landing", "held", "data"))
    shutil.copytree(full_landing, landing)

    # First delivery: everything up to the cutoff, except one old orders partition and one old
    # registry snapshot (both late).
    order_days = plain_partitions(landing, "orders", manifest, ".parquet", CUTOFF)
    late = order_days[-4]
    snapshots = [
        p for p in sorted((landing / "registry").glob("dt=*")) if partition_day(p) <= CUTOFF
    ]
    assert len(snapshots) >= 3, "the sample should deliver several registry snapshots"
    late_snapshot = snapshots[-2]
    for feed in (*SNAPSHOT_FEEDS, "orders", "reviews"):
        for partition in sorted((landing / feed).glob("dt=*")):
            if partition_day(partition) > CUTOFF or partition in (late, late_snapshot):
                (held / feed).mkdir(parents=True, exist_ok=True)
                shutil.move(partition, held / feed / partition.name)
    _run(landing, data_dir, CUTOFF + timedelta(days=1))
    first = read_models(data_dir / "warehouse.duckdb")

    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        order_resend = choose_order_resend(con, [d for d in order_days if d != late])
        review_resend = choose_review_resend(
            con, plain_partitions(landing, "reviews", manifest, ".jsonl", CUTOFF)
        )
        copied_review = choose_unflagged_review(con, review_resend)
        original_paid = con.execute(
            "select paid_amount from staging.stg_orders__orders where order_id = ?",
            [order_resend["corrected"]],
        ).fetchone()[0]
        # a clinic with judged orders: the late registry snapshot says its licence was revoked
        revoked_clinic, revoked_licence = con.execute(
            "select clinic_id, license_no from staging.stg_platform__clinics "
            "where clinic_id in (select clinic_id from intermediate.int_order_compliance) "
            "and license_no is not null order by clinic_id limit 1"
        ).fetchone()
    finally:
        con.close()

    # Second delivery: the rest but the newest day of orders, the late partitions, and the
    # corrected re-sends. The late snapshot re-judges a clinic's orders of every month.
    # (the newest complete one: the sample's last day is still being delivered, no _SUCCESS)
    newest_orders = max(p for p in (held / "orders").iterdir() if (p / "_SUCCESS").exists())
    for feed_dir in held.iterdir():
        for partition in feed_dir.iterdir():
            if partition != newest_orders:
                shutil.move(partition, landing / feed_dir.name / partition.name)
    resend_orders(order_resend)
    resend_reviews(review_resend)
    later_reviews = min(p for p in (landing / "reviews").glob("dt=*") if partition_day(p) > CUTOFF)
    review_copies = deliver_copies_of(copied_review, landing, later_reviews)
    revoke_in_snapshot(landing / "registry" / late_snapshot.name, revoked_licence)
    _run(landing, data_dir, AS_OF)
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        findings_before = _findings(con)
    finally:
        con.close()

    # Third delivery: one day of orders, the daily case: only its months are judged again.
    shutil.move(newest_orders, landing / "orders" / newest_orders.name)
    _run(landing, data_dir, AS_OF)
    incremental = read_models(data_dir / "warehouse.duckdb")
    # the run's own dbt artifacts (Settings.dbt_target_dir), before the next runs replace them
    target = data_dir / "dbt_target"
    manifest_nodes = json.loads((target / "manifest.json").read_text(encoding="utf-8"))["nodes"]
    incremental_models = {
        f"{node['schema']}.{node['name']}"
        for node in manifest_nodes.values()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"
    }
    compiled = (
        target / "compiled" / "yimei" / "models" / "staging" / "orders" / "stg_orders__orders.sql"
    ).read_text(encoding="utf-8")
    everything = _full_validation(data_dir, root / "validated.duckdb")
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        (last_run,) = con.execute(
            "select run_id from governance.run_outcomes order by decided_at desc limit 1"
        ).fetchone()
        findings_after = _findings(con)
        rule_results = {
            rule_id: (checked, failing)
            for rule_id, checked, failing in con.execute(
                "select rule_id, entities_checked, entities_failing "
                "from governance.rule_results where run_id = ?",
                [last_run],
            ).fetchall()
        }
        marks = dict(
            con.execute("select table_name, run_id from governance.validation_marks").fetchall()
        )
        raw_orders = {
            r[0] for r in con.execute("select distinct order_id from raw.orders").fetchall()
        }
        raw_reviews = {
            r[0] for r in con.execute("select distinct review_id from raw.reviews").fetchall()
        }
        reference_digests = _reference_digests(con)
        references_changed = {
            (kind, key)
            for kind, key in con.execute(
                f"select entity_kind, entity_key from {REFERENCE_CHANGES} "
                f"where changed_at > (select min(changed_at) from {REFERENCE_CHANGES})"
            ).fetchall()
        }
        updated_later = con.execute(
            f"select count(*) from ({ORDER_WINNERS}) "
            f"where first_dt <= date '{CUTOFF}' and _dt > date '{CUTOFF}'"
        ).fetchone()[0]
    finally:
        con.close()

    # Nothing new: a rebuild changes nothing. Then the full refresh.
    _run(landing, data_dir, AS_OF, "--rebuild")
    again = read_models(data_dir / "warehouse.duckdb")
    _run(landing, data_dir, AS_OF, "--full-refresh")
    full = read_models(data_dir / "warehouse.duckdb")
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        full_reference_digests = _reference_digests(con)
    finally:
        con.close()
    return SimpleNamespace(
        first=first,
        incremental=incremental,
        again=again,
        full=full,
        compiled=compiled,
        incremental_models=incremental_models,
        late=late,
        order_resend=order_resend,
        review_resend=review_resend,
        copied_review=copied_review,
        review_copies=review_copies,
        original_paid=original_paid,
        raw_orders=raw_orders,
        raw_reviews=raw_reviews,
        updated_later=updated_later,
        references_changed=references_changed,
        reference_digests=reference_digests,
        full_reference_digests=full_reference_digests,
        revoked_clinic=revoked_clinic,
        validation=SimpleNamespace(
            last_run=last_run,
            before=findings_before,
            after=findings_after,
            rule_results=rule_results,
            marks=marks,
            everything=everything,
        ),
    )


def _row(frame, key: str, value: str) -> dict | None:
    rows = frame.filter(frame[key] == value).to_dicts()
    return rows[0] if rows else None


def test_the_second_build_is_incremental(builds):
    # the high-water mark and the re-ranked keys appear only in the incremental branch
    assert "_loaded_at >" in builds.compiled
    assert "delivered_on in" in builds.compiled


def test_every_incremental_model_is_compared(builds):
    assert builds.incremental_models, "the project has incremental models"
    # the change log of reference data is compared below: its `changed_at` is, by design,
    # when a build saw the change
    assert builds.incremental_models - {REFERENCE_CHANGES} <= set(MODEL_KEYS)


def test_the_reference_change_log_holds_the_digests_of_a_full_refresh(builds):
    assert builds.reference_digests == builds.full_reference_digests


def test_incremental_build_equals_full_refresh(builds):
    assert_same_rows(builds.incremental, builds.full)


def test_buyers_leaving_the_persona_window_lose_their_rows(builds):
    # the run date moved 30 days: buyers whose last completed order fell out of the 365 days
    # are gone from the persona facts (the post-hook delete_buyers_gone), as in a full refresh
    for model in ("intermediate.int_buyers__spend", "intermediate.int_buyer_cities__profile"):
        first, incremental, full = (
            set(models[model]["user_id"])
            for models in (builds.first, builds.incremental, builds.full)
        )
        left = first - full
        assert left, f"no buyer left {model}: the scenario does not exercise the deletion"
        assert not left & incremental, model


def test_a_build_without_new_deliveries_changes_nothing(builds):
    assert_same_rows(builds.again, builds.incremental)


def test_later_partitions_update_orders_of_earlier_ones(builds):
    assert builds.updated_later > 0
    orders = builds.incremental["staging.stg_orders__orders"]
    late_day = date.fromisoformat(builds.late.name.removeprefix("dt="))
    assert orders.filter(orders["delivered_on"] == late_day).height > 0


def test_a_resend_replaces_the_winning_version(builds):
    plan = builds.order_resend
    resent_day = date.fromisoformat(plan["partition"].name.removeprefix("dt="))
    orders = builds.incremental["staging.stg_orders__orders"]
    before = _row(builds.first["staging.stg_orders__orders"], "order_id", plan["fallback"])
    after = _row(orders, "order_id", plan["fallback"])
    assert before["delivered_on"] == resent_day
    # the re-send withdrew the version that won: the order falls back to its earlier one
    # (or to a later partition's version)
    assert after is not None and after["delivered_on"] != resent_day
    corrected = _row(orders, "order_id", plan["corrected"])
    assert corrected["paid_amount"] == builds.original_paid + PAID_CORRECTION


def test_a_resend_withdraws_orders_and_reviews(builds):
    orders = builds.incremental["staging.stg_orders__orders"]
    withdrawn = [o for o in builds.order_resend["withdrawn"] if o not in builds.raw_orders]
    assert withdrawn, "every withdrawn order came back in a later partition"
    assert orders.filter(orders["order_id"].is_in(withdrawn)).height == 0

    reviews = builds.incremental["staging.stg_reviews__reviews"]
    withdrawn = [r for r in builds.review_resend["withdrawn"] if r not in builds.raw_reviews]
    assert withdrawn, "every withdrawn review came back in a later partition"
    assert reviews.filter(reviews["review_id"].is_in(withdrawn)).height == 0
    corrected = _row(reviews, "review_id", builds.review_resend["corrected"])
    assert corrected["receipt_count"] == 0


def test_a_resend_moves_an_order_to_another_month(builds):
    moved = builds.order_resend["moved"]
    for model in (
        "staging.stg_orders__orders",
        "intermediate.int_orders__enriched",
        "intermediate.int_order_compliance",
    ):
        before = builds.first[model].filter(builds.first[model]["order_id"] == moved)
        after = builds.incremental[model].filter(builds.incremental[model]["order_id"] == moved)
        assert after.height == 1, f"{model}: one row, in its new month only"
        if "created_month" in after.columns:
            assert after["created_month"][0] != before["created_month"][0], model
    orders = builds.incremental["staging.stg_orders__orders"]
    assert _row(orders, "order_id", moved)["created_date"] == (
        _row(builds.first["staging.stg_orders__orders"], "order_id", moved)["created_date"]
        - MOVED_BY
    )


def test_a_resend_moves_a_review_to_another_month(builds):
    moved = builds.review_resend["moved"]
    for model in (
        "staging.stg_reviews__reviews",
        "intermediate.int_reviews__manipulation",
        "intermediate.int_review_verification",
    ):
        before = builds.first[model].filter(builds.first[model]["review_id"] == moved)
        after = builds.incremental[model].filter(builds.incremental[model]["review_id"] == moved)
        assert after.height == 1, f"{model}: one row, in its new month only"
        assert after["created_month"][0] != before["created_month"][0], model


def test_late_copies_make_a_review_built_earlier_part_of_a_group(builds):
    """GOV-07 judged the review again although its own month held nothing new for it."""

    def flagged(models: dict) -> dict:
        judged = models["intermediate.int_reviews__manipulation"]
        return {r["review_id"]: r["in_near_identical_group"] for r in judged.to_dicts()}

    assert flagged(builds.first)[builds.copied_review] is False
    now = flagged(builds.incremental)
    assert now[builds.copied_review] is True
    assert all(now[copy] for copy in builds.review_copies)
    verification = builds.incremental["intermediate.int_review_verification"]
    assert _row(verification, "review_id", builds.copied_review)["counts_in_scores"] is False


def test_a_late_registry_snapshot_rejudges_the_clinics_it_changes(builds):
    """The late snapshot revoked a clinic's licence for a while: the clinic's reference data
    changed, so its orders were judged again (and equal a full refresh, above)."""
    assert ("clinic", builds.revoked_clinic) in builds.references_changed


def test_incremental_validation_finds_what_a_full_validation_finds(builds):
    """The third run validated only the months its delivery rewrote; what it wrote (its rule
    results, the findings standing) is what validating every row finds."""
    v = builds.validation
    assert v.marks["intermediate.int_order_compliance"] == v.last_run
    for rule_id, outcome in v.everything.items():
        assert v.rule_results[rule_id] == (outcome.entities_checked, len(outcome.failing)), rule_id
    written = {key: (clinic, detail) for key, (clinic, detail, _, _) in v.after.items()}
    assert written == {
        (rule_id, entity): found
        for rule_id, outcome in v.everything.items()
        for entity, found in outcome.failing.items()
    }


def test_findings_of_untouched_orders_keep_their_detection(builds):
    v = builds.validation
    carried = {key for key, (_, _, run_id, _) in v.after.items() if run_id != v.last_run}
    assert carried, "the third run left some months with findings untouched"
    for key in carried:
        assert v.after[key] == v.before[key], key  # same run id and detection time
    rejudged = set(v.after) - carried
    assert rejudged, "the third run judged its month again"
