"""Ground truth, computed from the generated data as the warehouse will see it.

This is a second, straightforward implementation of docs/rules.md, written from
the rule texts and the feed contract, not from the injection code:

- orders and reviews count in their latest *delivered* version (rows in
  incomplete partitions, quarantined rows and quarantined files never arrive;
  duplicate versions collapse);
- the CRM and the registries are read from the exact CSV text of their latest
  snapshot;
- every value it checks is the value as written (the same rendering functions
  the writer uses), in chunks so that ten million orders fit in memory.

The result: per rule, the failing entities and why; and the market totals.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import polars as pl

from generator.config import DAY, Timeline
from generator.orders import COMPLETED, Orders, Users, landed_mask, version_frame
from generator.reviews import Reviews, versions
from generator.reviews import version_frame as review_version_frame
from quality.rules import RULE_BY_ID, parameter

# The procedure catalogue of feeds.md: code -> (department, category, product 类别).
# feeds.md's grades of the 美容外科 procedures; the caps per clinic type are GOV-14's parameter
GRADES = {"P01": 1, "P02": 3, "P03": 2, "P04": 3}
GRADE_CAPS = parameter("GOV-14", "grade_caps")
REVIEW_WINDOW_DAYS = parameter("GOV-06", "review_window_days")
FEE_TOLERANCE_CENTS = round(parameter("GOV-08", "fee_tolerance_yuan") * 100)
MIN_RECEIPTS = parameter("GOV-06", "min_receipts")
BURST_MIN_REVIEWS = parameter("GOV-07", "burst_min_reviews")
BURST_WINDOW_S = parameter("GOV-07", "burst_window_hours") * 3600
MIN_SIMILARITY = parameter("GOV-07", "min_similarity")
SHARED_IP_MIN_USERS = parameter("GOV-07", "shared_ip_min_users")
SHARED_IP_WINDOW_S = parameter("GOV-07", "shared_ip_window_days") * DAY
REPLY_WITHIN_S = parameter("GOV-09", "reply_within_hours") * 3600
DIAMOND_BAR = RULE_BY_ID["GOV-18"].parameters
CATALOGUE = {
    "P01": ("美容外科", "surgical", None), "P02": ("美容外科", "surgical", "其他"),
    "P03": ("美容外科", "surgical", None), "P04": ("美容外科", "surgical", "乳房植入体"),
    "P05": ("美容皮肤科", "injectable", "透明质酸钠填充剂"),
    "P06": ("美容皮肤科", "injectable", "A型肉毒毒素"),
    "P07": ("美容皮肤科", "injectable", "透明质酸钠填充剂"),
    "P08": ("美容皮肤科", "energy", "射频治疗仪"),
    "P09": ("美容皮肤科", "energy", "强脉冲光治疗仪"),
    "P10": ("美容皮肤科", "energy", "超声治疗仪"), "P11": ("美容皮肤科", "energy", "激光治疗仪"),
    "P12": ("美容牙科", "dental", None), "P13": ("美容中医科", "tcm", None),
}
NEEDS_PRODUCT = {f"P{i:02d}" for i in range(4, 12)}  # rules.md GOV-05: P04..P11
PERMITTED_SCOPES = {
    "美容外科": ("外科专业", "医疗美容专业"),
    "美容皮肤科": ("皮肤病与性病专业", "医疗美容专业"),
    "美容牙科": ("口腔专业",),
    "美容中医科": ("中医专业",),
}
MANDATORY = {"surgical": ("surgery", "anesthesia"), "injectable": ("product",),
             "energy": ("device",)}
FEE_KEYS = ("surgery", "anesthesia", "hospitalization", "medication", "checkup", "product",
            "device", "aftercare")
ORDER_FIELDS = ("order_id", "user_id", "buyer_city", "clinic_id", "doctor_id", "procedure_code",
                "product_registration_no", "device_serial", "list_cents", "paid_cents",
                "fee_items", "completed_s")
REVIEW_FIELDS = ("review_id", "order_id", "user_id", "clinic_id", "receipt_count",
                 "is_complaint", "complaint_type", "resolved_at", "ip")
CHUNK = 250_000  # orders / reviews judged at once (memory stays flat at any scale)


@dataclass
class RuleResult:
    entity_type: str
    failing: dict[str, str] = field(default_factory=dict)  # entity id -> reasons
    index: set[int] = field(default_factory=set)  # generator indices, for the self-check


def name_key(name: str | None) -> str | None:
    """rules.md name normalisation: trim, full-width ASCII to half-width, drop white space."""
    if name is None:
        return None
    out = []
    for ch in name.strip():
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:
            ch = chr(code - 0xFEE0)
        elif code == 0x3000:
            ch = " "
        out.append(ch)
    return "".join(ch for ch in "".join(out) if not ch.isspace())


def _read_registry_csv(text: str) -> pl.DataFrame:
    return pl.read_csv(io.StringIO(text), infer_schema=False)


def _days(column: str) -> pl.Expr:
    return (pl.col(column).str.strip_chars().str.to_date("%Y-%m-%d").cast(pl.Int32)
            .cast(pl.Int64))


def _latest_per_key(frame: pl.DataFrame, key: str, updated: str | None) -> pl.DataFrame:
    if updated is None:
        return frame.unique(subset=[key], keep="last", maintain_order=True)
    return (frame.sort([key, updated], descending=[False, True])
            .unique(subset=[key], keep="first", maintain_order=True))


def _status_on(status: str, updated_on: str, day: str) -> pl.Expr:
    """rules.md 'status as of a date': 正常 before updated_on, the latest status from then."""
    return (pl.when((pl.col(status) == "正常") | (pl.col(day) < pl.col(updated_on)))
            .then(pl.lit("正常")).otherwise(pl.col(status)))


def _entries(text: str | None, separator: str) -> set[str]:
    """The trimmed, non-empty entries of a separated list (诊疗科目, declared departments)."""
    return {e.strip() for e in (text or "").split(separator) if e.strip()}


def _reasons(*checks: tuple[pl.Expr, str]) -> pl.Expr:
    """Comma-joined names of the checks that fail ('' when none)."""
    parts = [pl.when(condition.fill_null(False)).then(pl.lit(name)).otherwise(pl.lit(None))
             for condition, name in checks]
    return pl.concat_str(parts, separator=",", ignore_nulls=True).fill_null("")


class Truth:
    """Computes every GOV-01..09 and GOV-14..18 verdict and the market truth."""

    def __init__(self, tl: Timeline, world, orders: Orders, users: Users, reviews: Reviews,
                 crm_clinics: pl.DataFrame, crm_doctors: pl.DataFrame,
                 institutions_csv: str, practitioners_csv: str, products_csv: str):
        self.tl, self.world, self.orders, self.users, self.reviews = (
            tl, world, orders, users, reviews)
        self.clinics = _latest_per_key(crm_clinics, "clinic_id", "updated_at")
        # the clinics GOV-01 and the listing checks (GOV-15..17) judge
        self.active_clinics = self.clinics.filter(
            pl.col("platform_status").str.strip_chars() == "active")
        self.doctors = _latest_per_key(crm_doctors, "doctor_id", "updated_at")
        # clinic id -> world index, for the clinic rules' failing indices
        self.clinic_index = {cid: i for i, cid in enumerate(world.clinics.clinic_id)}
        inst = _read_registry_csv(institutions_csv).rename({
            "登记号": "license_no", "机构名称": "inst_name", "所在城市": "inst_city",
            "诊疗科目": "approved", "有效期起": "valid_from", "有效期止": "valid_to",
            "状态": "inst_status", "更新日期": "inst_updated"})
        self.institutions = _latest_per_key(
            inst.with_columns(_days("valid_from"), _days("valid_to"),
                              _days("inst_updated")), "license_no", "inst_updated")
        prac = _read_registry_csv(practitioners_csv).rename({
            "执业证书编码": "practitioner_license_no", "执业范围": "scope",
            "美容主诊医师": "is_chief", "主诊专业": "chief_specialty", "状态": "prac_status",
            "更新日期": "prac_updated"})
        self.practitioners = _latest_per_key(
            prac.with_columns(_days("prac_updated")), "practitioner_license_no", "prac_updated")
        prod = _read_registry_csv(products_csv).rename({
            "注册证编号": "product_registration_no", "类别": "registered_category",
            "批准日期": "approved_on", "有效期至": "product_valid_to", "状态": "product_status"})
        self.products = _latest_per_key(
            prod.with_columns(_days("approved_on"), _days("product_valid_to")),
            "product_registration_no", None)
        self.catalogue = pl.DataFrame({
            "procedure_code": list(CATALOGUE),
            "grade": [GRADES.get(code) for code in CATALOGUE],
            "dept": [v[0] for v in CATALOGUE.values()],
            "category": [v[1] for v in CATALOGUE.values()],
            "product_category": [v[2] for v in CATALOGUE.values()],
        })
        self.permitted = pl.DataFrame(
            [(dept, scope) for dept, scopes in PERMITTED_SCOPES.items() for scope in scopes],
            schema=["dept", "scope"], orient="row").with_columns(pl.lit(True).alias("scope_ok"))
        self.rules = {r: RuleResult("order")
                      for r in ("GOV-02", "GOV-03", "GOV-04", "GOV-05", "GOV-08", "GOV-14")}
        for r in ("GOV-01", "GOV-15", "GOV-16", "GOV-18"):
            self.rules[r] = RuleResult("clinic")
        self.rules["GOV-17"] = RuleResult("doctor")
        for r in ("GOV-06", "GOV-07", "GOV-09"):
            self.rules[r] = RuleResult("review")
        self.market: dict[tuple[str, str], list] = {}
        self.totals = {"completed_orders": 0, "gmv_cents": 0, "traveller_orders": 0}
        self._buyers: list[pl.DataFrame] = []
        # the diamond bar's inputs (GOV-18): order findings in its window, verified review scores
        self._recent_findings: Counter = Counter()
        self._verified_scores = pl.DataFrame(schema={"clinic_id": pl.String, "score": pl.Float64})

    # --- GOV-01 -------------------------------------------------------------------------------

    def clinics_rule(self) -> None:
        joined = self.active_clinics.join(self.institutions, on="license_no", how="left")
        result = self.rules["GOV-01"]
        for row in joined.iter_rows(named=True):
            reasons = []
            if row["inst_name"] is None:
                reasons.append("licence_not_in_registry")
            else:
                if name_key(row["inst_name"]) != name_key(row["name"]):
                    reasons.append("registry_name_mismatch")
                if (row["inst_city"] or "").strip() != (row["city"] or "").strip():
                    reasons.append("registry_city_mismatch")
            if reasons:
                result.failing[row["clinic_id"]] = ",".join(reasons)
                result.index.add(self.clinic_index[row["clinic_id"]])

    # --- GOV-15, GOV-16: listing checks on the run date -----------------------------------------

    def listing_rules(self) -> None:
        """What an active clinic's listing claims today: a licence in force on the run date
        (GOV-15) and only licensed departments advertised (GOV-16)."""
        joined = (self.active_clinics.join(self.institutions, on="license_no", how="left")
                  .with_columns(pl.lit(self.tl.as_of).alias("run_day"))
                  .with_columns(_status_on("inst_status", "inst_updated", "run_day")
                                .alias("status_today")))
        status_names = {"吊销": "licence_revoked", "注销": "licence_cancelled",
                        "停业整顿": "licence_suspended"}
        for row in joined.iter_rows(named=True):
            index = self.clinic_index[row["clinic_id"]]
            in_registry = row["inst_name"] is not None
            status = row["status_today"]
            if not in_registry:
                kind = "licence_not_in_registry"
            elif status != "正常":
                kind = status_names.get(status, "licence_status_not_normal")
            elif self.tl.as_of > row["valid_to"]:
                kind = "licence_expired"
            elif self.tl.as_of < row["valid_from"]:
                kind = "licence_not_yet_valid"
            else:
                kind = None
            if kind:
                self.rules["GOV-15"].failing[row["clinic_id"]] = kind
                self.rules["GOV-15"].index.add(index)
            declared = _entries(row["declared_departments"], "|")
            approved = _entries(row["approved"], "；") if in_registry else set()
            if declared - approved:
                self.rules["GOV-16"].failing[row["clinic_id"]] = "department_not_licensed"
                self.rules["GOV-16"].index.add(index)

    # --- GOV-17: listed doctors -------------------------------------------------------------------

    def doctor_listing_rule(self) -> None:
        """Every doctor the newest CRM lists at an active clinic: registered 正常 on the run date,
        under the same name, at that clinic's licence; a chief consultant a 美容主诊医师."""
        active = self.active_clinics
        clinic_licence = dict(zip(active["clinic_id"], active["license_no"], strict=True))
        practitioners = (self.practitioners.with_columns(pl.lit(self.tl.as_of).alias("run_day"))
                         .with_columns(_status_on("prac_status", "prac_updated", "run_day")
                                       .alias("status_today")))
        registry = {row["practitioner_license_no"]: row
                    for row in practitioners.iter_rows(named=True)}
        doctor_index = {did: i for i, did in enumerate(self.world.doctors.doctor_id)}
        result = self.rules["GOV-17"]
        for row in self.doctors.iter_rows(named=True):
            if row["clinic_id"] not in clinic_licence:
                continue
            reg = registry.get(row["practitioner_license_no"])
            reasons = []
            if reg is None:
                reasons.append("practitioner_not_in_registry")
            else:
                if reg["status_today"] != "正常":
                    reasons.append("practitioner_status_not_normal")
                if name_key(reg["姓名"]) != name_key(row["name"]) or reg["姓名"] is None:
                    reasons.append("registry_name_mismatch")
                if (reg["主执业机构登记号"] or "").strip() != clinic_licence[row["clinic_id"]]:
                    reasons.append("registered_at_another_institution")
                if row["is_chief_consultant"] == "true" and reg["is_chief"] != "是":
                    reasons.append("chief_consultant_not_registered")
            if reasons:
                result.failing[row["doctor_id"]] = ",".join(reasons)
                result.index.add(doctor_index[row["doctor_id"]])

    # --- GOV-18: tier labels, after the listing, order and review rules ---------------------

    def tier_rule(self) -> None:
        """A clinic labelled 美钻 meets the diamond bar (marts.md); one labelled 严选 or 美钻 fails
        none of GOV-01, GOV-15, GOV-16."""
        bar = DIAMOND_BAR
        doctors = self.doctors.with_columns(
            pl.col("years_experience").cast(pl.Int64), pl.col("case_count").cast(pl.Int64),
            (pl.col("is_chief_consultant") == "true").alias("chief"))
        staff = doctors.group_by("clinic_id").agg(
            pl.col("years_experience").mean().alias("avg_years"),
            (pl.col("chief") & (pl.col("years_experience") >= bar["chief_consultant_min_years"]))
            .any().alias("senior_chief"),
            (pl.col("case_count") >= bar["min_doctor_cases"]).any().alias("high_volume"))
        scores = self._verified_scores.group_by("clinic_id").agg(
            pl.len().alias("verified"), pl.col("score").mean().alias("avg_score"))
        joined = (self.active_clinics.select("clinic_id", "tier")
                  .join(staff, on="clinic_id", how="left")
                  .join(scores, on="clinic_id", how="left"))
        listing = {r: self.rules[r].failing for r in ("GOV-01", "GOV-15", "GOV-16")}
        result = self.rules["GOV-18"]
        for row in joined.iter_rows(named=True):
            cid, tier = row["clinic_id"], row["tier"].strip()
            meets = (cid not in listing["GOV-01"] and cid not in listing["GOV-15"]
                     and row["avg_years"] is not None
                     and row["avg_years"] >= bar["min_avg_years_experience"]
                     and row["senior_chief"] and row["high_volume"]
                     and self._recent_findings[cid] == 0
                     and (row["verified"] or 0) >= bar["min_verified_reviews"]
                     and row["avg_score"] >= bar["min_avg_score"])
            reasons = []
            if tier == "diamond" and not meets:
                reasons.append("diamond_below_bar")
            if tier in ("selected", "diamond") and any(cid in f for f in listing.values()):
                reasons.append("label_with_open_listing_finding")
            if reasons:
                result.failing[cid] = ",".join(reasons)
                result.index.add(self.clinic_index[cid])

    # --- orders: GOV-02..05, GOV-08, market ----------------------------------------------------

    def order_rules(self) -> np.ndarray:
        """Judge every completed order; returns the latest delivered event per order."""
        orders = self.orders
        lands = landed_mask(orders, self.tl)
        times = np.where(lands, orders.t, -1)
        latest = np.argmax(times, axis=1)
        latest[~lands.any(axis=1)] = -1
        completed = np.flatnonzero(latest == COMPLETED)
        for lo in range(0, len(completed), CHUNK):
            idx = completed[lo:lo + CHUNK]
            frame = version_frame(orders, self.users, self.world, idx,
                                  np.full(len(idx), COMPLETED)).select(ORDER_FIELDS)
            self._judge_orders(frame.with_columns(pl.Series("idx", idx)))
        return latest

    def _judge_orders(self, frame: pl.DataFrame) -> None:
        f = (
            frame
            .with_columns((pl.col("completed_s") // DAY).alias("done_day"))
            .join(self.catalogue, on="procedure_code", how="left")
            .join(self.clinics.select("clinic_id", "license_no", "clinic_type",
                                      pl.col("city").alias("clinic_city")),
                  on="clinic_id", how="left")
            .join(self.institutions, on="license_no", how="left")
            .join(self.doctors.select("doctor_id", "practitioner_license_no"), on="doctor_id",
                  how="left")
            .join(self.practitioners, on="practitioner_license_no", how="left")
            .join(self.permitted, left_on=["dept", "scope"], right_on=["dept", "scope"],
                  how="left")
            .join(self.products, on="product_registration_no", how="left")
        )
        fee = pl.col("fee_items").str.json_decode(
            pl.Struct({k: pl.Float64 for k in FEE_KEYS}))
        f = f.with_columns(fee.alias("fee"))
        fee_sum = pl.sum_horizontal([pl.col("fee").struct.field(k).fill_null(0.0)
                                     for k in FEE_KEYS])
        no_licence = pl.col("inst_status").is_null()
        missing_item = pl.lit(False)
        for category, keys in MANDATORY.items():
            lacks = pl.any_horizontal([pl.col("fee").struct.field(k).is_null() for k in keys])
            missing_item = missing_item | ((pl.col("category") == category) & lacks)
        needs = pl.col("procedure_code").is_in(sorted(NEEDS_PRODUCT))
        p02 = pl.col("procedure_code") == "P02"
        has_product = pl.col("product_registration_no").is_not_null()
        unknown_product = pl.col("product_status").is_null()
        expired = pl.col("done_day") > pl.col("product_valid_to")
        serial = pl.col("device_serial").str.strip_chars()
        f = f.with_columns(
            _reasons(
                (no_licence, "licence_not_in_registry"),
                (~no_licence & (_status_on("inst_status", "inst_updated", "done_day") != "正常"),
                 "licence_status_not_normal"),
                (~no_licence & ((pl.col("done_day") < pl.col("valid_from"))
                                | (pl.col("done_day") > pl.col("valid_to"))),
                 "outside_licence_validity"),
            ).alias("GOV-02"),
            _reasons(
                (no_licence, "licence_not_in_registry"),
                (~no_licence & ~pl.col("approved").fill_null("").str.split("；")
                 .list.eval(pl.element().str.strip_chars()).list.contains(pl.col("dept")),
                 "department_not_licensed"),
            ).alias("GOV-03"),
            _reasons(
                (pl.col("doctor_id").is_null(), "doctor_missing"),
                (pl.col("doctor_id").is_not_null() & pl.col("prac_status").is_null(),
                 "practitioner_not_in_registry"),
                (pl.col("prac_status").is_not_null()
                 & (_status_on("prac_status", "prac_updated", "done_day") != "正常"),
                 "practitioner_status_not_normal"),
                (pl.col("prac_status").is_not_null() & pl.col("scope_ok").is_null()
                 & ~((pl.col("is_chief") == "是")
                     & (pl.col("chief_specialty").fill_null("") == pl.col("dept"))),
                 "scope_not_permitted"),
            ).alias("GOV-04"),
            _reasons(
                (needs & ~has_product, "product_missing"),
                ((needs | p02) & has_product & unknown_product, "product_not_in_registry"),
                (needs & ~unknown_product
                 & (pl.col("registered_category") != pl.col("product_category")),
                 "product_wrong_category"),
                ((needs | p02) & ~unknown_product & (pl.col("product_status") == "注销"),
                 "product_cancelled"),
                ((needs | p02) & ~unknown_product
                 & (expired | (needs & (pl.col("done_day") < pl.col("approved_on")))),
                 "product_expired"),
                ((pl.col("category") == "energy") & (serial.is_null() | (serial == "")),
                 "device_serial_missing"),
            ).alias("GOV-05"),
            _reasons(
                (pl.col("fee").is_null(), "fee_items_not_an_object"),
                (pl.col("fee").is_not_null()
                 & ((fee_sum * 100).round(0).cast(pl.Int64) - pl.col("paid_cents")).abs()
                 .gt(FEE_TOLERANCE_CENTS), "fee_items_sum_mismatch"),
                (pl.col("fee").is_not_null() & missing_item, "mandatory_fee_item_missing"),
                (pl.col("paid_cents") > pl.col("list_cents"), "paid_above_list_price"),
            ).alias("GOV-08"),
            _reasons(
                (pl.col("grade").is_not_null()
                 & (pl.col("grade") > pl.col("clinic_type").replace_strict(
                     dict(GRADE_CAPS), default=0, return_dtype=pl.Int64)),
                 "grade_above_clinic_cap"),
            ).alias("GOV-14"),
        )
        rules = ("GOV-02", "GOV-03", "GOV-04", "GOV-05", "GOV-08", "GOV-14")
        window = DIAMOND_BAR["finding_window_days"]
        recent = f.filter(pl.any_horizontal([pl.col(r) != "" for r in rules])
                          & (pl.col("done_day") > self.tl.as_of - window)
                          & (pl.col("done_day") <= self.tl.as_of))
        self._recent_findings.update(recent["clinic_id"].to_list())
        for rule in rules:
            failing = f.filter(pl.col(rule) != "").select("order_id", rule, "idx")
            result = self.rules[rule]
            result.failing.update(zip(failing["order_id"].to_list(), failing[rule].to_list(),
                                      strict=True))
            result.index.update(failing["idx"].to_list())
        # market truth: month of completion (Asia/Shanghai) x clinic city
        m = f.with_columns(
            pl.from_epoch(pl.col("completed_s"), time_unit="s").dt.truncate("1mo").dt.date()
            .cast(pl.String).alias("month"))
        grouped = m.group_by("month", "clinic_city").agg(
            pl.len().alias("orders"), pl.col("paid_cents").sum().alias("gmv"))
        for month, city, n, gmv in grouped.iter_rows():
            cell = self.market.setdefault((month, city), [0, 0])
            cell[0] += n
            cell[1] += gmv
        self._buyers.append(m.select("month", "clinic_city", "user_id").unique())
        self.totals["completed_orders"] += m.height
        self.totals["gmv_cents"] += int(m["paid_cents"].sum())
        self.totals["traveller_orders"] += m.filter(
            pl.col("buyer_city") != pl.col("clinic_city")).height

    # --- reviews: GOV-06, GOV-07, GOV-09 ---------------------------------------------------

    def review_rules(self, latest_order: np.ndarray) -> None:
        reviews, orders = self.reviews, self.orders
        idx, kind, t = versions(reviews)
        delivered = t < self.tl.reviews_loaded_end
        idx, kind, t = idx[delivered], kind[delivered], t[delivered]
        order = np.lexsort((kind, t, idx))
        last = np.r_[idx[order][1:] != idx[order][:-1], True]
        pick_idx, pick_kind = idx[order][last], kind[order][last]
        parts = []
        for lo in range(0, len(pick_idx), CHUNK):
            ridx, rkind = pick_idx[lo:lo + CHUNK], pick_kind[lo:lo + CHUNK]
            frame = review_version_frame(reviews, orders, self.users, self.world, ridx, rkind)
            parts.append(frame.select(REVIEW_FIELDS).with_columns(
                pl.Series("idx", ridx),
                pl.Series("created_s", reviews.created[ridx]),
                pl.Series("reply_s", np.where(rkind >= 1, reviews.reply[ridx], -1)),
            ))
        frame = pl.concat(parts) if parts else pl.DataFrame()
        refs = self._orders_named(frame["order_id"], latest_order)
        f = frame.join(refs, on="order_id", how="left")
        window = REVIEW_WINDOW_DAYS * DAY
        f = f.with_columns(_reasons(
            (pl.col("o_status").is_null(), "order_unknown"),
            (pl.col("o_status").is_not_null() & (pl.col("o_user") != pl.col("user_id")),
             "order_of_other_user"),
            (pl.col("o_status").is_not_null() & (pl.col("o_clinic") != pl.col("clinic_id")),
             "order_of_other_clinic"),
            (pl.col("o_status").is_not_null() & (pl.col("o_status") != "completed"),
             "order_not_completed"),
            (pl.col("created_s") <= pl.col("o_completed_s"), "written_before_completion"),
            (pl.col("created_s") > pl.col("o_completed_s") + window,
             "written_after_review_window"),
            (pl.col("receipt_count") < MIN_RECEIPTS, "no_receipt"),
        ).alias("GOV-06"))
        self._collect("GOV-06", f)
        self._collect("GOV-07", self._manipulation(frame))
        complaints = frame.filter(pl.col("is_complaint"))
        complaints = complaints.with_columns(_reasons(
            ((pl.col("reply_s") >= 0) & (pl.col("reply_s") > pl.col("created_s") + REPLY_WITHIN_S),
             "reply_after_deadline"),
            ((pl.col("reply_s") < 0) & (pl.col("created_s") + REPLY_WITHIN_S < self.tl.end),
             "no_reply"),
        ).alias("GOV-09"))
        self._collect("GOV-09", complaints)
        manipulated = pl.Series(sorted(self.rules["GOV-07"].failing), dtype=pl.String)
        verified = f.filter((pl.col("GOV-06") == "") & ~pl.col("review_id").is_in(manipulated))
        self._verified_scores = verified.select(
            "clinic_id", pl.Series("score", self.reviews.scores[verified["idx"].to_numpy()]
                                   .mean(axis=1)))
        self.totals["reviews"] = frame.height
        self.totals["verified_reviews"] = verified.height
        self.totals["complaints"] = complaints.height
        self.totals["complaints_by_type"] = dict(
            complaints.group_by("complaint_type").len().iter_rows())
        self.totals["complaints_resolved"] = complaints.filter(
            pl.col("resolved_at").is_not_null()).height
        self.totals["complaints_replied_in_time"] = complaints.filter(
            (pl.col("reply_s") >= 0) & (pl.col("reply_s") <= pl.col("created_s") + REPLY_WITHIN_S)
        ).height

    def _collect(self, rule: str, frame: pl.DataFrame) -> None:
        failing = frame.filter(pl.col(rule) != "").select("review_id", rule, "idx")
        result = self.rules[rule]
        result.failing.update(zip(failing["review_id"].to_list(), failing[rule].to_list(),
                                  strict=True))
        result.index.update(failing["idx"].to_list())

    def _orders_named(self, order_ids: pl.Series, latest: np.ndarray) -> pl.DataFrame:
        """Latest delivered state of every order a review names (by its id text)."""
        wanted = order_ids.drop_nulls().unique()
        delivered = np.flatnonzero(latest >= 0)
        found = []
        for lo in range(0, len(delivered), CHUNK):
            idx = delivered[lo:lo + CHUNK]
            ids = self.orders.ids(idx)
            hit = idx[ids.is_in(wanted).to_numpy()]
            if len(hit):
                found.append(hit)
        hit = np.concatenate(found) if found else np.zeros(0, np.int64)
        parts = [
            version_frame(self.orders, self.users, self.world, hit[lo:lo + CHUNK],
                          latest[hit[lo:lo + CHUNK]]).select(
                "order_id", pl.col("user_id").alias("o_user"),
                pl.col("clinic_id").alias("o_clinic"), pl.col("status").alias("o_status"),
                pl.col("completed_s").alias("o_completed_s"))
            for lo in range(0, len(hit), CHUNK)
        ]
        return pl.concat(parts) if parts else pl.DataFrame(schema={
            "order_id": pl.String, "o_user": pl.String, "o_clinic": pl.String,
            "o_status": pl.String, "o_completed_s": pl.Int64})

    def _manipulation(self, frame: pl.DataFrame) -> pl.DataFrame:
        """GOV-07 groups, per clinic (rules.md, with the catalogue's numbers): near-identical
        texts within the burst window, one IP shared by enough distinct users within its window."""
        f = frame.select("idx", "review_id", "clinic_id", "created_s", "ip", "user_id").sort(
            "clinic_id", "created_s", "review_id")
        n = f.height
        near = np.zeros(n, dtype=bool)
        shared = np.zeros(n, dtype=bool)
        created = f["created_s"].to_numpy()
        clinic = _run_codes(f, ["clinic_id"])
        key = clinic * (1 << 40) + created
        # window of anchor a: same clinic, a.created_at <= s.created_at < a.created_at + window
        # (ties in created_at count, whichever side of the anchor they sort on)
        window_start = np.searchsorted(key, key, side="left")
        window_end = np.searchsorted(key, key + BURST_WINDOW_S, side="left")
        anchors = np.flatnonzero(window_end - window_start >= BURST_MIN_REVIEWS)
        # Texts (as written) only for the rows of candidate windows; letters and digits
        # only, as rules.md removes every match of [^\p{L}\p{N}].
        rows = np.unique(np.concatenate(
            [np.arange(window_start[a], window_end[a]) for a in anchors]
            or [np.zeros(0, np.int64)]))
        idx = f["idx"].to_numpy()
        texts = (self.reviews.text.gather(idx[rows]).fill_null("")
                 .str.replace_all(r"[^\p{L}\p{N}]", "").to_list())
        norm = dict(zip(rows.tolist(), texts, strict=True))
        bags: dict[int, Counter] = {}

        def bag(i: int) -> Counter:
            if i not in bags:
                bags[i] = Counter(norm[i])
            return bags[i]

        for a in anchors:
            if not norm[a]:
                continue
            members = [a] + [s for s in range(window_start[a], window_end[a])
                             if s != a and _near_identical(norm[a], norm[s], lambda a=a: bag(a),
                                                           lambda s=s: bag(s))]
            if len(members) >= BURST_MIN_REVIEWS:
                near[members] = True
        # shared IP: same clinic and IP, a.created_at <= s.created_at < a.created_at + window
        g = f.with_row_index("row").sort("clinic_id", "ip", "created_s", "review_id")
        rows = g["row"].to_numpy()
        key = _run_codes(g, ["clinic_id", "ip"]) * (1 << 40) + g["created_s"].to_numpy()
        window_start = np.searchsorted(key, key, side="left")
        window_end = np.searchsorted(key, key + SHARED_IP_WINDOW_S, side="left")
        user = g["user_id"].rank("dense").to_numpy()
        for a in np.flatnonzero(window_end - window_start >= SHARED_IP_MIN_USERS):
            members = np.arange(window_start[a], window_end[a])
            if len(np.unique(user[members])) >= SHARED_IP_MIN_USERS:
                shared[rows[members]] = True
        return f.with_columns(
            pl.concat_str([pl.when(pl.Series(near)).then(pl.lit("near_identical_group")),
                           pl.when(pl.Series(shared)).then(pl.lit("shared_ip_group"))],
                          separator=",", ignore_nulls=True).fill_null("").alias("GOV-07"))

    # --- output ----------------------------------------------------------------------------

    def market_monthly(self) -> list[dict]:
        buyers = (pl.concat(self._buyers).unique().group_by("month", "clinic_city").len()
                  if self._buyers else pl.DataFrame())
        counts = {(m, c): n for m, c, n in buyers.iter_rows()} if buyers.height else {}
        self.totals["buyers"] = (pl.concat(self._buyers)["user_id"].n_unique()
                                 if self._buyers else 0)
        out = []
        for (month, city), (n, gmv) in sorted(self.market.items()):
            out.append({"month": month, "city": city, "orders": n,
                        "buyers": counts[(month, city)], "gmv": _money(gmv)})
        return out

    def violations(self) -> dict:
        out = {}
        for rule in sorted(self.rules):
            result = self.rules[rule]
            ids = sorted(result.failing)
            out[rule] = {"entity_type": result.entity_type, "entity_ids": ids,
                         "kinds": {i: result.failing[i] for i in ids}}
        return out


def _run_codes(frame: pl.DataFrame, columns: list[str]) -> np.ndarray:
    """Codes 0, 1, 2, ... numbering the runs of equal `columns` in a sorted frame."""
    changed = pl.any_horizontal([pl.col(c).ne_missing(pl.col(c).shift()) for c in columns])
    return (frame.select(changed.cast(pl.Int64).cum_sum() - 1).to_series().to_numpy()
            .astype(np.int64))


def _near_identical(x: str, y: str, bag_x=None, bag_y=None) -> bool:
    """Equal, or 1 - levenshtein / longer length >= GOV-07's similarity, on normalised texts.

    Cheap exact bounds first: the length difference and the character-multiset
    difference are both lower bounds of the edit distance.
    """
    if not x or not y:
        return False
    if x == y:
        return True
    longer = max(len(x), len(y))
    limit = int((1 - Decimal(str(MIN_SIMILARITY))) * longer) + 1
    if abs(len(x) - len(y)) > limit:
        return False
    if bag_x is not None:
        bx, by = bag_x(), bag_y()
        if sum((bx - by).values()) > limit or sum((by - bx).values()) > limit:
            return False
    # in decimals, as the warehouse compares: distance <= (1 - similarity) * longer
    distance = _levenshtein(x, y, limit=limit)
    return Decimal(distance) <= (1 - Decimal(str(MIN_SIMILARITY))) * longer


def _levenshtein(x: str, y: str, limit: int) -> int:
    """Edit distance, giving up (returning limit + 1) once it must exceed `limit`."""
    previous = list(range(len(y) + 1))
    for i, cx in enumerate(x, 1):
        current = [i]
        for j, cy in enumerate(y, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (cx != cy)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"

