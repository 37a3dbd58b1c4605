"""Buyers and orders, fully vectorised (the benchmark asks for 10 million orders).

An order is one row of numpy arrays: who bought what where, at which price, and
the instants of its life-cycle events (created, paid, completed | refunded |
cancelled). Each event that happened by the end of the run date is one *order
version* delivered in the orders partition of its local date; the version rows
are only materialised (as strings) one partition at a time, in `version_frame`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from generator.config import DAY, Timeline, date_of
from generator.crm import World
from generator.reference import (
    CHANNELS,
    CITY_TIER_PRICE,
    FEE_P02_IMPLANT,
    FEE_SLOTS,
    FEE_TEMPLATE_BY_PROC,
    FEE_TEMPLATES,
    GENDERS,
    HUBS,
    IP_FIRST_OCTETS,
    ORDER_STATUSES,
    P02,
    PROCEDURES,
    SPRING_FESTIVAL,
)
from generator.util import (
    categorical_sample,
    date_strings,
    ipv4_strings,
    largest_remainder,
    lookup,
    money_strings,
    salt_for,
    splitmix64,
    uuid_strings,
    zero_pad,
)

CREATED, PAID, COMPLETED, REFUNDED, CANCELLED = range(5)
N_EVENTS = 5
# Sacrificial orders (bad deliveries): normal, landing elsewhere, never landing.
SAC_NONE, SAC_LANDS, SAC_LOST = 0, 1, 2

PROC_DEPT = np.array([p.dept for p in PROCEDURES])
_MOBILE_PREFIXES = np.array(
    [*range(130, 140), 150, 151, 152, 153, 155, 156, 157, 158, 159, 166, 173, 175, 176, 177,
     178, *range(180, 190), 191, 193, 195, 198, 199], dtype=np.int64)
PROC_CATEGORY = np.array([p.category for p in PROCEDURES])
PROC_CODES = [p.code for p in PROCEDURES]


@dataclass
class Users:
    n: int
    home: np.ndarray  # index into buyer_cities
    gender: np.ndarray  # index into GENDERS
    birth_year: np.ndarray  # 0 = unknown
    buyer_cities: list[str]
    salt: int

    def ids(self, idx: np.ndarray) -> pl.Series:
        return zero_pad(np.asarray(idx) + 1, 8, "U")

    def phones(self, idx: np.ndarray) -> pl.Series:
        """11-digit mainland mobile numbers on real carrier prefixes (1[3-9]...)."""
        h = splitmix64(np.asarray(idx, dtype=np.uint64), self.salt)
        prefix = _MOBILE_PREFIXES[(h % np.uint64(len(_MOBILE_PREFIXES))).astype(np.int64)]
        rest = ((h >> np.uint64(16)) % np.uint64(100_000_000)).astype(np.int64)
        return pl.Series("p", prefix * 100_000_000 + rest).cast(pl.String)

    def ips(self, idx: np.ndarray) -> pl.Series:
        return ipv4_strings(splitmix64(np.asarray(idx, dtype=np.uint64), self.salt + 1),
                            IP_FIRST_OCTETS)

    def devices(self, idx: np.ndarray) -> pl.Series:
        idx = np.asarray(idx, dtype=np.uint64)
        return uuid_strings(splitmix64(idx, self.salt + 2), splitmix64(idx, self.salt + 3))


@dataclass
class Orders:
    n: int
    t: np.ndarray  # (n, 5) int64 local seconds of each event, -1 = did not happen (yet)
    dropped: np.ndarray  # (n, 5) bool: version lost upstream (volume-drop scenario)
    clinic: np.ndarray
    doctor: np.ndarray  # -1 = none
    doctor_on_create: np.ndarray  # the created version already names the doctor
    proc: np.ndarray
    product: np.ndarray  # index into product_numbers, -1 = none
    serial: np.ndarray  # index into device_serials, -1 = none
    user: np.ndarray
    traveller: np.ndarray
    channel: np.ndarray
    list_cents: np.ndarray
    paid_cents: np.ndarray
    fee_tpl: np.ndarray
    fee_bp: np.ndarray  # (n, FEE_SLOTS) basis points of the first keys
    fee_gap: np.ndarray  # cents of paid_amount missing from the items (hidden fee)
    seq: np.ndarray  # order number within its creation day
    sac: np.ndarray  # SAC_* flag
    product_numbers: list[str]  # registration numbers: registry products, then unregistered
    device_serials: list[str]
    salt: int

    def ids(self, idx: np.ndarray) -> pl.Series:
        created = self.t[idx, CREATED]
        days = date_strings(created // DAY).str.replace_all("-", "")
        seq = zero_pad(self.seq[idx], 6)
        return pl.DataFrame({"d": days, "s": seq}).select(
            pl.concat_str([pl.lit("O"), pl.col("d"), pl.col("s")])
        ).to_series()

    def final_event(self) -> np.ndarray:
        """The last event that happened by the end of the run date (delivered or not)."""
        return np.argmax(np.where(self.t >= 0, self.t, -1), axis=1)


# --- calendar --------------------------------------------------------------------------

def spring_festival_bump(days: np.ndarray) -> np.ndarray:
    """0..1 bump around Chinese New Year: buyers treat themselves before going home."""
    out = np.zeros(len(days))
    for year, (month, day) in SPRING_FESTIVAL.items():
        cny = (np.datetime64(f"{year}-{month:02d}-{day:02d}") - np.datetime64("1970-01-01"))
        delta = days - cny.astype(np.int64)
        out = np.maximum(out, np.exp(-(((delta + 7) / 16.0) ** 2)))
    return out


def daily_weights(rng: np.random.Generator, tl: Timeline) -> np.ndarray:
    days = np.arange(tl.start, tl.as_of + 1)
    dates = [date_of(d) for d in days]
    month = np.array([d.month for d in dates])
    dom = np.array([d.day for d in dates])
    weekday = np.array([d.weekday() for d in dates])
    trend = 1.0 + 0.3 * (days - tl.start) / 365.0
    season = 1.0 + 0.5 * spring_festival_bump(days)
    season += 0.3 * ((month == 7) | (month == 8))
    season += 0.3 * ((month == 6) & (dom >= 16) & (dom <= 18))
    season += 0.2 * ((month == 11) & (dom <= 10))
    season += np.where((month == 11) & (dom == 11), 1.6, 0.0)
    season += np.where((month == 11) & (dom == 10), 0.5, 0.0)
    season += np.where((month == 11) & (dom == 12), 0.3, 0.0)
    week = np.array([0.9, 0.92, 0.95, 0.97, 1.05, 1.15, 1.1])[weekday]
    w = trend * season * week * rng.lognormal(0.0, 0.04, len(days))
    # Keep the last 30 days steady enough for the GOV-12 volume check (the newest
    # partition within its ratio bounds of the recent median, and every recent day within
    # +-40% of it) even when 双11 falls there: damp the swings, cap the peaks.
    tail = slice(len(days) - 30, len(days))
    median = np.median(w[tail])
    w[tail] = np.clip(median * (1 + 0.5 * (w[tail] / median - 1)), 0.88 * median,
                      1.14 * median)
    return w / w.sum()


_HOUR_WEIGHTS = np.array([
    0.6, 0.3, 0.15, 0.1, 0.1, 0.15, 0.3, 0.6, 1.0, 1.4, 1.7, 1.9,
    2.1, 2.0, 1.7, 1.6, 1.6, 1.7, 1.9, 2.2, 2.5, 2.6, 2.2, 1.3,
])


# --- generation --------------------------------------------------------------------------

def generate_orders(rng: np.random.Generator, cfg, tl: Timeline, world: World,
                    n: int) -> tuple[Orders, Users]:
    clinics = world.clinics
    weights = daily_weights(rng, tl)
    # Orders per day follow the calendar exactly (largest remainder, no sampling noise), so
    # small samples still keep recent daily volumes steady for the GOV-12 check.
    day = tl.start + rng.permutation(np.repeat(np.arange(len(weights)),
                                               largest_remainder(n, weights)))
    hour = rng.choice(24, size=n, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
    created = day * DAY + hour * 3600 + rng.integers(0, 3600, size=n)

    # Clinic: popularity, never after the clinic left the platform.
    p_clinic = clinics.popularity / clinics.popularity.sum()
    clinic = rng.choice(clinics.n, size=n, p=p_clinic)
    listed = clinics.delisted_day < 0
    for _ in range(50):
        bad = np.flatnonzero((clinics.delisted_day[clinic] >= 0)
                             & (day >= clinics.delisted_day[clinic]))
        if len(bad) == 0:
            break
        p_listed = np.where(listed, clinics.popularity, 0.0)
        clinic[bad] = rng.choice(clinics.n, size=len(bad), p=p_listed / p_listed.sum())

    proc = np.empty(n, dtype=np.int64)
    for lo in range(0, n, 1_000_000):
        hi = min(n, lo + 1_000_000)
        proc[lo:hi] = categorical_sample(rng, clinics.menu[clinic[lo:hi]])

    # Travellers: buyers from elsewhere, mostly into the hubs, more around Spring Festival.
    city = clinics.city[clinic]
    hub = np.array([c.name in HUBS for c in world.cities])
    bump = spring_festival_bump(np.arange(tl.start, tl.as_of + 1))[day - tl.start]
    p_travel = np.where(hub[city], 0.21, 0.08) * (1.0 + 0.8 * bump)
    traveller = rng.random(n) < p_travel
    users, user = _assign_users(rng, world, city, traveller, n)
    users.salt = salt_for(cfg.seed, "users")

    doctor = _pick_doctors(rng, world, clinic, proc)
    product, serial = _pick_products(rng, world, clinic, proc)
    channel = _pick_channels(rng, tl, day, traveller)
    # In chunks: the float temporaries of ten million orders would take gigabytes.
    list_cents = np.empty(n, dtype=np.int64)
    paid_cents = np.empty(n, dtype=np.int64)
    t = np.empty((n, N_EVENTS), dtype=np.int64)
    for lo in range(0, n, _CHUNK):
        part = slice(lo, min(n, lo + _CHUNK))
        list_cents[part], paid_cents[part] = _prices(rng, world, clinic[part], proc[part])
        t[part] = _life_cycle(rng, tl, created[part], proc[part])
    fee_tpl, fee_bp = _fees(rng, proc, product)

    # Compact dtypes: ten million orders take about 1 GB.
    orders = Orders(
        n=n, t=t, dropped=np.zeros((n, N_EVENTS), dtype=bool),
        clinic=clinic.astype(np.int32), doctor=doctor.astype(np.int32),
        doctor_on_create=rng.random(n) < 0.4, proc=proc.astype(np.int8),
        product=product.astype(np.int32), serial=serial.astype(np.int32),
        user=user.astype(np.int32), traveller=traveller, channel=channel.astype(np.int8),
        list_cents=list_cents, paid_cents=paid_cents, fee_tpl=fee_tpl.astype(np.int8),
        fee_bp=fee_bp.astype(np.int16), fee_gap=np.zeros(n, dtype=np.int32),
        seq=np.zeros(n, dtype=np.int32), sac=np.zeros(n, dtype=np.int8),
        product_numbers=[p.registration_no for p in world.registry.products],
        device_serials=list(world.serials), salt=salt_for(cfg.seed, "orders"),
    )
    return orders, users


_CHUNK = 2_000_000
_REPEAT_COUNTS = np.array([1, 2, 3, 4, 5, 6, 8])
_REPEAT_P = np.array([0.60, 0.21, 0.09, 0.05, 0.025, 0.015, 0.01])


def _assign_users(rng, world: World, city, traveller, n):
    """Buyers per pool (clinic city x local/traveller); ~35% of buyers order more than once."""
    cities = world.cities
    buyer_cities: list[str] = [c.name for c in cities]
    for c in cities:
        for s in c.satellites:
            if s not in buyer_cities:
                buyer_cities.append(s)
    index = {name: i for i, name in enumerate(buyer_cities)}
    hub = [c.name in HUBS for c in cities]
    user = np.empty(n, dtype=np.int64)
    homes, offset = [], 0
    pool = city * 2 + traveller
    order = np.argsort(pool, kind="stable")
    bounds = np.searchsorted(pool[order], np.arange(len(cities) * 2 + 1))
    for key in range(len(cities) * 2):
        members = order[bounds[key]:bounds[key + 1]]
        m = len(members)
        if m == 0:
            continue
        counts = rng.choice(_REPEAT_COUNTS, size=m + 1, p=_REPEAT_P)
        k = int(np.searchsorted(np.cumsum(counts), m)) + 1
        slots = np.repeat(np.arange(k), counts[:k])[:m]
        user[members] = offset + rng.permutation(slots)
        c = key // 2
        if key % 2 == 0:
            home = np.full(k, index[cities[c].name])
        else:
            sats = [index[s] for s in cities[c].satellites]
            others = [index[o.name] for i, o in enumerate(cities) if i != c and not hub[i]]
            if not hub[c] or not others:
                others = [index[o.name] for i, o in enumerate(cities) if i != c] or sats
            from_sat = rng.random(k) < (0.75 if hub[c] else 0.9)
            home = np.where(from_sat, rng.choice(sats, size=k), rng.choice(others, size=k))
        homes.append(home)
        offset += k
    home = np.concatenate(homes).astype(np.int16)
    gender = rng.choice(3, size=offset, p=[0.85, 0.13, 0.02]).astype(np.int8)
    birth = np.clip(np.round(rng.normal(1995.5, 6.5, offset)), 1962, 2007).astype(np.int16)
    birth[rng.random(offset) < 0.03] = 0
    users = Users(n=offset, home=home, gender=gender, birth_year=birth,
                  buyer_cities=buyer_cities, salt=0)
    return users, user


def _pick_doctors(rng, world: World, clinic, proc):
    dept = PROC_DEPT[proc]
    cnt = world.qual_cnt[clinic, dept]
    if (cnt == 0).any():  # pragma: no cover - every sold department has a qualified doctor
        raise AssertionError("a clinic sells a department without a qualified doctor")
    pick = (rng.random(len(clinic)) * cnt).astype(np.int64)
    return world.qual_flat[world.qual_off[clinic, dept] + pick]


def _pick_products(rng, world: World, clinic, proc):
    n = len(clinic)
    product = np.full(n, -1, dtype=np.int64)
    serial = np.full(n, -1, dtype=np.int64)
    u = rng.random(n)
    for p, spec in enumerate(PROCEDURES):
        if spec.product_category is None:
            continue
        rows = np.flatnonzero(proc == p)
        if spec.category == "energy":
            product[rows] = world.clinics.device_product[clinic[rows], p]
            serial[rows] = world.clinics.device_serial[clinic[rows], p]
            continue
        options = np.array(world.registry.products_of(spec.product_category))
        if p == P02:  # 鼻综合 uses an implant in about 40% of cases
            rows = rows[u[rows] < 0.4]
        product[rows] = options[(rng.random(len(rows)) * len(options)).astype(np.int64)]
    return product, serial


def _pick_channels(rng, tl: Timeline, day, traveller):
    out = np.empty(len(day), dtype=np.int64)
    for lo in range(0, len(day), 1_000_000):
        hi = min(len(day), lo + 1_000_000)
        progress = (day[lo:hi] - tl.start) / max(tl.n_days, 1)
        probs = np.empty((hi - lo, len(CHANNELS)))
        probs[:, 0] = 0.40 - 0.12 * progress  # app
        probs[:, 1] = 0.25  # mini_program
        probs[:, 2] = 0.08 + 0.17 * progress  # live_stream, growing
        probs[:, 3] = 0.08 + 0.07 * traveller[lo:hi]  # video_consult, popular with travellers
        probs[:, 4] = 0.19 - 0.05 * progress  # offline_referral
        out[lo:hi] = categorical_sample(rng, probs)
    return out


def _prices(rng, world: World, clinic, proc):
    n = len(clinic)
    lo = np.array([p.price[0] for p in PROCEDURES], dtype=np.float64)[proc]
    hi = np.array([p.price[1] for p in PROCEDURES], dtype=np.float64)[proc]
    city_factor = np.array([CITY_TIER_PRICE[c.tier] for c in world.cities])[
        world.clinics.city[clinic]]
    tier_factor = np.array([1.0, 1.1, 1.25])[world.clinics.tier[clinic]]
    x = lo + (hi - lo) * rng.beta(2.0, 3.5, n)
    x = np.clip(x * city_factor * tier_factor * rng.lognormal(0, 0.08, n), 0.9 * lo, 1.3 * hi)
    ending = rng.choice(np.array([0, 2, 20, 120]), size=n, p=[0.4, 0.2, 0.3, 0.1])
    big = np.ceil(x / 100) * 100 - ending
    small = np.ceil(x / 10) * 10
    list_yuan = np.where(x >= 1000, big, small).astype(np.int64)
    list_cents = np.maximum(list_yuan, 100) * 100
    discount = np.where(rng.random(n) < 0.3, 1.0, rng.uniform(0.72, 0.98, n))
    raw = np.floor(list_cents * discount).astype(np.int64)
    whole = rng.random(n) < 0.85
    paid_cents = np.where(whole, raw // 100 * 100, raw)
    return list_cents, np.maximum(paid_cents, 100)


def _fees(rng, proc, product):
    tpl_by_proc = np.array([FEE_TEMPLATE_BY_PROC[p.code] for p in PROCEDURES])
    tpl = tpl_by_proc[proc]
    tpl = np.where((proc == P02) & (product >= 0), FEE_P02_IMPLANT, tpl)
    bp = np.zeros((len(proc), FEE_SLOTS), dtype=np.int64)
    u = rng.random((len(proc), FEE_SLOTS))
    for k, template in enumerate(FEE_TEMPLATES):
        rows = np.flatnonzero(tpl == k)
        for slot, (_key, lo, hi) in enumerate(template[:-1]):
            bp[rows, slot] = np.floor((lo + (hi - lo) * u[rows, slot]) * 10_000)
    return tpl.astype(np.int64), bp


def _life_cycle(rng, tl: Timeline, created, proc):
    """Instants of each event; events after the end of the run date have not happened."""
    n = len(created)
    t = np.full((n, N_EVENTS), -1, dtype=np.int64)
    t[:, CREATED] = created
    intent = rng.choice(5, size=n, p=[0.70, 0.08, 0.10, 0.08, 0.04])
    # intent: 0 completes, 1 refunded, 2 cancelled, 3 stays paid, 4 stays created
    pays = np.isin(intent, (0, 1, 3))
    quick = rng.random(n) < 0.65
    lag = np.where(quick, rng.integers(60, 1800, n), rng.integers(3600, 3 * DAY, n))
    paid = created + lag
    t[pays, PAID] = paid[pays]

    surgical = PROC_CATEGORY[proc] == "surgical"
    lag_days = np.where(rng.random(n) < 0.35, 0, 1 + rng.geometric(1 / 5.0, n))
    lag_days = np.where(surgical, 3 + rng.geometric(1 / 10.0, n), lag_days)
    lag_days = np.minimum(lag_days, np.where(surgical, 60, 30))
    done = (paid // DAY + lag_days) * DAY + rng.integers(9 * 3600 + 1800, 20 * 3600 + 1800, n)
    done = np.where(done <= paid + 900, done + DAY, done)
    completes = intent == 0
    t[completes, COMPLETED] = done[completes]
    refunds = intent == 1
    t[refunds, REFUNDED] = paid[refunds] + rng.integers(2 * 3600, 20 * DAY, int(refunds.sum()))
    cancels = intent == 2
    t[cancels, CANCELLED] = created[cancels] + rng.integers(300, 2 * DAY, int(cancels.sum()))
    # Nothing happens after the end of the run date.
    t[t >= tl.end] = -1
    t[t[:, PAID] < 0, COMPLETED] = -1
    t[t[:, PAID] < 0, REFUNDED] = -1
    return t


def assign_sequence(orders: Orders) -> None:
    """Order numbers within each creation day (order ids are O + yyyymmdd + 6 digits)."""
    created = orders.t[:, CREATED]
    order = np.lexsort((np.arange(orders.n), created))
    day = created[order] // DAY
    first = np.r_[0, np.flatnonzero(np.diff(day)) + 1]
    start_of = np.repeat(first, np.diff(np.r_[first, orders.n]))
    seq = np.empty(orders.n, dtype=np.int32)
    seq[order] = np.arange(orders.n) - start_of + 1
    orders.seq = seq


# --- versions -----------------------------------------------------------------------------

def landed_mask(orders: Orders, tl: Timeline) -> np.ndarray:
    """(n, 5) bool: the version exists and reaches the warehouse (a complete partition,
    not lost upstream, not a quarantined bad delivery)."""
    t = orders.t
    main = (t >= 0) & (t < tl.loaded_end) & ~orders.dropped
    lands = np.where((orders.sac == SAC_NONE)[:, None], main, t >= 0)
    lands[orders.sac == SAC_LOST] = False
    return lands


def latest_landed(orders: Orders, tl: Timeline) -> np.ndarray:
    """Event of the latest version the warehouse holds per order, -1 when none landed."""
    lands = landed_mask(orders, tl)
    times = np.where(lands, orders.t, -1)
    latest = np.argmax(times, axis=1)
    latest[~lands.any(axis=1)] = -1
    return latest


def fee_items_json(orders: Orders, idx: np.ndarray) -> pl.Series:
    """fee_items JSON text; the items sum to paid_amount minus any injected hidden fee."""
    idx = np.asarray(idx, dtype=np.int64)
    tpl = orders.fee_tpl[idx]
    paid = orders.paid_cents[idx]
    groups = []
    for k in np.unique(tpl):
        rows = np.flatnonzero(tpl == k)
        template = FEE_TEMPLATES[int(k)]
        columns = {"row": rows}
        spent = np.zeros(len(rows), dtype=np.int64)
        for slot in range(len(template)):
            if slot < len(template) - 1:
                cents = paid[rows] * orders.fee_bp[idx[rows], slot] // 10_000
                spent += cents
            else:
                cents = paid[rows] - orders.fee_gap[idx[rows]] - spent
            columns[f"v{slot}"] = money_strings(cents)
        pieces = []
        for slot, (key, _lo, _hi) in enumerate(template):
            pieces += [pl.lit(("{" if slot == 0 else ", ") + f'"{key}": '), pl.col(f"v{slot}")]
        pieces.append(pl.lit("}"))
        groups.append(pl.DataFrame(columns).select("row", pl.concat_str(pieces).alias("fee")))
    if not groups:
        return pl.Series("fee_items", [], dtype=pl.String)
    return pl.concat(groups).sort("row")["fee"].alias("fee_items")


def version_frame(orders: Orders, users: Users, world: World, idx: np.ndarray,
                  events: np.ndarray) -> pl.DataFrame:
    """The order version rows (idx[i] in the state right after events[i]), as delivered.

    String columns are final; money stays in integer cents and instants in local
    seconds (``*_s``) so the writer can render Parquet or CSV exactly.
    """
    idx = np.asarray(idx, dtype=np.int64)
    events = np.asarray(events, dtype=np.int64)
    u = orders.user[idx]
    clinic = orders.clinic[idx]
    doctor = orders.doctor[idx]
    show_doctor = (doctor >= 0) & ((events != CREATED) & (events != CANCELLED)
                                   | orders.doctor_on_create[idx])
    paid_s = orders.t[idx, PAID]
    has_paid = np.isin(events, (PAID, COMPLETED, REFUNDED)) & (paid_s >= 0)
    has_completed = events == COMPLETED
    updated = orders.t[idx, events]
    birth = users.birth_year[u]
    frame = pl.DataFrame({
        "order_id": orders.ids(idx),
        "user_id": users.ids(u),
        "buyer_phone": users.phones(u),
        "buyer_gender": lookup(GENDERS, users.gender[u]),
        "buyer_birth_year": pl.Series(birth.astype(np.int32), dtype=pl.Int32).scatter(
            np.flatnonzero(birth == 0), None),
        "buyer_city": lookup(users.buyer_cities, users.home[u]),
        "clinic_id": lookup(world.clinics.clinic_id, clinic),
        "doctor_id": lookup(world.doctors.doctor_id, np.where(show_doctor, doctor, -1)),
        "procedure_code": lookup(PROC_CODES, orders.proc[idx]),
        "product_registration_no": lookup(orders.product_numbers, orders.product[idx]),
        "device_serial": lookup(orders.device_serials, orders.serial[idx]),
        "channel": lookup(CHANNELS, orders.channel[idx]),
        "list_cents": orders.list_cents[idx],
        "paid_cents": orders.paid_cents[idx],
        "fee_items": fee_items_json(orders, idx),
        "status": lookup(ORDER_STATUSES, events),
        "created_s": orders.t[idx, CREATED],
        "paid_s": pl.Series(paid_s).scatter(np.flatnonzero(~has_paid), None),
        "completed_s": pl.Series(orders.t[idx, COMPLETED]).scatter(
            np.flatnonzero(~has_completed), None),
        "payment_txn_id": _payment_ids(orders, idx, paid_s, has_paid),
        "updated_s": updated,
    })
    return frame


def _payment_ids(orders: Orders, idx, paid_s, has_paid) -> pl.Series:
    """WeChat-Pay-like (42...) or Alipay-like (yyyymmdd2200...) 28-digit transaction ids."""
    h = splitmix64(idx.astype(np.uint64), orders.salt)
    day = date_strings(np.where(has_paid, paid_s, 0) // DAY).str.replace_all("-", "")
    a = zero_pad((h % np.uint64(1_000_000)).astype(np.int64), 6)
    b = zero_pad(((h >> np.uint64(20)) % np.uint64(10_000_000_000)).astype(np.int64), 10)
    c = zero_pad(((h >> np.uint64(8)) % np.uint64(10_000_000_000_000_000)).astype(np.int64), 16)
    wechat = (h % np.uint64(10)) < np.uint64(6)
    frame = pl.DataFrame({"d": day, "a": a, "b": b, "c": c, "w": wechat, "p": has_paid})
    return frame.select(
        pl.when(~pl.col("p")).then(None)
        .when(pl.col("w")).then(pl.concat_str([pl.lit("4200"), pl.col("a"), pl.col("d"),
                                               pl.col("b")]))
        .otherwise(pl.concat_str([pl.col("d"), pl.lit("2200"), pl.col("c")]))
    ).to_series().alias("payment_txn_id")

