"""Bad deliveries (feeds.md, "What real deliveries look like"), each listed in the manifest.

Every bad row or file carries *sacrificial* data only: orders drawn for the
purpose (same-day walk-in orders at two host clinics that no injection touches)
and reviews of orders that do not exist. Nothing else references them, so the
valid data is never lost and the governance truth does not depend on how the
warehouse treats them. Sacrificial orders that *do* land (added column, late
partition, duplicate version, the good rows around bad rows) are clean orders
and count in the truth like any other.

No defect goes into the newest orders partition (as_of - 1) or the incomplete
one, and none into the 35 days before as_of when the history allows, so the
GOV-12 volume window only sees regular traffic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from generator.config import DAY, Timeline, date_of
from generator.crm import TIER_DIAMOND, World
from generator.orders import (
    CANCELLED,
    COMPLETED,
    CREATED,
    PAID,
    REFUNDED,
    SAC_LANDS,
    SAC_LOST,
    Orders,
)

# sacrificial orders per use: (landing, lost)
_NEEDS = {
    "bad_rows_csv": (2, 8),
    "bad_rows_parquet": (2, 2),
    "added_column": (3, 0),
    "renamed_column": (0, 3),
    "dropped_column": (0, 3),
    "truncated_parquet": (0, 4),
    "late_partition": (3, 0),
    "duplicate_same": (2, 0),
    "duplicate_later": (1, 0),
}


@dataclass
class OrderPart:
    """One extra orders file: version rows of sacrificial orders plus its defects."""

    day: int  # partition day
    kind: str  # what the part demonstrates
    fmt: str  # parquet or csv
    rows: list[tuple[int, int]] = field(default_factory=list)  # (order, event) per row
    overrides: list[tuple[int, str, object]] = field(default_factory=list)  # (row, column, value)
    rename: dict[str, str] = field(default_factory=dict)
    drop: list[str] = field(default_factory=list)
    extra: dict[str, list] = field(default_factory=dict)  # added columns
    truncate: bool = False
    header_only: bool = False
    entries: list[dict] = field(default_factory=list)  # manifest entries; file set on write
    name: str = ""  # file name, set when the partition's part numbers are known


@dataclass
class DefectPlan:
    parts: list[OrderPart] = field(default_factory=list)
    host_clinics: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    review_lines: dict[int, list[tuple[str, dict]]] = field(default_factory=dict)
    empty_review_day: int | None = None
    orphan_review_day: int | None = None  # old reviews partition without _SUCCESS
    orphan_review_lines: list[str] = field(default_factory=list)
    registry_utf8: int | None = None
    registry_bom: int | None = None


def _defect_days(rng, tl: Timeline, k: int) -> list[int]:
    """k distinct days for defect partitions, away from the GOV-12 window when possible."""
    lo, hi = tl.start + 5, tl.as_of - 35
    if hi - lo < k + 2:
        lo, hi = tl.start + 3, tl.as_of - 4
    days = rng.choice(np.arange(lo, hi), size=k, replace=hi - lo < k)
    return sorted(int(d) for d in days)


def plan_orders(rng, cfg, tl: Timeline, world: World, orders: Orders) -> DefectPlan:
    """Pick the sacrificial orders, re-time them as same-day orders, plan the order parts."""
    plan = DefectPlan()
    if not cfg.bad_delivery:
        return plan
    clinics = world.clinics
    counts = np.bincount(orders.clinic, minlength=clinics.n)
    ok = (clinics.tier != TIER_DIAMOND) & (clinics.delisted_day < 0)
    ranked = np.flatnonzero(ok)[np.argsort(-counts[ok], kind="stable")]
    plan.host_clinics = np.sort(ranked[:2])
    hosts = np.flatnonzero(np.isin(orders.clinic, plan.host_clinics))
    hosts = hosts[rng.permutation(len(hosts))]
    total = sum(a + b for a, b in _NEEDS.values())
    if len(hosts) < total * 3:  # pragma: no cover - configs are validated to be large enough
        raise ValueError("too few orders for the bad deliveries; raise `orders`")
    pick = iter(hosts[:total].tolist())
    days = iter(_defect_days(rng, tl, len(_NEEDS) + 1))

    def sacrifice(n: int, day: int, lands: bool) -> list[int]:
        """Same-day walk-in orders on `day`: created, paid minutes later, done hours later."""
        chosen = [next(pick) for _ in range(n)]
        for o in chosen:
            created = day * DAY + 10 * 3600 + int(rng.integers(0, 4 * 3600))
            orders.t[o] = -1
            orders.t[o, CREATED] = created
            if lands:
                orders.t[o, PAID] = created + int(rng.integers(120, 1200))
                orders.t[o, COMPLETED] = orders.t[o, PAID] + int(rng.integers(1800, 9000))
            orders.sac[o] = SAC_LANDS if lands else SAC_LOST
        return chosen

    def full_rows(chosen: list[int]) -> list[tuple[int, int]]:
        return [(o, e) for o in chosen for e in (CREATED, PAID, COMPLETED)]

    # Bad rows among good rows, CSV: one lost single-row order per defect.
    day = next(days)
    part = OrderPart(day=day, kind="bad_rows", fmt="csv")
    good = full_rows(sacrifice(2, day, True))
    bad_specs = [
        ("missing_required_field", "order_id", "", "empty order_id"),
        ("unknown_enum_value", "channel", "douyin_shop", "channel douyin_shop"),
        ("unknown_enum_value", "status", "shipped", "status shipped"),
        ("malformed_timestamp", "created_at", "2025/13/45 25:61", "created_at 2025/13/45 25:61"),
        ("text_where_number_belongs", "paid_amount", "12x.50", "paid_amount 12x.50"),
        ("unresolvable_reference", "clinic_id", f"C{900001 + clinics.n % 1000:06d}",
         "unknown clinic_id"),
        ("unresolvable_reference", "doctor_id", f"D{9000001 + world.doctors.n % 1000:07d}",
         "unknown doctor_id"),
        ("unresolvable_reference", "procedure_code", "P99", "unknown procedure_code P99"),
    ]
    _mix(rng, part, good, bad_specs, sacrifice(len(bad_specs), day, False), "orders")
    plan.parts.append(part)

    # Bad rows among good rows, Parquet: a null required field and an unknown enum value.
    day = next(days)
    part = OrderPart(day=day, kind="bad_rows", fmt="parquet")
    good = full_rows(sacrifice(2, day, True))
    bad_specs = [
        ("missing_required_field", "status", None, "status is null"),
        ("unknown_enum_value", "channel", "douyin_shop", "channel douyin_shop"),
    ]
    _mix(rng, part, good, bad_specs, sacrifice(len(bad_specs), day, False), "orders")
    plan.parts.append(part)

    # An extra column nobody announced: every row still loads.
    day = next(days)
    rows = full_rows(sacrifice(3, day, True))
    codes = [f"CP{date_of(day).strftime('%Y%m%d')}{i:03d}" if i % 3 else None
             for i in range(len(rows))]
    part = OrderPart(day=day, kind="added_column", fmt="parquet", rows=rows,
                     extra={"coupon_code": codes})
    part.entries.append(_entry("added_column", "load", rows=len(rows),
                               detail="extra column coupon_code"))
    plan.parts.append(part)

    # A renamed and a dropped required column: the whole file is rejected.
    day = next(days)
    rows = full_rows(sacrifice(3, day, False))
    part = OrderPart(day=day, kind="renamed_column", fmt="csv", rows=rows,
                     rename={"paid_amount": "pay_amount"})
    part.entries.append(_entry("renamed_column", "quarantine_file", rows=len(rows),
                               detail="paid_amount delivered as pay_amount"))
    plan.parts.append(part)
    day = next(days)
    rows = full_rows(sacrifice(3, day, False))
    part = OrderPart(day=day, kind="dropped_column", fmt="csv", rows=rows, drop=["status"])
    part.entries.append(_entry("dropped_column", "quarantine_file", rows=len(rows),
                               detail="column status missing"))
    plan.parts.append(part)

    # A Parquet file cut in half in transit.
    day = next(days)
    rows = full_rows(sacrifice(4, day, False))
    part = OrderPart(day=day, kind="truncated_parquet", fmt="parquet", rows=rows, truncate=True)
    part.entries.append(_entry("truncated_parquet", "quarantine_file", rows=len(rows),
                               detail="file truncated to half its bytes"))
    plan.parts.append(part)

    # Late data: orders of a day that was delivered days ago arrive in a later partition.
    day = next(days)
    lag = 4 if day - 4 >= tl.start else 1
    rows = full_rows(sacrifice(3, day - lag, True))
    part = OrderPart(day=day, kind="late_partition", fmt="parquet", rows=rows)
    part.entries.append(_entry("late_partition", "load", rows=len(rows),
                               detail=f"orders of {date_of(day - lag)} delivered on "
                                      f"{date_of(day)}"))
    plan.parts.append(part)

    # The same order version twice: in one file, and re-sent in the next day's partition.
    day = next(days)
    first, second = sacrifice(2, day, True)
    rows = full_rows([first, second])
    rows.insert(4, (first, COMPLETED))  # the copy follows the first order's versions
    part = OrderPart(day=day, kind="duplicate_order_version", fmt="parquet", rows=rows)
    part.entries.append(_entry("duplicate_order_version", "dedupe", row_number=5,
                               detail="completed version delivered twice in one file"))
    plan.parts.append(part)
    day = next(days)
    (third,) = sacrifice(1, day, True)
    plan.parts.append(OrderPart(day=day, kind="duplicate_order_version", fmt="parquet",
                                rows=full_rows([third])))
    part = OrderPart(day=day + 1, kind="duplicate_order_version", fmt="parquet",
                     rows=[(third, COMPLETED)])
    part.entries.append(_entry("duplicate_order_version", "dedupe", row_number=1,
                               detail=f"completed version of {date_of(day)} delivered again"))
    plan.parts.append(part)

    # A header-only CSV part (no sacrificial orders needed).
    day = next(days)
    part = OrderPart(day=day, kind="empty_file", fmt="csv", header_only=True)
    part.entries.append(_entry("empty_file", "quarantine_file", rows=0,
                               detail="header row only"))
    plan.parts.append(part)

    for p in plan.parts:
        for e in p.entries:
            e.setdefault("feed", "orders")
            e.setdefault("table", "orders")
    assert not (orders.t[orders.sac > 0][:, (REFUNDED, CANCELLED)] >= 0).any()
    return plan


def _mix(rng, part: OrderPart, good, bad_specs, lost: list[int], feed: str) -> None:
    """Interleave good rows and one bad row per spec; record the bad rows' positions."""
    rows = list(good)
    slots = sorted(rng.choice(len(good) + len(bad_specs), size=len(bad_specs), replace=False))
    for position, o in zip(slots, lost, strict=True):
        rows.insert(int(position), (o, CREATED))
    part.rows = rows
    positions = [i for i, (o, _e) in enumerate(rows) if o in set(lost)]
    for i, (kind, column, value, detail) in zip(positions, bad_specs, strict=True):
        part.overrides.append((i, column, value))
        part.entries.append(_entry(kind, "quarantine_row", row_number=i + 1, detail=detail))


def _entry(kind: str, expect: str, **fields) -> dict:
    return {"kind": kind, "expect": expect, **fields}


# --- reviews and registry ---------------------------------------------------------------------

def plan_reviews(rng, cfg, tl: Timeline, world: World, plan: DefectPlan,
                 review_days: np.ndarray) -> None:
    """Bad review lines, an empty reviews part, an old partition never marked complete,
    and two registry snapshots in UTF-8 (with and without BOM)."""
    if not cfg.bad_delivery:
        return
    days = np.unique(review_days)
    lo, hi = tl.start + 20, tl.as_of - 35
    usable = days[(days >= lo) & (days < min(hi, tl.reviews_last - 3))]
    if len(usable) < 2:
        usable = days[(days < min(tl.as_of - 4, tl.reviews_last - 1))]
    picks = rng.choice(usable, size=2, replace=False)
    bad_day, empty_day = int(picks[0]), int(picks[1])
    clinic_id = world.clinics.clinic_id[int(rng.integers(world.clinics.n))]
    stamp = date_of(bad_day)

    def review(i: int, **changes) -> dict:
        created = f"{stamp.isoformat()}T{10 + i:02d}:{(7 * i) % 60:02d}:00+08:00"
        row = {
            "review_id": f"R9{i + 1:06d}", "order_id": f"O{stamp.strftime('%Y%m%d')}8{i:05d}",
            "user_id": f"U9{i + 1:07d}", "clinic_id": clinic_id, "created_at": created,
            "updated_at": created,
            "scores": {"doctor": 5, "process": 5, "environment": 4, "effect_match": 5,
                       "value": 4},
            "text": "效果很好，医生很专业，环境也干净，会推荐给朋友。", "receipt_count": 1,
            "photo_count": 0, "ip": f"58.{20 + i}.{30 + i}.{40 + i}",
            "device_id": f"00000000-0000-4000-8000-{i + 1:012d}",
            "is_complaint": False, "complaint_type": None, "merchant_reply_at": None,
            "resolved_at": None,
        }
        row.update(changes)
        return row

    def line(row: dict) -> str:
        return json.dumps(row, ensure_ascii=False, separators=(",", ":"))

    broken = line(review(3))
    lines = [
        ("malformed_timestamp", line(review(0, created_at="2025/13/45 25:61")),
         "created_at 2025/13/45 25:61"),
        ("number_where_text_belongs", line(review(1, user_id=90000002)),
         "user_id is a JSON number"),
        ("number_where_text_belongs", line(review(2, clinic_id=900003)),
         "clinic_id is a JSON number"),
        ("broken_json_line", broken[: len(broken) // 2], "line cut in the middle"),
    ]
    plan.review_lines[bad_day] = [
        (line, _entry(kind, "quarantine_row", feed="reviews", table="reviews", detail=detail))
        for kind, line, detail in lines
    ]
    plan.empty_review_day = empty_day
    plan.orphan_review_day = tl.start - 7
    stamp = date_of(plan.orphan_review_day)
    plan.orphan_review_lines = [
        line(review(10 + i, created_at=f"{stamp.isoformat()}T1{i}:00:00+08:00",
                    updated_at=f"{stamp.isoformat()}T1{i}:00:00+08:00"))
        for i in range(3)
    ]
    middle = [s for s in tl.snapshots if s < tl.as_of - 1]
    plan.registry_utf8 = middle[min(1, len(middle) - 1)]
    plan.registry_bom = middle[min(2, len(middle) - 1)] if len(middle) > 2 else middle[0]
    if plan.registry_bom == plan.registry_utf8:  # pragma: no cover - >= 4 snapshots always
        plan.registry_bom = tl.snapshots[0]


