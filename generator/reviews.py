"""Reviews: who reviews which completed order, when, with which scores and text.

Reviews are built in batches (the clean bulk, then each injected kind) and
merged into one columnar `Reviews` sorted by creation time, which fixes the ids.
A review has one version at creation, and re-sent versions when the merchant
replies and when a complaint is resolved.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import polars as pl

from generator.config import DAY, Timeline
from generator.crm import TIER_DIAMOND, World
from generator.orders import COMPLETED, SAC_NONE, Orders, Users
from generator.reference import COMPLAINT_TYPE_WEIGHTS, COMPLAINT_TYPES, PROCEDURES
from generator.texts import review_texts
from generator.util import lookup, weighted_sample, zero_pad
from quality.rules import parameter

REPLY_WITHIN_S = parameter("GOV-09", "reply_within_hours") * 3600

# taint bits: which rules an injected review is expected to break
T06, T07, T09 = 1, 2, 4
V_CREATED, V_REPLY, V_RESOLVED = range(3)


@dataclass
class ReviewBatch:
    order: np.ndarray  # order index, -1 when the review names an order that does not exist
    fake_order_id: np.ndarray  # object: the order id text when order == -1
    user: np.ndarray  # user index (indices >= users.n are accounts without orders)
    clinic: np.ndarray
    created: np.ndarray
    reply: np.ndarray  # -1 = no merchant reply
    resolved: np.ndarray  # -1 = not resolved
    scores: np.ndarray  # (n, 5)
    text: pl.Series
    receipt: np.ndarray
    photo: np.ndarray
    complaint: np.ndarray
    ctype: np.ndarray  # index into COMPLAINT_TYPES, -1
    ip: np.ndarray  # index into Reviews.extra_ips, -1 = the user's own
    device: np.ndarray  # index into Reviews.extra_devices, -1 = the user's own
    taint: np.ndarray  # T06 | T07 | T09 expected failures
    kind: np.ndarray  # object: injected violation kind, '' when clean

    @property
    def n(self) -> int:
        return len(self.order)


@dataclass
class Reviews(ReviewBatch):
    review_no: np.ndarray | None = None  # the number in the review id, R + 7 digits
    extra_ips: list[str] | None = None  # shared IPs of manipulation groups
    extra_devices: list[str] | None = None

    def ids(self, idx: np.ndarray) -> pl.Series:
        return zero_pad(self.review_no[np.asarray(idx, dtype=np.int64)], 7, "R")


def batch(n: int, **values) -> ReviewBatch:
    """A batch with defaults for every column not given."""
    defaults = dict(
        order=np.full(n, -1, np.int64), fake_order_id=np.full(n, None, dtype=object),
        user=np.zeros(n, np.int64), clinic=np.zeros(n, np.int64),
        created=np.zeros(n, np.int64), reply=np.full(n, -1, np.int64),
        resolved=np.full(n, -1, np.int64), scores=np.full((n, 5), 5, np.int8),
        text=pl.Series("text", [""] * n, dtype=pl.String), receipt=np.ones(n, np.int64),
        photo=np.zeros(n, np.int64), complaint=np.zeros(n, bool),
        ctype=np.full(n, -1, np.int64), ip=np.full(n, -1, np.int64),
        device=np.full(n, -1, np.int64), taint=np.zeros(n, np.int64),
        kind=np.full(n, "", dtype=object),
    )
    defaults.update(values)
    return ReviewBatch(**defaults)


def merge(batches: list[ReviewBatch], extra_ips: list[str], extra_devices: list[str]) -> Reviews:
    columns = {}
    for f in fields(ReviewBatch):
        parts = [getattr(b, f.name) for b in batches]
        columns[f.name] = (pl.concat(parts) if f.name == "text"
                           else np.concatenate(parts))
    n = len(columns["order"])
    order = np.lexsort((np.arange(n), columns["created"]))
    for name, values in columns.items():
        columns[name] = values.gather(order) if name == "text" else values[order]
    return Reviews(**columns, review_no=np.arange(1, n + 1), extra_ips=extra_ips,
                   extra_devices=extra_devices)


# --- the clean bulk ----------------------------------------------------------------------

def reviewable(orders: Orders, latest: np.ndarray, tl: Timeline) -> np.ndarray:
    """Orders a buyer can review: completed as the warehouse sees them, not sacrificial,
    with at least a day left before the reviews feed ends."""
    done = orders.t[:, COMPLETED]
    return np.flatnonzero((latest == COMPLETED) & (orders.sac == SAC_NONE)
                          & (done >= 0) & (done + DAY + 60 < tl.reviews_written_end))


def scores_for(rng, quality: np.ndarray, complaint: np.ndarray) -> np.ndarray:
    n = len(quality)
    s = np.rint(rng.normal(quality[:, None], 0.55, (n, 5)))
    low = np.rint(rng.normal(2.0, 0.8, (n, 5)))
    s = np.where(complaint[:, None], low, s)
    return np.clip(s, 1, 5).astype(np.int8)


def texts_for(rng, world: World, orders: Orders, order_idx: np.ndarray, created: np.ndarray,
              scores: np.ndarray, complaint: np.ndarray, ctype: np.ndarray) -> pl.Series:
    proc_names = np.array([p.name for p in PROCEDURES], dtype=object)
    surnames = np.array([name[0] for name in world.doctors.name] + ["主刀"], dtype=object)
    doctor = orders.doctor[order_idx]
    mood = np.where(complaint, 2, np.where(scores.mean(axis=1) >= 3.8, 0, 1))
    days = (created - orders.t[order_idx, COMPLETED]) // DAY
    return review_texts(
        rng, mood, ctype,
        pl.Series(proc_names[orders.proc[order_idx]], dtype=pl.String),
        pl.Series(surnames[np.where(doctor >= 0, doctor, -1)], dtype=pl.String),
        days, orders.paid_cents[order_idx] // 100,
    )


def clean_reviews(rng, tl: Timeline, world: World, orders: Orders, candidates: np.ndarray,
                  k: int) -> ReviewBatch:
    """Reviews by buyers of completed orders, 1..60 days after completion."""
    clinics = world.clinics
    tier_boost = np.array([1.0, 1.6, 3.0])[clinics.tier[orders.clinic[candidates]]]
    chosen = candidates[weighted_sample(rng, tier_boost, k)]
    created = _review_times(rng, tl, orders, chosen, mean_days=6.0)
    extra = _diamond_top_up(rng, tl, world, orders, candidates, chosen, created)
    if len(extra):
        chosen = np.concatenate([chosen, extra])
        created = np.concatenate([created, _review_times(rng, tl, orders, extra, mean_days=0.5)])
    n = len(chosen)
    clinic = orders.clinic[chosen]
    diamond = clinics.tier[clinic] == TIER_DIAMOND
    complaint = (rng.random(n) < 0.05) & ~diamond
    ctype = np.where(complaint, rng.choice(len(COMPLAINT_TYPES), size=n,
                                           p=COMPLAINT_TYPE_WEIGHTS), -1)
    reply, resolved, complaint, ctype = _responses(rng, tl, created, complaint, ctype)
    # every complaint type at least once: the scorecard counts complaints per type
    first = np.flatnonzero(complaint)[:len(COMPLAINT_TYPES)]
    if len(first) == len(COMPLAINT_TYPES):
        ctype[first] = np.arange(len(COMPLAINT_TYPES))
    scores = scores_for(rng, clinics.quality[clinic], complaint)
    receipt = rng.choice([1, 2, 3], size=n, p=[0.85, 0.12, 0.03])
    photo = np.minimum(rng.geometric(0.35, n) - 1, 9)
    return batch(
        n, order=chosen, user=orders.user[chosen], clinic=clinic, created=created, reply=reply,
        resolved=resolved, scores=scores,
        text=texts_for(rng, world, orders, chosen, created, scores, complaint, ctype),
        receipt=receipt, photo=photo, complaint=complaint, ctype=ctype,
    )


def _review_times(rng, tl: Timeline, orders: Orders, chosen: np.ndarray,
                  mean_days: float) -> np.ndarray:
    """1 to 60 days after completion (mostly within a week), before the feed ends."""
    done = orders.t[chosen, COMPLETED]
    room = np.minimum(60 * DAY, tl.reviews_written_end - 1 - done)
    wait = rng.exponential(mean_days * DAY, len(chosen)).astype(np.int64)
    created = done + DAY + np.minimum(wait, room - DAY)
    # People write reviews while awake: move 01:00-07:00 posts to later that morning.
    night = (created % DAY < 7 * 3600) & (created % DAY >= 3600)
    later = created + 7 * 3600
    return np.where(night & (later < done + room), later, created)


def _diamond_top_up(rng, tl, world, orders, candidates, chosen, created) -> np.ndarray:
    """A diamond clinic needs the bar's verified reviews (GOV-18): make sure it has 5 more."""
    wanted = parameter("GOV-18", "min_verified_reviews") + 5
    clinics = world.clinics
    picked = np.zeros(orders.n, dtype=bool)
    picked[chosen] = True
    delivered = np.zeros(orders.n, dtype=bool)
    delivered[chosen[created < tl.reviews_loaded_end]] = True
    extra = []
    for c in np.flatnonzero(clinics.tier == TIER_DIAMOND):
        at_clinic = candidates[orders.clinic[candidates] == c]
        have = int(delivered[at_clinic].sum())
        if have >= wanted:
            continue
        # completed early enough that a review a day or two later is delivered
        early = at_clinic[orders.t[at_clinic, COMPLETED] < tl.reviews_loaded_end - 10 * DAY]
        spare = early[~picked[early]]
        extra.append(spare[rng.permutation(len(spare))[: wanted - have]])
    return np.concatenate(extra) if extra else np.zeros(0, np.int64)


def _responses(rng, tl: Timeline, created, complaint, ctype):
    """Merchant replies and resolutions.

    Complaints are answered in time (GOV-09's deadline). A reply must reach the warehouse when
    the complaint is overdue by the end of the run date, so near the end of the feed
    the reply is pulled in before the last complete partition closes.
    """
    n = len(created)
    reply = np.full(n, -1, np.int64)
    resolved = np.full(n, -1, np.int64)
    # clean replies come well inside the deadline (five sixths of it)
    quick = created + rng.integers(1800, REPLY_WITHIN_S * 5 // 6, n)
    reply[complaint] = quick[complaint]
    # Complaints whose deadline ends before the end of the run date must show the reply.
    must_show = complaint & (created + REPLY_WITHIN_S < tl.end) & (created < tl.reviews_loaded_end)
    late = must_show & (reply >= tl.reviews_loaded_end)
    room = tl.reviews_loaded_end - 1 - created
    too_tight = late & (room < 1800)
    complaint = complaint & ~too_tight
    ctype = np.where(complaint, ctype, -1)
    late &= ~too_tight
    reply[late] = created[late] + 600 + (rng.random(int(late.sum())) * (room[late] - 600)).astype(
        np.int64)
    reply[too_tight] = -1
    settle = complaint & (rng.random(n) < 0.6)
    resolved[settle] = reply[settle] + rng.integers(DAY, 10 * DAY, int(settle.sum()))
    # Thank-you replies to ordinary reviews.
    thanks = ~complaint & (rng.random(n) < 0.12)
    reply[thanks] = created[thanks] + rng.integers(2 * 3600, 5 * DAY, int(thanks.sum()))
    # Nothing after the feed's last day.
    resolved[resolved >= tl.reviews_written_end] = -1
    cut = reply >= tl.reviews_written_end
    reply[cut] = -1
    resolved[reply < 0] = -1
    return reply, resolved, complaint, ctype


# --- versions ----------------------------------------------------------------------------

def versions(reviews: Reviews) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(review index, version kind, updated_at) of every review version."""
    idx = [np.arange(reviews.n)]
    kind = [np.full(reviews.n, V_CREATED)]
    t = [reviews.created]
    for k, col in ((V_REPLY, reviews.reply), (V_RESOLVED, reviews.resolved)):
        rows = np.flatnonzero(col >= 0)
        idx.append(rows)
        kind.append(np.full(len(rows), k))
        t.append(col[rows])
    return np.concatenate(idx), np.concatenate(kind), np.concatenate(t)


def version_frame(reviews: Reviews, orders: Orders, users: Users, world: World,
                  idx: np.ndarray, kind: np.ndarray) -> pl.DataFrame:
    """Review version rows as delivered; instants stay in local seconds (`*_s`)."""
    from generator.util import ts_strings

    idx = np.asarray(idx, dtype=np.int64)
    kind = np.asarray(kind, dtype=np.int64)
    order = reviews.order[idx]
    order_ids = pl.Series("o", reviews.fake_order_id[idx].tolist(), dtype=pl.String)
    known = np.flatnonzero(order >= 0)
    if len(known):
        order_ids = order_ids.scatter(known, orders.ids(order[known]))
    user = reviews.user[idx]
    ips = users.ips(user)
    shared = np.flatnonzero(reviews.ip[idx] >= 0)
    if len(shared):
        ips = ips.scatter(shared, lookup(reviews.extra_ips, reviews.ip[idx][shared]))
    devices = users.devices(user)
    shared = np.flatnonzero(reviews.device[idx] >= 0)
    if len(shared):
        devices = devices.scatter(shared, lookup(reviews.extra_devices,
                                                 reviews.device[idx][shared]))
    reply = np.where(kind >= V_REPLY, reviews.reply[idx], -1)
    resolved = np.where(kind >= V_RESOLVED, reviews.resolved[idx], -1)
    updated = np.select([kind == V_CREATED, kind == V_REPLY], [reviews.created[idx], reply],
                        resolved)
    scores = reviews.scores[idx]
    ctype = reviews.ctype[idx]
    return pl.DataFrame({
        "review_id": reviews.ids(idx),
        "order_id": order_ids,
        "user_id": users.ids(user),
        "clinic_id": lookup(world.clinics.clinic_id, reviews.clinic[idx]),
        "created_at": ts_strings(reviews.created[idx]),
        "updated_at": ts_strings(updated),
        "scores": pl.DataFrame({
            "doctor": scores[:, 0], "process": scores[:, 1], "environment": scores[:, 2],
            "effect_match": scores[:, 3], "value": scores[:, 4],
        }).to_struct("scores"),
        "text": reviews.text.gather(idx),
        "receipt_count": reviews.receipt[idx],
        "photo_count": reviews.photo[idx],
        "ip": ips,
        "device_id": devices,
        "is_complaint": reviews.complaint[idx],
        "complaint_type": lookup(COMPLAINT_TYPES, ctype),
        "merchant_reply_at": ts_strings(reply, reply < 0),
        "resolved_at": ts_strings(resolved, resolved < 0),
        # kept for the writer and the truth, dropped before writing
        "_updated_s": updated,
    })
