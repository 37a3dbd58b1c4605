"""Governance violations GOV-01..GOV-09, injected into an otherwise clean world.

Every injection marks what it may break (`taint`, per rule) and what it must
break (`direct`). The ground truth itself is computed afterwards, independently,
by `truth.py` over the data as the warehouse will see it; these marks only let
the generator check that the truth contains every injected failure and nothing
that was meant to be clean.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from generator.config import DAY, Timeline
from generator.crm import T_CLINIC, T_OUTPATIENT, TIER_DIAMOND, World, person_name
from generator.orders import (
    COMPLETED,
    PAID,
    REFUNDED,
    SAC_NONE,
    Orders,
    Users,
    latest_landed,
)
from generator.reference import (
    CLINIC_BRANDS,
    DEPARTMENTS,
    DEPT_DERM,
    ENERGY_PROCS,
    FEE_MISSING_MANDATORY,
    FEE_TEMPLATES,
    INJECTABLE_PROCS,
    P01,
    P02,
    P03,
    P05,
    P07,
    PROCEDURES,
    PRODUCT_PROCS,
    SCOPE_PERMITS,
    SCOPE_SURGERY,
)
from generator.registry import extra_product, unregistered_number
from generator.reviews import T06, T07, T09, ReviewBatch, batch, reviewable, texts_for
from generator.texts import burst_variants, normalise, review_texts
from generator.util import salt_for, splitmix64, uuid_strings
from quality.rules import parameter

REVIEW_WINDOW_DAYS = parameter("GOV-06", "review_window_days")
BURST_MIN_REVIEWS = parameter("GOV-07", "burst_min_reviews")
SHARED_IP_MIN_USERS = parameter("GOV-07", "shared_ip_min_users")
REPLY_WITHIN_S = parameter("GOV-09", "reply_within_hours") * 3600
FEE_TOLERANCE_CENTS = round(parameter("GOV-08", "fee_tolerance_yuan") * 100)

RULE_BIT = {rule: 1 << int(rule[-2:]) for rule in ("GOV-02", "GOV-03", "GOV-04", "GOV-05",
                                                      "GOV-08", "GOV-14")}
B02, B03, B04, B05, B08, B14 = (RULE_BIT[r] for r in ("GOV-02", "GOV-03", "GOV-04", "GOV-05",
                                                      "GOV-08", "GOV-14"))
PROC_CATEGORY = np.array([p.category for p in PROCEDURES])
PROC_DEPT = np.array([p.dept for p in PROCEDURES])


@dataclass
class Injected:
    """What was injected, for the consistency check against the computed truth."""

    clinics: dict[int, str] = field(default_factory=dict)  # clinic -> GOV-01..03 kind
    doctors: dict[int, str] = field(default_factory=dict)  # doctor -> GOV-04 kind
    gov01: set[int] = field(default_factory=set)  # clinics that must fail GOV-01
    tier_labels: set[int] = field(default_factory=set)  # clinics labelled 美钻 below the bar
    order_taint: np.ndarray | None = None  # bits B02.. per order: may fail
    order_direct: np.ndarray | None = None  # bits per order: must fail
    order_kind: dict[int, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # kind -> entities injected


def per_kind(rate: float, base: int, kinds: int, minimum: int = 2) -> int:
    """Entities to give one kind of violation: at least `minimum`, so that a small sample
    still tests every kind, except at rate 0, the clean sample, which gets none."""
    if rate == 0:
        return 0
    return max(minimum, round(rate * base / kinds))


class _Pool:
    """Candidates in a fixed random order; `take` hands out each one at most once.

    `accept` is vectorised: it receives an array of candidates and returns a mask.
    With `groups` (a key per candidate, e.g. the order's clinic), `take_in` looks
    only at one group's candidates, so thousands of small takes stay cheap.
    """

    def __init__(self, rng, candidates: np.ndarray, groups: np.ndarray | None = None):
        self.items = np.asarray(candidates, dtype=np.int64)[rng.permutation(len(candidates))]
        self.used = np.zeros(len(self.items), dtype=bool)
        if groups is not None:
            keys = groups[self.items].astype(np.int64)  # int64: searchsorted must not cast
            self._by_group = np.argsort(keys, kind="stable")
            self._keys = keys[self._by_group]

    def _pick(self, positions: np.ndarray, accept, k: int) -> np.ndarray:
        free = positions[~self.used[positions]]
        if k <= 0 or len(free) == 0:
            return np.zeros(0, dtype=np.int64)
        ok = np.asarray(accept(self.items[free]), dtype=bool)
        chosen = free[np.flatnonzero(ok)[:k]]
        self.used[chosen] = True
        return self.items[chosen]

    def take(self, accept, k: int) -> np.ndarray:
        return self._pick(np.arange(len(self.items)), accept, k)

    def take_in(self, group: int, accept, k: int) -> np.ndarray:
        lo, hi = np.searchsorted(self._keys, [group, group + 1])
        return self._pick(self._by_group[lo:hi], accept, k)

    def take_each(self, predicate, k: int) -> list[int]:
        """Like `take` with a per-item Python predicate, evaluated only until k are found
        (for the clinic and doctor pools, where the predicates are not vectorised)."""
        out = []
        for position in np.flatnonzero(~self.used):
            if len(out) == k:
                break
            item = int(self.items[position])
            if predicate(item):
                self.used[position] = True
                out.append(item)
        return out


# --- clinics, doctors and orders ------------------------------------------------------------

def inject_orders_side(rng, cfg, tl: Timeline, world: World, orders: Orders,
                       protected: np.ndarray) -> Injected:
    """GOV-01..05 and GOV-08: registry edits, doctor re-assignments, order defects.

    `protected` clinics (the hosts of sacrificial orders) are left clean.
    """
    inj = Injected(order_taint=np.zeros(orders.n, np.uint16),
                   order_direct=np.zeros(orders.n, np.uint16))
    clinics, doctors, registry = world.clinics, world.doctors, world.registry
    latest = latest_landed(orders, tl)
    completed = (latest == COMPLETED) & (orders.sac == SAC_NONE)
    done_day = np.where(completed, orders.t[:, COMPLETED] // DAY, -1)
    rate = cfg.violation_rate

    done_by_clinic = _group(orders.clinic, completed, clinics.n)
    all_by_clinic = _group(orders.clinic, np.ones(orders.n, dtype=bool), clinics.n)
    institutions = {i.license_no: i for i in registry.institutions}
    shielded = np.zeros(clinics.n, dtype=bool)
    shielded[protected] = True
    eligible = np.flatnonzero((clinics.delisted_day < 0) & (clinics.tier != TIER_DIAMOND)
                              & ~shielded)
    pool = _Pool(rng, eligible)

    def spans(members: np.ndarray) -> bool:
        """Completed orders on both sides of their median day (a mid-history change)."""
        days = done_day[members]
        return len(days) >= 4 and np.median(days) > days.min()

    def has_done(c: int) -> bool:
        return len(done_by_clinic[c]) >= 1

    # GOV-01: licence absent / registry name differs / registry city differs.
    k01 = per_kind(rate, clinics.n, 3)
    for c in pool.take_each(has_done, k01):
        institutions.pop(clinics.license_no[c])
        inj.clinics[c] = "licence_not_in_registry"
        inj.gov01.add(int(c))
        # Without a registry licence every completed order fails GOV-02 and GOV-03.
        inj.order_taint[all_by_clinic[c]] |= B02 | B03
        inj.order_direct[done_by_clinic[c]] |= B02 | B03
    for c in pool.take(lambda items: np.ones(len(items), bool), k01):
        inst = institutions[clinics.license_no[c]]
        city = world.cities[clinics.city[c]].name
        other = [b for b in CLINIC_BRANDS if b not in clinics.name[c]]
        inst.name = f"{city}{other[int(rng.integers(len(other)))]}医疗美容有限公司"
        inj.clinics[c] = "registry_name_mismatch"
        inj.gov01.add(int(c))
    for c in pool.take(lambda items: np.ones(len(items), bool), k01):
        inst = institutions[clinics.license_no[c]]
        sats = world.cities[clinics.city[c]].satellites
        inst.city = sats[int(rng.integers(len(sats)))]
        inj.clinics[c] = "registry_city_mismatch"
        inj.gov01.add(int(c))

    # GOV-02: licence revoked / cancelled / suspended mid-history, or expired.
    statuses = ("吊销", "注销", "停业整顿")
    names = {"吊销": "licence_revoked", "注销": "licence_cancelled",
             "停业整顿": "licence_suspended"}
    revoked = pool.take_each(lambda c: spans(done_by_clinic[c]),
                             per_kind(rate, clinics.n, 2, minimum=3))
    for i, c in enumerate(revoked):
        inst = institutions[clinics.license_no[c]]
        members = done_by_clinic[c]
        inst.status = statuses[i % 3]
        inst.status_day = int(np.sort(done_day[members])[len(members) // 2])
        inj.clinics[c] = names[inst.status]
        inj.order_taint[all_by_clinic[c]] |= B02
        inj.order_direct[members[done_day[members] >= inst.status_day]] |= B02
    for c in pool.take_each(lambda c: spans(done_by_clinic[c]), per_kind(rate, clinics.n, 2)):
        inst = institutions[clinics.license_no[c]]
        members = done_by_clinic[c]
        inst.valid_to = int(np.sort(done_day[members])[len(members) // 2]) - 1
        inj.clinics[c] = "licence_expired"
        inj.order_taint[all_by_clinic[c]] |= B02
        inj.order_direct[members[done_day[members] > inst.valid_to]] |= B02

    # GOV-03: the department the clinic sells most is missing from its licence.
    for c in pool.take_each(has_done, per_kind(rate, clinics.n, 2)):
        members = done_by_clinic[c]
        dept = int(np.bincount(PROC_DEPT[orders.proc[members]], minlength=4).argmax())
        inst = institutions[clinics.license_no[c]]
        inst.departments = [d for d in inst.departments if d != DEPARTMENTS[dept]]
        inj.clinics[c] = "department_not_licensed"
        inj.order_taint[all_by_clinic[c]] |= B03
        inj.order_direct[members[PROC_DEPT[orders.proc[members]] == dept]] |= B03

    # GOV-18, at listing time only: a 美钻 label on a clinic far below the bar (no chief
    # consultant with the bar's years). Its doctors and orders stay open to other kinds.
    chief_years = np.zeros(clinics.n, dtype=np.int64)
    chiefs = np.flatnonzero(doctors.chief_consultant)
    np.maximum.at(chief_years, doctors.clinic[chiefs], doctors.years[chiefs])
    junior = chief_years < parameter("GOV-18", "chief_consultant_min_years")
    for c in pool.take(lambda items: junior[items], per_kind(rate, clinics.n, 1)):
        clinics.label[c] = TIER_DIAMOND
        inj.tier_labels.add(int(c))
    inj.counts["unearned_diamond_label"] = len(inj.tier_labels)

    # GOV-15 at listing time only: a licence revoked, or expired, after the clinic's last
    # completed order, so that no order fails GOV-02 and only the listing check catches it
    # (a clinic without recent orders). Deterministic days: the random draws of the kinds
    # planted after these stay as they were.
    last_done = np.full(clinics.n, -1, dtype=np.int64)
    finished = orders.t[:, COMPLETED] >= 0
    np.maximum.at(last_done, orders.clinic[finished], orders.t[finished, COMPLETED] // DAY)
    newest = tl.as_of - 1
    quiet = last_done < newest - 2
    for i, c in enumerate(pool.take(lambda items: quiet[items], per_kind(rate, clinics.n, 2))):
        inst = institutions[clinics.license_no[c]]
        day = max(int(last_done[c]) + 1, newest - 10)
        if i % 2 == 0:
            inst.status, inst.status_day = "吊销", day
            kind = "listing_licence_revoked"
        else:
            inst.valid_to = day - 1
            kind = "listing_licence_expired"
        inj.counts[kind] = inj.counts.get(kind, 0) + 1

    # GOV-04, doctor level: unregistered, struck off / suspended mid-history, surgeon injecting.
    tainted_clinic = np.zeros(clinics.n, dtype=bool)
    tainted_clinic[list(inj.clinics)] = True
    tainted_clinic[clinics.tier == TIER_DIAMOND] = True
    tainted_clinic[clinics.delisted_day >= 0] = True
    tainted_clinic |= shielded
    has_doctor = orders.doctor >= 0
    done_by_doctor = _group(np.maximum(orders.doctor, 0), completed & has_doctor, doctors.n)
    all_by_doctor = _group(np.maximum(orders.doctor, 0), has_doctor, doctors.n)
    n_done_doctor = np.array([len(g) for g in done_by_doctor])
    practitioners = {p.license_no: p for p in registry.practitioners}
    doc_pool = _Pool(rng, np.flatnonzero(~tainted_clinic[doctors.clinic]))
    k04 = per_kind(rate, doctors.n, 3)
    for d in doc_pool.take(lambda items: n_done_doctor[items] >= 1, k04):
        practitioners.pop(doctors.license_no[d])
        inj.doctors[d] = "practitioner_not_in_registry"
        inj.order_taint[all_by_doctor[d]] |= B04
        inj.order_direct[done_by_doctor[d]] |= B04
    for i, d in enumerate(doc_pool.take_each(lambda d: spans(done_by_doctor[d]), k04)):
        p = practitioners[doctors.license_no[d]]
        members = done_by_doctor[d]
        p.status = ("注销", "暂停")[i % 2]
        p.status_day = int(np.sort(done_day[members])[len(members) // 2])
        inj.doctors[d] = ("practitioner_struck_off" if p.status == "注销"
                          else "practitioner_suspended")
        inj.order_taint[all_by_doctor[d]] |= B04
        inj.order_direct[members[done_day[members] >= p.status_day]] |= B04
    # GOV-17, at listing time only (the doctors' orders stay in GOV-04's scope): the registry's
    # 姓名 is another person's, the licence is registered at another institution, a chief
    # consultant is not a 美容主诊医师 (one whose 执业范围 alone permits every order's department).
    k17 = per_kind(rate, doctors.n, 3)
    for d in doc_pool.take(lambda items: np.ones(len(items), bool), k17):
        p = practitioners[doctors.license_no[d]]
        registered = p.name
        while p.name == registered:
            p.name = person_name(rng)
        inj.doctors[d] = "registry_name_mismatch"
    for d in doc_pool.take(lambda items: np.ones(len(items), bool), k17):
        p = practitioners[doctors.license_no[d]]
        own = clinics.license_no[doctors.clinic[d]]
        others = [lic for lic in clinics.license_no if lic != own]
        p.institution_license_no = others[int(rng.integers(len(others)))]
        inj.doctors[d] = "registered_at_another_institution"

    def chief_by_scope(d: int) -> bool:
        permitted = SCOPE_PERMITS[doctors.scope[d]]
        departments = PROC_DEPT[orders.proc[all_by_doctor[d]]]
        return bool(doctors.chief_consultant[d] and doctors.is_chief[d]
                    and np.isin(departments, list(permitted)).all())

    for d in doc_pool.take_each(chief_by_scope, k17):
        p = practitioners[doctors.license_no[d]]
        p.is_chief, p.chief_specialty = False, ""
        doctors.is_chief[d] = False
        inj.doctors[d] = "chief_consultant_not_registered"
    # Drop the removed records in one pass (list.remove would compare whole dataclasses).
    kept = set(institutions)
    registry.institutions[:] = [i for i in registry.institutions if i.license_no in kept]
    kept = set(practitioners)
    registry.practitioners[:] = [p for p in registry.practitioners if p.license_no in kept]
    injectable = np.isin(orders.proc, INJECTABLE_PROCS)
    clean_doctor = np.ones(doctors.n, dtype=bool)
    clean_doctor[list(inj.doctors)] = False

    def movable(c: int) -> np.ndarray:
        """Completed injectable orders of a clinic performed by a clean doctor."""
        members = done_by_clinic[c]
        performer = orders.doctor[members]
        return members[injectable[members] & (performer >= 0)
                       & clean_doctor[np.maximum(performer, 0)]]

    def surgeon(d: int) -> bool:
        return (doctors.scope[d] == SCOPE_SURGERY and not doctors.qualified[d, DEPT_DERM]
                and len(movable(int(doctors.clinic[d]))) > 0)

    for d in doc_pool.take_each(surgeon, k04):
        candidates = movable(int(doctors.clinic[d]))
        moved = candidates[rng.permutation(len(candidates))[:4]]
        orders.doctor[moved] = d
        clean_doctor[d] = False
        inj.doctors[d] = "surgeon_performing_injectables"
        inj.order_taint[moved] |= B04
        inj.order_direct[moved] |= B04
        for o in moved:
            inj.order_kind[int(o)] = "surgeon_performing_injectables"

    # Order level: GOV-04 no doctor, GOV-05 product defects, GOV-08 fee defects.
    candidates = np.flatnonzero(completed & ~tainted_clinic[orders.clinic] & has_doctor
                                & clean_doctor[np.maximum(orders.doctor, 0)]
                                & (inj.order_taint == 0))
    order_pool = _Pool(rng, candidates)
    k_order = per_kind(rate, int(completed.sum()), 8)

    def take_orders(kind: str, bit: int, accept, k: int = k_order) -> np.ndarray:
        chosen = order_pool.take(accept, k)
        inj.order_taint[chosen] |= bit
        inj.order_direct[chosen] |= bit
        for o in chosen:
            inj.order_kind[int(o)] = kind
        inj.counts[kind] = len(chosen)
        return chosen

    orders.doctor[take_orders("doctor_missing", B04, lambda o: np.ones(len(o), bool))] = -1

    proc = orders.proc
    needs_product = np.isin(proc, PRODUCT_PROCS)
    energy = np.isin(proc, ENERGY_PROCS)
    ha = np.isin(proc, (P05, P07))
    for o in take_orders("product_not_in_registry", B05,
                         lambda o: needs_product[o]
                         | ((proc[o] == P02) & (orders.product[o] >= 0))):
        category = PROCEDURES[proc[o]].product_category
        orders.product_numbers.append(unregistered_number(rng, registry.products, category))
        orders.product[o] = len(orders.product_numbers) - 1
    botox = registry.products_of("A型肉毒毒素")  # registry index == order vocabulary index
    wrong = take_orders("product_wrong_category", B05, lambda o: ha[o])
    orders.product[wrong] = np.array(botox)[rng.integers(0, len(botox), len(wrong))]

    def add_product(**kwargs) -> tuple[int, int]:
        """A new registry product, also appended to the order-side vocabulary."""
        i = extra_product(rng, tl, registry.products, "透明质酸钠填充剂", **kwargs)
        registry.products[i].usable = False  # clean orders never use it
        orders.product_numbers.append(registry.products[i].registration_no)
        return i, len(orders.product_numbers) - 1

    cancelled, cancelled_vocab = add_product()
    registry.products[cancelled].status = "注销"
    orders.product[take_orders("product_cancelled", B05, lambda o: ha[o])] = cancelled_vocab
    expiry = tl.start + tl.n_days // 2
    _, expired_vocab = add_product(valid_to=expiry)
    orders.product[take_orders("product_expired", B05,
                               lambda o: ha[o] & (done_day[o] > expiry))] = expired_vocab
    # ... and some orders used it while it was still valid: those are fine.
    still_valid = order_pool.take(lambda o: ha[o] & (done_day[o] <= expiry), max(1, k_order // 2))
    orders.product[still_valid] = expired_vocab
    inj.order_taint[still_valid] |= B05
    orders.product[take_orders("product_missing", B05, lambda o: needs_product[o])] = -1
    orders.device_serials.append("")  # an empty serial is as bad as none
    no_serial = take_orders("device_serial_missing", B05, lambda o: energy[o])
    orders.serial[no_serial] = np.where(np.arange(len(no_serial)) % 2 == 0, -1,
                                        len(orders.device_serials) - 1)

    remainder = orders.paid_cents - (
        orders.paid_cents[:, None] * orders.fee_bp // 10_000).sum(axis=1)
    for o in take_orders("fee_items_hidden_fee", B08, lambda o: remainder[o] >= 400):
        orders.fee_gap[o] = max(FEE_TOLERANCE_CENTS + 1, int(remainder[o] * rng.uniform(0.3, 0.9)))
    mandatory = np.isin(PROC_CATEGORY, list(FEE_MISSING_MANDATORY))
    for o in take_orders("fee_items_missing_mandatory", B08, lambda o: mandatory[proc[o]]):
        tpl = FEE_MISSING_MANDATORY[PROC_CATEGORY[proc[o]]]
        orders.fee_tpl[o] = tpl
        orders.fee_bp[o] = 0
        for slot, (_key, lo, hi) in enumerate(FEE_TEMPLATES[tpl][:-1]):
            orders.fee_bp[o, slot] = int(rng.uniform(lo, hi) * 10_000)
    for o in take_orders("paid_above_list", B08, lambda o: orders.paid_cents[o] >= 20_000):
        orders.list_cents[o] = int(orders.paid_cents[o] * rng.uniform(0.8, 0.95)) // 100 * 100

    # GOV-14: a procedure above the grade the clinic's type may perform (超范围执业), booked as
    # one of the same department without a product, so that no other rule sees it: 双眼皮
    # (grade 1) done as 吸脂 (grade 2) at a 诊所, 双眼皮 or 吸脂 as 鼻综合 (grade 3, no implant)
    # at a 门诊部.
    clinic_type = world.clinics.clinic_type[orders.clinic]
    for o in take_orders("grade_above_clinic_cap", B14,
                         lambda o: (clinic_type[o] == T_CLINIC) & (proc[o] == P01),
                         k=(k_order + 1) // 2):
        orders.proc[o] = P03
    above_outpatient = take_orders(
        "grade_above_clinic_cap", B14,
        lambda o: (clinic_type[o] == T_OUTPATIENT) & np.isin(proc[o], (P01, P03))
        & (orders.product[o] < 0),
        k=(k_order + 1) // 2)
    orders.proc[above_outpatient] = P02
    inj.counts["grade_above_clinic_cap"] = int(np.sum((inj.order_direct & B14) > 0))

    for kinds in (inj.clinics, inj.doctors):
        for kind in sorted(set(kinds.values())):
            inj.counts[kind] = sum(1 for v in kinds.values() if v == kind)
    return inj


def _group(keys: np.ndarray, mask: np.ndarray, n_groups: int) -> list[np.ndarray]:
    """Indices i with mask[i], grouped by keys[i] (ascending within each group)."""
    idx = np.flatnonzero(mask)
    idx = idx[np.argsort(keys[idx], kind="stable")]
    bounds = np.searchsorted(keys[idx], np.arange(n_groups + 1))
    return [idx[bounds[g]:bounds[g + 1]] for g in range(n_groups)]


# --- reviews ---------------------------------------------------------------------------------

@dataclass
class ReviewInjection:
    batches: list[ReviewBatch]
    reserved: np.ndarray  # orders already reviewed by an injected review
    extra_ips: list[str]
    extra_devices: list[str]
    fake_users: int  # accounts without orders: user indices users.n .. users.n + fake_users - 1


class _Fakes:
    """Valid-looking order ids that do not exist, and accounts that never ordered."""

    def __init__(self, users: Users):
        self.base = users.n
        self.orders = 0
        self.users = 0

    def order_ids(self, created: np.ndarray) -> np.ndarray:
        out = []
        for t in created:
            self.orders += 1
            day = np.datetime64("1970-01-01") + np.timedelta64(int(t // DAY) - 2, "D")
            # real ids number orders of a day from 000001; 9xxxxx is never reached
            out.append(f"O{str(day).replace('-', '')}9{self.orders:05d}")
        return np.array(out, dtype=object)

    def user(self, n: int) -> np.ndarray:
        start = self.users
        self.users += n
        return self.base + np.arange(start, start + n)


def inject_reviews(rng, cfg, tl: Timeline, world: World, orders: Orders, users: Users,
                   latest: np.ndarray) -> ReviewInjection:
    """GOV-06 (unverifiable), GOV-07 (manipulation) and GOV-09 (complaint handling).

    Injected reviews are all delivered (created before the last complete reviews
    partition ends) and never touch diamond or delisted clinics.
    """
    clinics = world.clinics
    rate = cfg.violation_rate
    ok_clinic = (clinics.tier != TIER_DIAMOND) & (clinics.delisted_day < 0)
    candidates = reviewable(orders, latest, tl)
    candidates = candidates[ok_clinic[orders.clinic[candidates]]]
    end = tl.reviews_loaded_end
    done = orders.t[:, COMPLETED]
    pool = _Pool(rng, candidates, groups=orders.clinic)
    batches: list[ReviewBatch] = []
    reserved: list[np.ndarray] = []
    fakes = _Fakes(users)

    def add_real(kind, taint, chosen, created, **extra):
        """Reviews of real orders (by their buyer unless `user` is given)."""
        chosen = np.asarray(chosen, dtype=np.int64)
        n = len(chosen)
        created = np.asarray(created, dtype=np.int64)
        reserved.append(chosen)
        scores = extra.pop("scores", np.full((n, 5), 5, np.int64))
        complaint = extra.pop("complaint", np.zeros(n, bool))
        ctype = extra.pop("ctype", np.full(n, -1, np.int64))
        user = extra.pop("user", orders.user[chosen])
        text = extra.pop("text", None)
        if text is None:
            text = texts_for(rng, world, orders, chosen,
                             np.maximum(created, done[chosen] + DAY), scores, complaint, ctype)
        batches.append(batch(
            n, order=chosen, user=user, clinic=orders.clinic[chosen], created=created,
            scores=scores, complaint=complaint, ctype=ctype, text=text,
            taint=np.full(n, taint), kind=np.full(n, kind, dtype=object),
            photo=rng.integers(0, 4, n), **extra,
        ))

    def within(days: float):
        """Completed at least `days` before the end of the delivered reviews."""
        return lambda o: done[o] + days * DAY < end

    k06 = per_kind(rate, cfg.reviews, 6)
    # GOV-06: the review names an order that does not exist (but looks valid).
    chosen = pool.take(within(2), k06)
    created = _between(rng, done[chosen] + DAY, np.minimum(done[chosen] + 20 * DAY, end))
    batches.append(_fake_order_batch(rng, world, fakes, created, T06, "order_unknown",
                                     clinic=orders.clinic[chosen], user=orders.user[chosen]))
    # GOV-06: a review of another buyer's order.
    chosen = pool.take(within(2), k06)
    others = np.roll(orders.user[chosen], 1)
    same = others == orders.user[chosen]
    others[same] = fakes.user(int(same.sum()))
    add_real("order_of_other_user", T06, chosen,
             _between(rng, done[chosen] + DAY, np.minimum(done[chosen] + 20 * DAY, end)),
             user=others)
    # GOV-06: a review of a refunded order, by its buyer.
    refunded = np.flatnonzero((latest == REFUNDED) & (orders.sac == SAC_NONE)
                              & ok_clinic[orders.clinic]
                              & (orders.t[:, REFUNDED] + 2 * DAY < end))
    chosen = refunded[rng.permutation(len(refunded))[:k06]]
    t_refund = orders.t[chosen, REFUNDED]
    n = len(chosen)
    scores = np.clip(np.rint(rng.normal(4.0, 0.8, (n, 5))), 1, 5).astype(np.int64)
    add_real("order_not_completed", T06, chosen,
             _between(rng, t_refund + 3600, np.minimum(t_refund + 10 * DAY, end)),
             scores=scores, text=_order_texts(rng, orders, chosen, scores))
    # GOV-06: written before the procedure.
    chosen = pool.take(lambda o: done[o] - orders.t[o, PAID] > 4 * 3600, k06)
    add_real("written_before_completion", T06, chosen,
             _between(rng, np.maximum(done[chosen] - 2 * DAY, orders.t[chosen, PAID] + 3600),
                      done[chosen] - 60))
    # GOV-06: written a day or more after the review window closed.
    chosen = pool.take(within(REVIEW_WINDOW_DAYS + 2), k06)
    add_real("written_after_review_window", T06, chosen,
             _between(rng, done[chosen] + (REVIEW_WINDOW_DAYS + 1) * DAY,
                      np.minimum(done[chosen] + (REVIEW_WINDOW_DAYS + 60) * DAY, end)))
    # GOV-06: no receipt uploaded.
    chosen = pool.take(within(2), k06)
    add_real("no_receipt", T06, chosen,
             _between(rng, done[chosen] + DAY, np.minimum(done[chosen] + 20 * DAY, end)),
             receipt=np.zeros(len(chosen), np.int64))

    # GOV-07 near-identical bursts: the rule's minimum to two more reviews at one clinic within
    # a few hours (well inside the burst window),
    # half by real buyers of the clinic where possible, the rest by fresh accounts.
    per_clinic = np.bincount(orders.clinic[candidates], minlength=clinics.n)
    busy = np.flatnonzero(ok_clinic & (per_clinic >= 1))
    burst_clinics = _spread(rng, busy, per_kind(rate, cfg.reviews, 2 * 6))
    bases = _burst_texts(rng, world, burst_clinics)
    user_taken = np.zeros(users.n, dtype=bool)
    for chosen in reserved:
        user_taken[orders.user[chosen]] = True
    real_rows: list[tuple[int, int, str]] = []  # (order, created, text)
    fake_rows: list[tuple[int, int, str]] = []  # (clinic, created, text)
    for c, base in zip(burst_clinics, bases, strict=True):
        size = int(rng.integers(BURST_MIN_REVIEWS, BURST_MIN_REVIEWS + 3))
        t0 = int(rng.integers(tl.start * DAY + 40 * DAY, end - 2 * DAY))
        times = np.sort(t0 + rng.integers(0, 5 * 3600, size))
        texts = burst_variants(base, size, rng)
        buyers = _distinct_buyers(pool.take_in(int(c), _bought_at(orders, done, c, t0),
                                               size // 2), orders)
        k = len(buyers)
        real_rows += [(int(o), int(t), x) for o, t, x in zip(buyers, times, texts, strict=False)]
        fake_rows += [(int(c), int(t), x) for t, x in zip(times[k:], texts[k:], strict=True)]
    if real_rows:
        chosen = np.array([r[0] for r in real_rows], dtype=np.int64)
        add_real("near_identical_burst", T07, chosen, [r[1] for r in real_rows],
                 text=pl.Series([r[2] for r in real_rows], dtype=pl.String))
        user_taken[orders.user[chosen]] = True
    batches.append(_fake_order_batch(
        rng, world, fakes, [r[1] for r in fake_rows], T06 | T07, "near_identical_burst",
        clinic=[r[0] for r in fake_rows], texts=[r[2] for r in fake_rows]))

    # GOV-07 shared IP: the rule's minimum or one more different users, one IP (and device),
    # one clinic, within 3 days (inside the shared-IP window).
    extra_ips: list[str] = []
    extra_devices: list[str] = []
    ip_salt = salt_for(cfg.seed, "shared-ip")
    real_rows, fake_rows = [], []
    for g, c in enumerate(_spread(rng, busy, per_kind(rate, cfg.reviews, 2 * 3.5))):
        size = int(rng.integers(SHARED_IP_MIN_USERS, SHARED_IP_MIN_USERS + 2))
        t0 = int(rng.integers(tl.start * DAY + 40 * DAY, end - 4 * DAY))
        times = np.sort(t0 + rng.integers(0, 3 * DAY, size))
        h = splitmix64(np.array([g], dtype=np.uint64), ip_salt)
        v = int(h[0])
        extra_ips.append(f"{v % 100 + 110}.{(v >> 8) % 256}.{(v >> 16) % 256}."
                         f"{(v >> 24) % 250 + 2}")
        extra_devices.append(uuid_strings(h, splitmix64(h, ip_salt))[0])
        shared = len(extra_ips) - 1
        bought = _bought_at(orders, done, c, t0)
        buyers = _distinct_buyers(pool.take_in(
            int(c), lambda o, bought=bought: bought(o) & ~user_taken[orders.user[o]], size),
            orders)
        user_taken[orders.user[buyers]] = True
        k = len(buyers)
        real_rows += [(int(o), int(t), shared) for o, t in zip(buyers, times, strict=False)]
        fake_rows += [(int(c), int(t), shared) for t in times[k:]]
    if real_rows:
        chosen = np.array([r[0] for r in real_rows], dtype=np.int64)
        created = np.array([r[1] for r in real_rows], dtype=np.int64)
        shared = np.array([r[2] for r in real_rows], dtype=np.int64)
        add_real("shared_ip_group", T07, chosen, created, ip=shared, device=shared)
    shared = np.array([r[2] for r in fake_rows], dtype=np.int64)
    batches.append(_fake_order_batch(
        rng, world, fakes, [r[1] for r in fake_rows], T06 | T07, "shared_ip_group",
        clinic=[r[0] for r in fake_rows], ip=shared, device=shared))

    # GOV-09: complaints answered after the deadline, and complaints never answered
    # (created more than the deadline before the end of the run date).
    k09 = per_kind(rate, cfg.reviews, 8, minimum=3)
    chosen = pool.take(within(8), k09)
    created = _between(rng, done[chosen] + DAY,
                       np.minimum(done[chosen] + 20 * DAY, end - 6 * DAY))
    reply = created + rng.integers(REPLY_WITHIN_S + 3600, REPLY_WITHIN_S + 72 * 3600, len(chosen))
    _complaints(rng, add_real, chosen, created, "reply_after_deadline", reply=reply)
    last = min(end, tl.end - REPLY_WITHIN_S) - 3600
    chosen = pool.take(lambda o: done[o] + 2 * DAY < last, k09)
    created = _between(rng, done[chosen] + DAY, np.minimum(done[chosen] + 30 * DAY, last))
    _complaints(rng, add_real, chosen, created, "no_reply")

    return ReviewInjection(
        batches=batches,
        reserved=np.concatenate(reserved) if reserved else np.zeros(0, np.int64),
        extra_ips=extra_ips, extra_devices=extra_devices, fake_users=fakes.users)


def _bought_at(orders: Orders, done: np.ndarray, clinic: int, t0: int):
    """Orders of a clinic completed 1..55 days before t0 (so a review at t0 is verified)."""
    return lambda o: (orders.clinic[o] == clinic) & (done[o] > t0 - 55 * DAY) & (
        done[o] < t0 - DAY)


def _distinct_buyers(chosen: np.ndarray, orders: Orders) -> np.ndarray:
    _, first = np.unique(orders.user[chosen], return_index=True)
    return chosen[np.sort(first)]


def _spread(rng, clinics: np.ndarray, k: int) -> np.ndarray:
    """k clinics, distinct while there are enough."""
    shuffled = clinics[rng.permutation(len(clinics))]
    if len(shuffled) >= k:
        return shuffled[:k]
    return np.concatenate([shuffled, rng.choice(clinics, size=k - len(shuffled))])


def _complaints(rng, add_real, chosen, created, kind, reply=None):
    n = len(chosen)
    scores = np.clip(np.rint(rng.normal(2.0, 0.7, (n, 5))), 1, 5).astype(np.int64)
    extra = {"reply": reply} if reply is not None else {}
    add_real(kind, T09, chosen, created, scores=scores, complaint=np.ones(n, bool),
             ctype=rng.choice(5, size=n), **extra)


def _order_texts(rng, orders: Orders, chosen: np.ndarray, scores: np.ndarray) -> pl.Series:
    """Texts for reviews of orders that were never performed (no doctor, no days)."""
    n = len(chosen)
    proc_names = np.array([p.name for p in PROCEDURES], dtype=object)
    return review_texts(rng, np.where(scores.mean(axis=1) >= 3.8, 0, 1), np.full(n, -1),
                        pl.Series(proc_names[orders.proc[chosen]], dtype=pl.String),
                        pl.Series(["主刀"] * n, dtype=pl.String), rng.integers(1, 5, n),
                        orders.paid_cents[chosen] // 100)


def _fake_order_batch(rng, world: World, fakes: _Fakes, created, taint, kind, clinic,
                      user=None, texts=None, ip=None, device=None) -> ReviewBatch:
    """Reviews naming orders that do not exist, by the given users or by fresh accounts."""
    created = np.asarray(created, dtype=np.int64)
    n = len(created)
    clinic = np.asarray(clinic, dtype=np.int64)
    if user is None:
        user = fakes.user(n)
    text = _free_texts(rng, world, clinic) if texts is None else pl.Series(
        list(texts), dtype=pl.String)
    values = dict(
        order=np.full(n, -1, np.int64), fake_order_id=fakes.order_ids(created), user=user,
        clinic=clinic, created=created, text=text, taint=np.full(n, taint),
        kind=np.full(n, kind, dtype=object), photo=rng.integers(0, 3, n),
    )
    if ip is not None:
        values.update(ip=ip, device=device)
    return batch(n, **values)


def _free_texts(rng, world: World, clinic: np.ndarray) -> pl.Series:
    """Glowing texts about something the clinic sells (no order behind them)."""
    n = len(clinic)
    proc_names = np.array([p.name for p in PROCEDURES], dtype=object)
    menu = world.clinics.menu[clinic]
    proc = np.argmax(menu * rng.random(menu.shape), axis=1)
    lo = np.array([p.price[0] for p in PROCEDURES])[proc]
    return review_texts(rng, np.zeros(n, np.int64), np.full(n, -1),
                        pl.Series(proc_names[proc], dtype=pl.String),
                        pl.Series([person_name(rng)[0] for _ in range(n)], dtype=pl.String),
                        rng.integers(2, 30, n), lo + rng.integers(0, 3000, n))


def _burst_texts(rng, world: World, clinics: np.ndarray) -> list[str]:
    """One glowing text per burst, long enough (>= 40 letters) that a one-character edit
    stays near-identical under any reading of GOV-07's similarity bar."""
    tries = 4
    drafts = _free_texts(rng, world, np.repeat(clinics, tries)).to_list()
    out = []
    for b in range(len(clinics)):
        options = drafts[b * tries:(b + 1) * tries]
        long = [t for t in options if len(normalise(t)) >= 40]
        out.append(long[0] if long else "".join(options))
    return out


def _between(rng, lo, hi) -> np.ndarray:
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.maximum(np.asarray(hi, dtype=np.int64), lo + 1)
    return lo + (rng.random(len(lo)) * (hi - lo)).astype(np.int64)
