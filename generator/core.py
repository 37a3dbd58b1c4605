"""`generate`: build the sample world, write the landing zone, return the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from generator.config import DAY, SampleConfig, Timeline, date_of
from generator.crm import TIER_DIAMOND, TIERS, build_world, clinic_frame, doctor_frame
from generator.defects import plan_orders, plan_reviews
from generator.orders import (
    N_EVENTS,
    SAC_NONE,
    assign_sequence,
    generate_orders,
    latest_landed,
)
from generator.registry import build_products
from generator.reviews import clean_reviews, merge, reviewable, versions
from generator.truth import Truth
from generator.util import rng_for
from generator.violations import RULE_BIT, inject_orders_side, inject_reviews
from generator.writer import (
    WriteStats,
    prepare,
    write_orders,
    write_reviews,
    write_snapshots,
)

REVIEW_BIT = {"GOV-06": 1, "GOV-07": 2, "GOV-09": 4}


def generate(landing_dir: str | Path, cfg: SampleConfig | None = None) -> dict:
    """Write a complete sample landing zone under `landing_dir` and return its manifest.

    The four feed folders (clinics, orders, reviews, registry) under `landing_dir`
    are replaced. The manifest is also written to `cfg.manifest_path` when set,
    which must lie outside the landing zone.
    """
    cfg = (cfg if cfg is not None else SampleConfig()).resolved()
    cfg.validate()
    landing = Path(landing_dir)
    if cfg.manifest_path is not None:
        target = Path(cfg.manifest_path).expanduser().resolve()
        root = landing.expanduser().resolve()
        if target == root or root in target.parents:
            raise ValueError(f"manifest_path {target} lies inside the landing dir {root}")
    tl = Timeline.from_config(cfg)
    seed = cfg.seed

    # The world: registry products, clinics, doctors, and their clean registry records.
    products = build_products(rng_for(seed, "products"), tl)
    world = build_world(rng_for(seed, "world"), cfg, tl, products)

    # Orders, the sacrificial ones for bad deliveries, and the order-side violations.
    orders, users = generate_orders(rng_for(seed, "orders"), cfg, tl, world, cfg.orders)
    plan = plan_orders(rng_for(seed, "defects"), cfg, tl, world, orders)
    assign_sequence(orders)
    volume_drop = None
    if cfg.inject_volume_drop:
        volume_drop = _thin_newest_partition(rng_for(seed, "volume-drop"), tl, orders)
    injected = inject_orders_side(rng_for(seed, "violations"), cfg, tl, world, orders,
                                  plan.host_clinics)

    # Reviews: injected ones first (they reserve their orders), then the clean bulk.
    latest = latest_landed(orders, tl)
    review_injection = inject_reviews(rng_for(seed, "review-violations"), cfg, tl, world,
                                      orders, users, latest)
    candidates = reviewable(orders, latest, tl)
    candidates = candidates[~np.isin(candidates, review_injection.reserved)]
    injected_reviews = sum(b.n for b in review_injection.batches)
    clean = clean_reviews(rng_for(seed, "reviews"), tl, world, orders, candidates,
                          max(cfg.reviews - injected_reviews, 0))
    reviews = merge([clean, *review_injection.batches], review_injection.extra_ips,
                    review_injection.extra_devices)
    injected_counts = _review_kind_counts(review_injection.batches)
    del clean
    review_injection.batches.clear()  # merged: do not hold millions of reviews twice
    _, _, review_times = versions(reviews)
    plan_reviews(rng_for(seed, "review-defects"), cfg, tl, world, plan,
                 review_times[review_times < tl.reviews_loaded_end] // DAY)
    pii_leak = _pii_leak(rng_for(seed, "pii-leak"), tl, world, injected) \
        if cfg.inject_pii_leak else None

    # Write the landing zone.
    prepare(landing)
    stats = WriteStats()
    export = write_snapshots(landing, tl, world, plan, stats, pii_leak)
    write_orders(landing, cfg, tl, world, orders, users, plan, stats)
    write_reviews(landing, tl, world, orders, users, reviews, plan, stats)

    # Ground truth, as the warehouse will see the data, and the self-check.
    newest = tl.as_of - 1
    truth = Truth(
        tl, world, orders, users, reviews,
        crm_clinics=clinic_frame(world, newest, pii_leak),
        crm_doctors=doctor_frame(world, tl, newest),
        institutions_csv=export.csv_text("institutions", newest),
        practitioners_csv=export.csv_text("practitioners", newest),
        products_csv=export.csv_text("products", newest),
    )
    truth.clinics_rule()
    truth.listing_rules()
    truth.doctor_listing_rule()
    latest_seen = truth.order_rules()
    truth.review_rules(latest_seen)
    truth.tier_rule()
    _self_check(truth, injected, reviews)

    manifest = _plain(_manifest(cfg, tl, world, stats, truth, injected, injected_counts,
                                volume_drop, pii_leak))
    if cfg.manifest_path is not None:
        path = Path(cfg.manifest_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=2) + "\n",
                        encoding="utf-8")
    return manifest


def _plain(value):
    """Plain JSON types only (numpy scalars become int / float), dict keys sorted."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _thin_newest_partition(rng, tl: Timeline, orders) -> dict:
    """Blocking scenario: upstream loses ~80% of the newest complete orders partition."""
    day = tl.as_of - 1
    on_day = (orders.t >= 0) & (orders.t // DAY == day) & (orders.sac == SAC_NONE)[:, None]
    orders.dropped = on_day & (rng.random((orders.n, N_EVENTS)) < 0.8)
    return {"partition": f"orders/dt={date_of(day).isoformat()}",
            "rows_before": int(on_day.sum()), "rows": int((on_day & ~orders.dropped).sum())}


def _pii_leak(rng, tl: Timeline, world, injected) -> dict:
    """Blocking scenario: a clinic's district carries its owner's mobile number."""
    clinics = world.clinics
    ok = np.flatnonzero((clinics.delisted_day < 0) & (clinics.tier != TIER_DIAMOND))
    ok = [int(c) for c in ok if int(c) not in injected.clinics]
    clinic = ok[int(rng.integers(len(ok)))]
    phone = f"1{int(rng.integers(3, 10))}{int(rng.integers(0, 10**9)):09d}"
    return {"clinic": clinic, "snapshots": tl.snapshots[-3:],
            "district": f"{clinics.district[clinic]}（咨询电话{phone}）"}


def _self_check(truth: Truth, injected, reviews) -> None:
    """Only injected entities fail, and every injected failure is found.

    A mismatch is a generator bug (a clean entity breaking a rule by accident, or an
    injection that does not do what it claims), never something to ship.
    """
    problems = []
    gov01 = truth.rules["GOV-01"].index
    if gov01 != injected.gov01:
        problems.append(f"GOV-01: computed {sorted(gov01)[:5]} vs injected "
                        f"{sorted(injected.gov01)[:5]}")
    below_bar = {c for c, kinds in truth.rules["GOV-18"].failing.items()
                 if "diamond_below_bar" in kinds}
    planted = {truth.world.clinics.clinic_id[c] for c in injected.tier_labels}
    if below_bar != planted:
        problems.append(f"GOV-18: below the bar {sorted(below_bar)[:5]} vs planted "
                        f"{sorted(planted)[:5]}")
    for rule, bit in RULE_BIT.items():
        failing = np.array(sorted(truth.rules[rule].index), dtype=np.int64)
        unexpected = failing[(injected.order_taint[failing] & bit) == 0]
        expected = np.flatnonzero(injected.order_direct & bit)
        missed = expected[~np.isin(expected, failing)]
        if len(unexpected) or len(missed):
            problems.append(f"{rule}: clean orders failing {unexpected[:5].tolist()}, "
                            f"injected orders passing {missed[:5].tolist()}")
    for rule, bit in REVIEW_BIT.items():
        failing = np.array(sorted(truth.rules[rule].index), dtype=np.int64)
        expected = np.flatnonzero(reviews.taint & bit)
        unexpected = failing[~np.isin(failing, expected)]
        missed = expected[~np.isin(expected, failing)]
        if len(unexpected) or len(missed):
            problems.append(f"{rule}: clean reviews failing {unexpected[:5].tolist()}, "
                            f"injected reviews passing {missed[:5].tolist()}")
    if problems:
        raise AssertionError("generator self-check failed:\n" + "\n".join(problems))


def _review_kind_counts(batches) -> dict[str, int]:
    counts: dict[str, int] = {}
    for b in batches:
        for kind in b.kind:
            if kind:
                counts[kind] = counts.get(kind, 0) + 1
    return counts


def _manifest(cfg, tl, world, stats: WriteStats, truth: Truth, injected, review_counts,
              volume_drop, pii_leak) -> dict:
    newest = tl.as_of - 1
    window = [stats.orders_rows_per_day.get(d, 0) for d in range(newest - 28, newest)
              if tl.start <= d]
    median = float(np.median(window)) if window else 0.0
    newest_rows = stats.orders_rows_per_day.get(newest, 0)
    scenarios: dict[str, dict] = {}
    blocking = []
    if cfg.inject_stale_feed:
        blocking.append("GOV-12")
        scenarios["stale_feed"] = {
            "feed": "reviews", "newest_partition": f"reviews/dt={date_of(tl.reviews_last)}",
            "expected_blocking_rule": "GOV-12"}
    if volume_drop is not None:
        blocking.append("GOV-12")
        scenarios["volume_drop"] = {
            **volume_drop, "median_rows_28d": median,
            "ratio": round(newest_rows / median, 4) if median else None,
            "expected_blocking_rule": "GOV-12"}
    if pii_leak is not None:
        blocking.append("GOV-10")
        scenarios["pii_leak"] = {
            "table": "clinics", "column": "district",
            "clinic_id": world.clinics.clinic_id[pii_leak["clinic"]],
            "value": pii_leak["district"],
            "files": [f"clinics/dt={date_of(d)}/clinics.csv" for d in pii_leak["snapshots"]],
            "expected_blocking_rule": "GOV-10"}
    totals = truth.totals
    market = truth.market_monthly()
    tiers = world.clinics.tier
    bad = sorted(stats.bad_deliveries,
                 key=lambda b: (b["kind"], b["file"], b.get("row_number") or 0))
    injected_counts = {**injected.counts, **review_counts}
    return {
        "seed": cfg.seed,
        "as_of": cfg.as_of.isoformat(),
        "config": cfg.as_dict(),
        "partitions": {feed: sorted(days) for feed, days in stats.partitions.items()},
        "incomplete_partitions": sorted(stats.incomplete),
        "violations": truth.violations(),
        "injected": dict(sorted(injected_counts.items())),
        "bad_deliveries": bad,
        "expected_rows": dict(sorted(stats.expected_rows.items())),
        "blocking": sorted(set(blocking)),
        "scenarios": scenarios,
        "truth": {
            "completed_orders": totals["completed_orders"],
            "gmv": f"{totals['gmv_cents'] // 100}.{totals['gmv_cents'] % 100:02d}",
            "buyers": totals["buyers"],
            "traveller_orders": totals["traveller_orders"],
            "reviews": totals["reviews"],
            "verified_reviews": totals["verified_reviews"],
            "complaints": totals["complaints"],
            "complaints_replied_in_time": totals["complaints_replied_in_time"],
            "complaints_by_type": totals["complaints_by_type"],
            "complaints_resolved": totals["complaints_resolved"],
            "market_monthly": market,
            "clinics_by_tier": {TIERS[t]: int((tiers == t).sum()) for t in range(3)},
            "diamond_clinics": sorted(world.clinics.clinic_id[c]
                                      for c in np.flatnonzero(tiers == TIER_DIAMOND)),
            "orders_newest_partition_rows": newest_rows,
            "orders_median_rows_28d": median,
        },
    }
