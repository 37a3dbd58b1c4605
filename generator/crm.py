"""The platform CRM: clinics and doctors, plus their clean registry counterparts.

Clinics and doctors are built with plain Python loops (tens of thousands at most)
and kept columnar (lists and numpy arrays indexed by clinic / doctor number) so
that the order generator can look them up vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generator.config import DAY, Timeline, date_of
from generator.reference import (
    BUILDINGS,
    CITIES,
    CLINIC_BRANDS,
    CLINIC_TYPE_WEIGHTS,
    CLINIC_TYPES,
    DEPARTMENTS,
    DEPT_DENT,
    DEPT_DERM,
    DEPT_SURG,
    DEPT_TCM,
    DEVICE_SERIAL_PREFIX,
    ENERGY_PROCS,
    GIVEN_CHARS,
    HOSPITAL_BRANDS,
    PROCEDURES,
    SCOPE_AESTHETIC,
    SCOPE_CATEGORY,
    SCOPE_DENTAL,
    SCOPE_DERM,
    SCOPE_ENT,
    SCOPE_PERMITS,
    SCOPE_SURGERY,
    SCOPE_TCM,
    SURNAMES,
    TITLES,
    City,
)
from generator.registry import Institution, Practitioner, Product, Registry
from generator.util import largest_remainder
from quality.rules import RULE_BY_ID, parameter

TIER_NONE, TIER_SELECTED, TIER_DIAMOND = 0, 1, 2
TIERS = ("none", "selected", "diamond")
# the diamond (美钻) bar: GOV-18's parameters in the rule catalogue
BAR = RULE_BY_ID["GOV-18"].parameters
T_HOSPITAL, T_OUTPATIENT, T_CLINIC, T_GENERAL = range(4)
# grade of each procedure, 0 when ungraded
GRADES = np.array([p.grade or 0 for p in PROCEDURES])


def grade_cap(clinic_type: int) -> int:
    """The highest procedure grade a clinic type may perform (GOV-14, the rule catalogue)."""
    return parameter("GOV-14", "grade_caps")[CLINIC_TYPES[clinic_type]]

_FULL_WIDTH = {c: chr(ord(c) + 0xFEE0) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


@dataclass
class Clinics:
    n: int
    clinic_id: list[str]
    name: list[str]
    license_no: list[str]
    city: np.ndarray  # index into World.cities
    district: list[str]
    address: list[str]
    clinic_type: np.ndarray
    depts: np.ndarray  # (n, 4) bool: departments the clinic declares and sells
    tier: np.ndarray  # what the clinic earns: orders, reviews and doctors follow it
    joined_day: np.ndarray
    updated_s: np.ndarray  # CRM updated_at while nothing changes
    delisted_day: np.ndarray  # -1 when active
    popularity: np.ndarray
    quality: np.ndarray  # mean review score
    menu: np.ndarray  # (n, 13) procedure weights (0 = not sold)
    device_product: np.ndarray  # (n, 13) registry product index of the energy device, -1
    device_serial: np.ndarray  # (n, 13) index into World.serials, -1
    registry_name: list[str]  # how the licence registry spells the name (clean variants)
    label: np.ndarray | None = None  # the tier the CRM shows (GOV-18 plants unearned ones)


@dataclass
class Doctors:
    n: int
    doctor_id: list[str]
    clinic: np.ndarray
    name: list[str]
    license_no: list[str]
    title: list[str]
    years: np.ndarray
    case_base: np.ndarray
    case_growth: np.ndarray  # cases added per month of history
    chief_consultant: np.ndarray
    scope: list[str]
    is_chief: np.ndarray  # 美容主诊医师
    chief_specialty: np.ndarray  # dept index, -1
    qualified: np.ndarray  # (n, 4) bool, derived from scope / chief specialty


@dataclass
class World:
    cities: tuple[City, ...]
    clinics: Clinics
    doctors: Doctors
    registry: Registry
    serials: list[str]
    # qualified doctors per (clinic, dept): doctor indices flat[off[c, d]: off[c, d] + cnt[c, d]]
    qual_flat: np.ndarray
    qual_off: np.ndarray
    qual_cnt: np.ndarray


def person_name(rng: np.random.Generator) -> str:
    surname = SURNAMES[int(rng.integers(len(SURNAMES)))]
    given_len = 1 if rng.random() < 0.3 else 2
    given = "".join(GIVEN_CHARS[int(rng.integers(len(GIVEN_CHARS)))] for _ in range(given_len))
    return surname + given


def _departments(rng: np.random.Generator, clinic_type: int) -> list[int]:
    r = rng.random()
    if clinic_type == T_HOSPITAL:
        depts = [DEPT_SURG, DEPT_DERM]
        if rng.random() < 0.4:
            depts.append(DEPT_DENT)
        if rng.random() < 0.3:
            depts.append(DEPT_TCM)
    elif clinic_type == T_OUTPATIENT:
        depts = [DEPT_SURG, DEPT_DERM] if r < 0.75 else [DEPT_DERM]
        if rng.random() < 0.2:
            depts.append(DEPT_DENT)
        if rng.random() < 0.15:
            depts.append(DEPT_TCM)
    elif clinic_type == T_CLINIC:
        if r < 0.55:
            depts = [DEPT_DERM]
        elif r < 0.85:
            depts = [DEPT_SURG, DEPT_DERM]
        elif r < 0.93:
            depts = [DEPT_DENT]
        else:
            depts = [DEPT_DERM, DEPT_TCM]
    else:
        depts = [DEPT_SURG, DEPT_DERM]
        if rng.random() < 0.3:
            depts.append(DEPT_TCM)
        if rng.random() < 0.3:
            depts.append(DEPT_DENT)
    return sorted(depts)


def _menu(rng: np.random.Generator, clinic_type: int, depts: list[int]) -> np.ndarray:
    weights = np.array([p.weight for p in PROCEDURES])
    sold = np.array([p.dept in depts for p in PROCEDURES])
    factor = np.ones(len(PROCEDURES))
    surgical = np.array([p.category == "surgical" for p in PROCEDURES])
    if clinic_type == T_HOSPITAL:
        factor[surgical] = 1.8
    elif clinic_type == T_GENERAL:
        factor[surgical] = 1.3
    elif clinic_type == T_CLINIC:
        factor[0] = 0.6
    # a clinic sells only the grades its type may perform (GOV-14 is injected, never accidental)
    factor[GRADES > grade_cap(clinic_type)] = 0.0
    noise = rng.lognormal(0.0, 0.35, len(PROCEDURES))
    menu = weights * sold * factor * noise
    # Not every dermatology clinic owns every energy device.
    for p in ENERGY_PROCS:
        if menu[p] > 0 and rng.random() < 0.2:
            menu[p] = 0.0
    if menu.sum() == 0:  # pragma: no cover - every department has an unrestricted procedure
        menu = weights * sold
    return menu


def build_world(rng: np.random.Generator, cfg, tl: Timeline, products: list[Product]) -> World:
    cities = CITIES[: min(cfg.cities, cfg.clinics)]
    n = cfg.clinics
    per_city = largest_remainder(n, np.array([c.weight for c in cities]), minimum=1)
    city_of = np.repeat(np.arange(len(cities)), per_city)
    rng.shuffle(city_of)

    clinic_type = rng.choice(len(CLINIC_TYPES), size=n, p=np.array(CLINIC_TYPE_WEIGHTS))
    depts = np.zeros((n, 4), dtype=bool)
    menus = np.zeros((n, len(PROCEDURES)))
    for c in range(n):
        chosen = _departments(rng, int(clinic_type[c]))
        depts[c, chosen] = True
        menus[c] = _menu(rng, int(clinic_type[c]), chosen)

    # Tiers: ~1% diamond (at least one), ~20% selected; diamonds are full-service
    # hospitals or outpatient departments in the bigger markets.
    tier = np.zeros(n, dtype=np.int8)
    full_service = np.flatnonzero(
        np.isin(clinic_type, (T_HOSPITAL, T_OUTPATIENT)) & depts[:, DEPT_SURG] & depts[:, DEPT_DERM]
    )
    if len(full_service) == 0:
        full_service = np.arange(n)
    n_diamond = max(1, round(0.01 * n))
    w = np.array([cities[city_of[c]].weight for c in full_service])
    diamonds = rng.choice(full_service, size=min(n_diamond, len(full_service)), replace=False,
                          p=w / w.sum())
    tier[diamonds] = TIER_DIAMOND
    rest = np.flatnonzero(tier == TIER_NONE)
    tier[rng.choice(rest, size=round(0.2 * n), replace=False)] = TIER_SELECTED

    joined = tl.start - rng.integers(30, 2000, size=n)
    updated_s = joined * DAY + rng.integers(9 * 3600, 19 * 3600, size=n)
    # A few clinics leave the platform during the last two thirds of the history.
    delisted = np.full(n, -1, dtype=np.int64)
    candidates = np.flatnonzero(tier == TIER_NONE)
    n_delisted = max(2, round(0.015 * n))
    gone = rng.choice(candidates, size=n_delisted, replace=False)
    delisted[gone] = rng.integers(tl.start + (tl.n_days // 3), tl.as_of - 10, size=n_delisted)

    popularity = rng.lognormal(0.0, 0.7, n)
    popularity *= np.array([1.0, 1.8, 3.5])[tier]
    popularity *= np.array([1.8, 1.2, 0.7, 0.9])[clinic_type]
    popularity *= np.array([cities[c].weight for c in city_of]) ** 0.3
    quality = np.clip(rng.normal(4.35, 0.2, n), 3.8, 4.7)
    quality[tier == TIER_SELECTED] += 0.15
    quality[tier == TIER_DIAMOND] = 4.85

    names, registry_names, licences, districts, addresses, clinic_ids = [], [], [], [], [], []
    used_names: set[str] = set()
    used_licences: set[str] = set()
    for c in range(n):
        city = cities[city_of[c]]
        district = city.districts[int(rng.integers(len(city.districts)))]
        street = city.streets[int(rng.integers(len(city.streets)))]
        address = f"{district}{street}{int(rng.integers(1, 400))}号"
        if rng.random() < 0.6:
            address += f"{BUILDINGS[int(rng.integers(len(BUILDINGS)))]}{int(rng.integers(2, 30))}楼"
        name = _clinic_name(rng, city, district, int(clinic_type[c]), used_names)
        used_names.add(name)
        registry_name = name
        variant = rng.random()
        if variant < 0.04 and any(ch in _FULL_WIDTH for ch in name):
            # Same name spelt with full-width letters: equal after normalisation.
            registry_name = "".join(_FULL_WIDTH.get(ch, ch) for ch in name)
        elif variant < 0.07:
            registry_name = name[: len(city.name)] + " " + name[len(city.name):]
        while True:
            licence = (
                f"{'PDY' if clinic_type[c] != T_GENERAL else 'MB'}"
                f"{int(rng.integers(10_000, 100_000))}{city.admin_code}"
                f"{int(rng.integers(11, 18))}A{int(rng.integers(1000, 10_000))}"
            )
            if licence not in used_licences:
                used_licences.add(licence)
                break
        names.append(name)
        registry_names.append(registry_name)
        licences.append(licence)
        districts.append(district)
        addresses.append(address)
        clinic_ids.append(f"C{c + 1:06d}")

    clinics = Clinics(
        n=n, clinic_id=clinic_ids, name=names, license_no=licences, city=city_of,
        district=districts, address=addresses, clinic_type=clinic_type, depts=depts, tier=tier,
        label=tier.copy(),
        joined_day=joined, updated_s=updated_s, delisted_day=delisted, popularity=popularity,
        quality=quality, menu=menus,
        device_product=np.full((n, len(PROCEDURES)), -1, dtype=np.int64),
        device_serial=np.full((n, len(PROCEDURES)), -1, dtype=np.int64),
        registry_name=registry_names,
    )
    serials = _equip_devices(rng, clinics, products)
    doctors = _build_doctors(rng, cfg, tl, clinics, cities)
    registry = Registry(products=products)
    _register_clean(rng, tl, clinics, doctors, cities, registry)
    flat, off, cnt = _qualified_index(clinics, doctors)
    return World(cities=cities, clinics=clinics, doctors=doctors, registry=registry,
                 serials=serials, qual_flat=flat, qual_off=off, qual_cnt=cnt)


_BRAND_TAILS = ("", "", "", "荟", "汇", "坊", "轩", "苑", "堂", "阁")


def _clinic_name(rng, city: City, district: str, clinic_type: int, used: set[str]) -> str:
    """City + brand + type, e.g. 成都悦颜医疗美容门诊部; branches carry their district."""
    suffix = ("医疗美容医院", "医疗美容门诊部", "医疗美容诊所", "医院医疗美容科")[clinic_type]
    if clinic_type == T_GENERAL:
        brand = HOSPITAL_BRANDS[int(rng.integers(len(HOSPITAL_BRANDS)))]
    else:
        brand = CLINIC_BRANDS[int(rng.integers(len(CLINIC_BRANDS)))]
        tail = _BRAND_TAILS[int(rng.integers(len(_BRAND_TAILS)))]
        if not brand.isascii() and not any(c.isascii() for c in brand):
            brand += tail
    short = district[:-1] if len(district) > 2 else district
    candidates = [f"{city.name}{brand}{suffix}", f"{city.name}{brand}{short}{suffix}"]
    for candidate in candidates:
        if candidate not in used:
            return candidate
    k = 2
    while f"{city.name}{brand}{short}{k}{suffix}" in used:
        k += 1
    return f"{city.name}{brand}{short}{k}{suffix}"


def _equip_devices(rng, clinics: Clinics, products: list[Product]) -> list[str]:
    serials: list[str] = []
    for p in ENERGY_PROCS:
        category = PROCEDURES[p].product_category
        options = [i for i, prod in enumerate(products)
                   if prod.category == category and prod.usable]
        prefix = DEVICE_SERIAL_PREFIX[PROCEDURES[p].code]
        for c in np.flatnonzero(clinics.menu[:, p] > 0):
            clinics.device_product[c, p] = options[int(rng.integers(len(options)))]
            clinics.device_serial[c, p] = len(serials)
            serials.append(f"{prefix}{int(rng.integers(15, 24))}{len(serials) + 1:06d}"
                           f"{'ABCDEFGHJK'[int(rng.integers(10))]}")
    return serials


def _doctor_role_scope(rng, role: int) -> tuple[str, int]:
    """(执业范围, 主诊专业 forced or -1) for a doctor who practises in department `role`."""
    r = rng.random()
    if role == DEPT_SURG:
        if r < 0.6:
            return SCOPE_SURGERY, -1
        if r < 0.85:
            return SCOPE_AESTHETIC, -1
        return SCOPE_ENT, DEPT_SURG  # an ENT doctor qualified as chief aesthetic surgeon
    if role == DEPT_DERM:
        if r < 0.55:
            return SCOPE_DERM, -1
        if r < 0.9:
            return SCOPE_AESTHETIC, -1
        return SCOPE_SURGERY, DEPT_DERM  # a surgeon qualified as chief in dermatology
    if role == DEPT_DENT:
        return SCOPE_DENTAL, -1
    return SCOPE_TCM, -1


def _title(rng, years: int) -> str:
    r = rng.random()
    if years >= 20:
        return TITLES[0] if r < 0.6 else TITLES[1]
    if years >= 12:
        return TITLES[1] if r < 0.5 else TITLES[2]
    if years >= 5:
        return TITLES[2] if r < 0.7 else TITLES[3]
    return TITLES[3]


def _build_doctors(rng, cfg, tl: Timeline, clinics: Clinics, cities) -> Doctors:
    rows: list[dict] = []
    for c in range(clinics.n):
        depts = list(np.flatnonzero(clinics.depts[c]))
        count = max(len(depts), int(rng.poisson(max(cfg.doctors_per_clinic - 1, 0))) + 1)
        roles = list(depts)
        fill = np.array([0.45 if d in (DEPT_SURG, DEPT_DERM) else 0.05 for d in depts])
        while len(roles) < count:
            roles.append(depts[int(rng.choice(len(depts), p=fill / fill.sum()))])
        diamond = clinics.tier[c] == TIER_DIAMOND
        first = len(rows)
        for role in roles:
            scope, forced = _doctor_role_scope(rng, int(role))
            years = int(np.clip(2 + rng.gamma(2.0, 4.5), 2, 35))
            if diamond:  # above the bar's average years
                years = max(years, BAR["min_avg_years_experience"] + int(rng.integers(1, 9)))
            title = _title(rng, years)
            is_chief = forced >= 0 or (years >= 6 and title != TITLES[3] and rng.random() < 0.6)
            specialty = forced if forced >= 0 else (int(role) if is_chief else -1)
            if forced >= 0:
                years = max(years, 6)
            rows.append(dict(
                clinic=c, role=int(role), scope=scope, years=years, title=title, is_chief=is_chief,
                specialty=specialty, case_base=int(years * rng.uniform(60, 260)),
                growth=int(rng.integers(5, 40)), name=person_name(rng),
            ))
        # The most experienced doctor is the clinic's chief consultant.
        clinic_rows = rows[first:]
        senior = max(range(len(clinic_rows)), key=lambda i: (clinic_rows[i]["years"], -i))
        for i, row in enumerate(clinic_rows):
            row["chief_consultant"] = i == senior
        # ... and is registered as a 美容主诊医师 (GOV-17), for the department of its role
        if not clinic_rows[senior]["is_chief"]:
            clinic_rows[senior].update(is_chief=True, specialty=clinic_rows[senior]["role"])
        if diamond:
            # Meet the 美钻 bar (GOV-18): a chief with its years and cases, with room to spare.
            chief = clinic_rows[senior]
            chief["years"] = max(chief["years"],
                                 BAR["chief_consultant_min_years"] + int(rng.integers(1, 11)))
            chief["title"] = TITLES[0]
            chief["case_base"] = max(chief["case_base"],
                                     BAR["min_doctor_cases"] + int(rng.integers(200, 7000)))
    n = len(rows)
    used: set[str] = set()
    licences = []
    for row in rows:
        city = cities[clinics.city[row["clinic"]]]
        first_year = (date_of(tl.start).year - row["years"]) % 100
        while True:
            licence = f"1{first_year:02d}{city.admin_code}{int(rng.integers(0, 1_000_000)):06d}"
            if licence not in used:
                used.add(licence)
                break
        licences.append(licence)
    qualified = np.zeros((n, 4), dtype=bool)
    for i, row in enumerate(rows):
        for d in SCOPE_PERMITS[row["scope"]]:
            qualified[i, d] = True
        if row["is_chief"] and row["specialty"] >= 0:
            qualified[i, row["specialty"]] = True
    return Doctors(
        n=n,
        doctor_id=[f"D{i + 1:07d}" for i in range(n)],
        clinic=np.array([r["clinic"] for r in rows], dtype=np.int64),
        name=[r["name"] for r in rows],
        license_no=licences,
        title=[r["title"] for r in rows],
        years=np.array([r["years"] for r in rows], dtype=np.int64),
        case_base=np.array([r["case_base"] for r in rows], dtype=np.int64),
        case_growth=np.array([r["growth"] for r in rows], dtype=np.int64),
        chief_consultant=np.array([r["chief_consultant"] for r in rows]),
        scope=[r["scope"] for r in rows],
        is_chief=np.array([r["is_chief"] for r in rows]),
        chief_specialty=np.array([r["specialty"] for r in rows], dtype=np.int64),
        qualified=qualified,
    )


def _register_clean(rng, tl: Timeline, clinics: Clinics, doctors: Doctors, cities,
                    registry: Registry) -> None:
    """Every clinic licensed, every doctor registered: the clean starting point."""
    for c in range(clinics.n):
        depts = ["医疗美容科"] + [DEPARTMENTS[d] for d in np.flatnonzero(clinics.depts[c])]
        valid_from = min(int(clinics.joined_day[c]) - int(rng.integers(30, 900)), tl.start - 30)
        years = 15 if clinics.clinic_type[c] in (T_HOSPITAL, T_GENERAL) else 5
        valid_to = valid_from + years * 365
        while valid_to < tl.as_of + 60:  # renewed before expiry
            valid_to += 5 * 365
        registry.institutions.append(Institution(
            license_no=clinics.license_no[c], name=clinics.registry_name[c],
            city=cities[clinics.city[c]].name, address=cities[clinics.city[c]].name + "市"
            + clinics.address[c], departments=depts, valid_from=valid_from, valid_to=valid_to,
            updated_on=min(valid_from + int(rng.integers(0, 400)), tl.start - 1),
        ))
    # Institutions that are licensed but not on the platform (public hospitals).
    for i in range(max(3, clinics.n // 4)):
        city = cities[i % len(cities)]
        valid_from = tl.start - int(rng.integers(100, 3000))
        registry.institutions.append(Institution(
            license_no=f"PDY{int(rng.integers(10_000, 100_000))}{city.admin_code}"
                       f"{int(rng.integers(11, 18))}B{i + 1:04d}",
            name=f"{city.name}市第{i // len(cities) + 1}人民医院",
            city=city.name,
            address=f"{city.name}市{city.districts[i % len(city.districts)]}"
                    f"{city.streets[i % len(city.streets)]}{int(rng.integers(1, 300))}号",
            departments=["内科", "外科", "皮肤科", "医疗美容科", "美容外科", "美容皮肤科"],
            valid_from=valid_from, valid_to=valid_from + 15 * 365 + 3650,
            updated_on=valid_from + 10,
        ))
    for d in range(doctors.n):
        c = int(doctors.clinic[d])
        specialty = int(doctors.chief_specialty[d])
        registry.practitioners.append(Practitioner(
            license_no=doctors.license_no[d], name=doctors.name[d],
            category=SCOPE_CATEGORY[doctors.scope[d]], scope=doctors.scope[d],
            institution_license_no=clinics.license_no[c], is_chief=bool(doctors.is_chief[d]),
            chief_specialty=DEPARTMENTS[specialty] if doctors.is_chief[d] else "",
            updated_on=tl.start - int(rng.integers(1, 1500)),
        ))
    # Registered physicians who are not on the platform.
    hospital_licences = [i.license_no for i in registry.institutions[clinics.n:]]
    scopes = (SCOPE_SURGERY, SCOPE_DERM, SCOPE_AESTHETIC, SCOPE_DENTAL, SCOPE_TCM, SCOPE_ENT)
    used = {p.license_no for p in registry.practitioners}
    for _ in range(max(5, doctors.n // 5)):
        scope = scopes[int(rng.integers(len(scopes)))]
        while True:
            licence = f"1{int(rng.integers(0, 100)):02d}{int(rng.integers(110000, 660000))}" \
                      f"{int(rng.integers(0, 1_000_000)):06d}"
            if licence not in used:
                used.add(licence)
                break
        registry.practitioners.append(Practitioner(
            license_no=licence, name=person_name(rng), category=SCOPE_CATEGORY[scope],
            scope=scope,
            institution_license_no=hospital_licences[int(rng.integers(len(hospital_licences)))],
            is_chief=False, chief_specialty="", updated_on=tl.start - int(rng.integers(1, 2000)),
        ))


def _qualified_index(clinics: Clinics, doctors: Doctors):
    """Flat lookup of the doctors of each clinic qualified for each department."""
    order = np.lexsort((np.arange(doctors.n), doctors.clinic))
    flat_parts = []
    off = np.zeros((clinics.n, 4), np.int64)
    cnt = np.zeros((clinics.n, 4), np.int64)
    position = 0
    by_clinic = np.split(order, np.searchsorted(doctors.clinic[order], np.arange(1, clinics.n)))
    for c, members in enumerate(by_clinic):
        for d in range(4):
            q = members[doctors.qualified[members, d]]
            off[c, d] = position
            cnt[c, d] = len(q)
            flat_parts.append(q)
            position += len(q)
    flat = np.concatenate(flat_parts) if flat_parts else np.zeros(0, np.int64)
    return flat.astype(np.int64), off, cnt


def doctor_case_count(doctors: Doctors, tl: Timeline, snapshot: int) -> tuple[np.ndarray, int]:
    """Career case counts as the CRM shows them on a snapshot day, and the update day.

    The CRM refreshes case counts on the first of each month.
    """
    snap = date_of(snapshot)
    first = date_of(tl.start)
    months = (snap.year - first.year) * 12 + snap.month - first.month
    month_start = snapshot - (snap.day - 1)
    return doctors.case_base + doctors.case_growth * max(months, 0), month_start


# --- snapshot rows as delivered -----------------------------------------------------------------

CLINIC_COLUMNS = ("clinic_id", "name", "license_no", "city", "district", "address", "clinic_type",
                  "declared_departments", "tier", "platform_status", "joined_at", "updated_at")
DOCTOR_COLUMNS = ("doctor_id", "clinic_id", "name", "practitioner_license_no", "title",
                  "years_experience", "case_count", "is_chief_consultant", "updated_at")


def clinic_frame(world: World, snapshot: int, pii_leak: dict | None = None):
    """clinics.csv of a snapshot day: every clinic that had joined, its state that day."""
    import polars as pl

    from generator.util import date_strings, ts_strings

    c = world.clinics
    gone = (c.delisted_day >= 0) & (c.delisted_day <= snapshot)
    updated = np.where(gone, c.delisted_day * DAY + 10 * 3600, c.updated_s)
    districts = list(c.district)
    if pii_leak and snapshot in pii_leak["snapshots"]:
        # the clinic edited its district the day before the first leaking snapshot
        districts[pii_leak["clinic"]] = pii_leak["district"]
        updated[pii_leak["clinic"]] = (pii_leak["snapshots"][0] - 1) * DAY + 15 * 3600
    frame = pl.DataFrame({
        "clinic_id": c.clinic_id,
        "name": c.name,
        "license_no": c.license_no,
        "city": [world.cities[i].name for i in c.city],
        "district": districts,
        "address": c.address,
        "clinic_type": [CLINIC_TYPES[t] for t in c.clinic_type],
        "declared_departments": ["|".join(DEPARTMENTS[d] for d in np.flatnonzero(row))
                                 for row in c.depts],
        "tier": [TIERS[t] for t in c.label],
        "platform_status": np.where(gone, "delisted", "active").tolist(),
        "joined_at": date_strings(c.joined_day),
        "updated_at": ts_strings(updated),
    })
    return frame.filter(pl.Series(c.joined_day <= snapshot))


def doctor_frame(world: World, tl: Timeline, snapshot: int):
    """doctors.csv of a snapshot day (case counts refreshed monthly)."""
    import polars as pl

    from generator.util import ts_strings

    d = world.doctors
    cases, month_start = doctor_case_count(d, tl, snapshot)
    updated = np.full(d.n, max(month_start, tl.start) * DAY + 3 * 3600)
    return pl.DataFrame({
        "doctor_id": d.doctor_id,
        "clinic_id": [world.clinics.clinic_id[c] for c in d.clinic],
        "name": d.name,
        "practitioner_license_no": d.license_no,
        "title": d.title,
        "years_experience": d.years,
        "case_count": cases,
        "is_chief_consultant": np.where(d.chief_consultant, "true", "false").tolist(),
        "updated_at": ts_strings(updated),
    })
