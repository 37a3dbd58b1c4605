"""The official registries (卫健委 licences, physicians; 药监局 products) as the generator
keeps them, and their snapshot rows as exported (Chinese headers, GBK).

Registry rows are plain Python records: even the large benchmark has only tens of
thousands of institutions and about a hundred thousand physicians.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import numpy as np

from generator.config import Timeline, date_of
from generator.reference import PRODUCT_TEMPLATES

INSTITUTION_HEADERS = ("登记号", "机构名称", "所在城市", "地址", "诊疗科目", "有效期起", "有效期止",
                       "状态", "更新日期")
PRACTITIONER_HEADERS = ("执业证书编码", "姓名", "执业类别", "执业范围", "主执业机构登记号",
                        "美容主诊医师", "主诊专业", "状态", "更新日期")
PRODUCT_HEADERS = ("注册证编号", "产品名称", "品牌", "类别", "注册人", "批准日期", "有效期至",
                   "状态")


@dataclass
class Institution:
    license_no: str
    name: str
    city: str
    address: str
    departments: list[str]  # 诊疗科目 entries, joined with '；'
    valid_from: int  # day numbers
    valid_to: int
    status: str = "正常"  # latest status
    status_day: int | None = None  # day the latest non-正常 status took effect
    updated_on: int = 0  # 更新日期 while 正常


@dataclass
class Practitioner:
    license_no: str
    name: str
    category: str
    scope: str
    institution_license_no: str
    is_chief: bool
    chief_specialty: str  # '' when none
    status: str = "正常"
    status_day: int | None = None
    updated_on: int = 0


@dataclass
class Product:
    registration_no: str
    name: str
    brand: str
    category: str
    registrant: str
    approved_on: int
    valid_to: int
    status: str = "有效"
    usable: bool = True  # clean orders may use it


@dataclass
class Registry:
    institutions: list[Institution] = field(default_factory=list)
    practitioners: list[Practitioner] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)

    def products_of(self, category: str) -> list[int]:
        return [i for i, p in enumerate(self.products) if p.category == category and p.usable]


def build_products(rng: np.random.Generator, tl: Timeline) -> list[Product]:
    """Registered drugs, implants and devices: valid over the whole history (clean ones)."""
    products: list[Product] = []
    seen: set[str] = set()
    for template in PRODUCT_TEMPLATES:
        for brand in template.brands:
            name = template.names[int(rng.integers(len(template.names)))]
            products.append(_product(rng, tl, template, brand, name, seen))
    return products


def _product(rng, tl, template, brand, name, seen, approved=None, valid_to=None) -> Product:
    if approved is None:
        approved = tl.start - int(rng.integers(400, 3000))
    # The registration number carries the year of approval.
    while True:
        reg = template.reg_format.format(year=date_of(approved).year,
                                         serial=int(rng.integers(1, 10_000)))
        if reg not in seen:
            seen.add(reg)
            break
    if valid_to is None:
        # Renewed registrations: valid well past the run date.
        valid_to = tl.as_of + int(rng.integers(200, 1800))
    return Product(
        registration_no=reg, name=name, brand=brand, category=template.category,
        registrant=template.registrants[int(rng.integers(len(template.registrants)))],
        approved_on=approved, valid_to=valid_to,
    )


def extra_product(rng, tl, products: list[Product], category: str, **kwargs) -> int:
    """Append one more product of a category (used by the GOV-05 injections)."""
    template = next(t for t in PRODUCT_TEMPLATES if t.category == category)
    seen = {p.registration_no for p in products}
    brand = template.brands[int(rng.integers(len(template.brands)))]
    name = template.names[int(rng.integers(len(template.names)))]
    products.append(_product(rng, tl, template, brand, name, seen, **kwargs))
    return len(products) - 1


def unregistered_number(rng, products: list[Product], category: str) -> str:
    """A registration number of the right shape that is not in the registry."""
    template = next(t for t in PRODUCT_TEMPLATES if t.category == category)
    seen = {p.registration_no for p in products}
    while True:
        year = int(rng.integers(2012, 2024))
        reg = template.reg_format.format(year=year, serial=int(rng.integers(1, 10_000)))
        if reg not in seen:
            return reg


# --- snapshot export ------------------------------------------------------------------

def _status_on(status: str, status_day: int | None, updated_on: int, snapshot: int):
    """(状态, 更新日期) as the registry exported it on `snapshot`."""
    if status != "正常" and status_day is not None and status_day <= snapshot:
        return status, status_day
    return "正常", min(updated_on, snapshot)


def _institution_row(inst: Institution, snapshot: int) -> tuple[str, ...]:
    status, updated = _status_on(inst.status, inst.status_day, inst.updated_on, snapshot)
    return (
        inst.license_no, inst.name, inst.city, inst.address, "；".join(inst.departments),
        date_of(inst.valid_from).isoformat(), date_of(inst.valid_to).isoformat(), status,
        date_of(updated).isoformat(),
    )


def _practitioner_row(p: Practitioner, snapshot: int) -> tuple[str, ...]:
    status, updated = _status_on(p.status, p.status_day, p.updated_on, snapshot)
    return (
        p.license_no, p.name, p.category, p.scope, p.institution_license_no,
        "是" if p.is_chief else "否", p.chief_specialty, status, date_of(updated).isoformat(),
    )


def _product_row(p: Product, snapshot: int) -> tuple[str, ...]:
    return (
        p.registration_no, p.name, p.brand, p.category, p.registrant,
        date_of(p.approved_on).isoformat(), date_of(p.valid_to).isoformat(), p.status,
    )


def _csv_line(row: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(row)
    return buffer.getvalue()


class RegistryExport:
    """CSV text of each registry table as exported on a snapshot day.

    Rows that never change are rendered once; only rows whose status changes
    during the history (revoked licences, suspended physicians) are re-rendered
    per snapshot. Rows are sorted by their key, so the text is deterministic.
    """

    TABLES = {
        "institutions": (INSTITUTION_HEADERS, "institutions", _institution_row),
        "practitioners": (PRACTITIONER_HEADERS, "practitioners", _practitioner_row),
        "products": (PRODUCT_HEADERS, "products", _product_row),
    }

    def __init__(self, reg: Registry, first_snapshot: int):
        self._cache: dict[str, tuple[list[object], list[str | None], str]] = {}
        for table, (headers, attr, row_fn) in self.TABLES.items():
            records = sorted(getattr(reg, attr), key=lambda r: _key(r))
            lines: list[str | None] = []
            for record in records:
                dynamic = getattr(record, "status_day", None) is not None
                lines.append(None if dynamic else _csv_line(row_fn(record, first_snapshot)))
            self._cache[table] = (records, lines, _csv_line(headers))

    def rows(self, table: str) -> int:
        return len(self._cache[table][0])

    def csv_text(self, table: str, snapshot: int) -> str:
        records, lines, header = self._cache[table]
        row_fn = self.TABLES[table][2]
        body = [
            line if line is not None else _csv_line(row_fn(record, snapshot))
            for record, line in zip(records, lines, strict=True)
        ]
        return header + "".join(body)


def _key(record) -> str:
    return getattr(record, "license_no", None) or record.registration_no
