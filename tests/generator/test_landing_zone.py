"""The generated landing zone against feeds.md, and the manifest truth recomputed from the
files with a separate, plain-Python reading of them."""

from __future__ import annotations

import csv
import io
import json
import re
import statistics
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from quality.rules import RULE_BY_ID, RULES

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_RUN = datetime(2026, 11, 24, tzinfo=SHANGHAI)
ORDER_COLUMNS = ["order_id", "user_id", "buyer_phone", "buyer_gender", "buyer_birth_year",
                 "buyer_city", "clinic_id", "doctor_id", "procedure_code",
                 "product_registration_no", "device_serial", "channel", "list_price",
                 "paid_amount", "fee_items", "status", "created_at", "paid_at", "completed_at",
                 "payment_txn_id", "updated_at"]
REVIEW_KEYS = ["review_id", "order_id", "user_id", "clinic_id", "created_at", "updated_at",
               "scores", "text", "receipt_count", "photo_count", "ip", "device_id",
               "is_complaint", "complaint_type", "merchant_reply_at", "resolved_at"]
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$")
MONEY = re.compile(r"^\d+\.\d{2}$")
CATEGORY = {"P01": "surgical", "P02": "surgical", "P03": "surgical", "P04": "surgical",
            "P05": "injectable", "P06": "injectable", "P07": "injectable", "P08": "energy",
            "P09": "energy", "P10": "energy", "P11": "energy", "P12": "dental", "P13": "tcm"}
MANDATORY = {"surgical": {"surgery", "anesthesia"}, "injectable": {"product"},
             "energy": {"device"}}


# --- reading the files as the warehouse would ------------------------------------------------

def bad(manifest, expect):
    return [b for b in manifest["bad_deliveries"] if b["expect"] == expect]


def complete_partitions(landing: Path, feed: str) -> list[Path]:
    return sorted(p for p in (landing / feed).iterdir() if (p / "_SUCCESS").exists())


def ts(value) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI)
    return datetime.fromisoformat(value).astimezone(SHANGHAI)


def loaded_order_rows(landing: Path, manifest: dict) -> list[dict]:
    skip_files = {b["file"] for b in bad(manifest, "quarantine_file")}
    skip_rows = {(b["file"], b["row_number"]) for b in bad(manifest, "quarantine_row")}
    rows = []
    for partition in complete_partitions(landing, "orders"):
        for path in sorted(partition.glob("part-*")):
            rel = path.relative_to(landing).as_posix()
            if rel in skip_files:
                continue
            if path.suffix == ".parquet":
                records = pq.read_table(path).to_pylist()
            else:
                records = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
            for number, record in enumerate(records, 1):
                if (rel, number) in skip_rows:
                    continue
                rows.append({**record, "_file": rel, "_row": number,
                             "_dt": partition.name[3:]})
    return rows


def latest(rows: list[dict], key: str) -> dict[str, dict]:
    out = {}
    for row in rows:
        rank = (ts(row["updated_at"]), row["_dt"], row["_row"])
        if row[key] not in out or rank > out[row[key]][0]:
            out[row[key]] = (rank, row)
    return {k: v[1] for k, v in out.items()}


def loaded_review_rows(landing: Path, manifest: dict) -> list[dict]:
    skip_rows = {(b["file"], b["row_number"]) for b in bad(manifest, "quarantine_row")}
    rows = []
    for partition in complete_partitions(landing, "reviews"):
        for path in sorted(partition.glob("part-*.jsonl")):
            rel = path.relative_to(landing).as_posix()
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if (rel, number) not in skip_rows:
                    rows.append({**json.loads(line), "_dt": partition.name[3:], "_row": number})
    return rows


def read_csv_any(path: Path) -> list[dict]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gbk"):
        try:
            return list(csv.DictReader(io.StringIO(raw.decode(encoding))))
        except UnicodeDecodeError:
            continue
    raise AssertionError(f"{path} is neither UTF-8 nor GBK")


@pytest.fixture(scope="module")
def orders(landing):
    root, manifest = landing
    return loaded_order_rows(root, manifest)


@pytest.fixture(scope="module")
def crm(landing):
    root, manifest = landing
    newest = max(manifest["partitions"]["clinics"])
    clinics = read_csv_any(root / "clinics" / f"dt={newest}" / "clinics.csv")
    doctors = read_csv_any(root / "clinics" / f"dt={newest}" / "doctors.csv")
    return {c["clinic_id"]: c for c in clinics}, doctors


# --- layout and formats -----------------------------------------------------------------------

def test_partitions_and_success_markers(landing):
    root, manifest = landing
    for feed in ("clinics", "orders", "reviews", "registry"):
        complete = [p.name[3:] for p in complete_partitions(root, feed)]
        assert complete == manifest["partitions"][feed], feed
        assert all(dt < "2026-11-23" for dt in complete), feed
        for p in complete_partitions(root, feed):
            assert (p / "_SUCCESS").stat().st_size == 0
    incomplete = sorted(f"{p.parent.name}/{p.name}" for feed in ("orders", "reviews")
                        for p in (root / feed).iterdir() if not (p / "_SUCCESS").exists())
    assert incomplete == manifest["incomplete_partitions"]
    assert "orders/dt=2026-11-23" in incomplete and "reviews/dt=2026-11-23" in incomplete
    # orders: every day of the history up to the day before the run date is delivered
    first = date(2026, 11, 23) - timedelta(days=120)
    expected = [(first + timedelta(days=i)).isoformat() for i in range(120)]
    assert manifest["partitions"]["orders"] == expected
    snapshots = manifest["partitions"]["registry"]
    assert snapshots == manifest["partitions"]["clinics"]
    assert snapshots[-3:] == ["2026-11-20", "2026-11-21", "2026-11-22"]
    assert snapshots[0] == first.isoformat()


def test_orders_parquet_schema_is_exactly_the_contract(landing):
    root, manifest = landing
    truncated = {b["file"] for b in manifest["bad_deliveries"] if b["kind"] == "truncated_parquet"}
    added = {b["file"] for b in manifest["bad_deliveries"] if b["kind"] == "added_column"}
    ts_type = pa.timestamp("us", tz="Asia/Shanghai")
    expected = pa.schema([
        (c, ts_type if c.endswith("_at") else pa.decimal128(12, 2)
         if c in ("list_price", "paid_amount") else pa.int32() if c == "buyer_birth_year"
         else pa.string()) for c in ORDER_COLUMNS])
    files = sorted((root / "orders").glob("dt=*/part-*.parquet"))
    assert files
    for path in files:
        rel = path.relative_to(root).as_posix()
        if rel in truncated:
            with pytest.raises(pa.ArrowInvalid):
                pq.read_schema(path)
            continue
        schema = pq.read_schema(path).remove_metadata()
        if rel in added:
            assert schema.names == ORDER_COLUMNS + ["coupon_code"]
            schema = schema.remove(schema.get_field_index("coupon_code"))
        assert schema.equals(expected), rel


def test_orders_csv_parts_follow_the_text_conventions(landing):
    root, manifest = landing
    odd = {b["file"] for b in manifest["bad_deliveries"]
           if b["kind"] in ("renamed_column", "dropped_column")}
    bad_rows = {(b["file"], b["row_number"]) for b in bad(manifest, "quarantine_row")}
    files = sorted((root / "orders").glob("dt=*/part-*.csv"))
    assert files
    for path in files:
        rel = path.relative_to(root).as_posix()
        reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
        if rel in odd:
            assert reader.fieldnames != ORDER_COLUMNS
            continue
        assert reader.fieldnames == ORDER_COLUMNS, rel
        for number, row in enumerate(reader, 1):
            if (rel, number) in bad_rows:
                continue
            for column in ("created_at", "updated_at", "paid_at", "completed_at"):
                assert row[column] == "" or ISO.match(row[column]), (rel, number, column)
            assert MONEY.match(row["paid_amount"]) and MONEY.match(row["list_price"])
            assert isinstance(json.loads(row["fee_items"]), dict)


def test_review_lines_are_the_documented_json(landing):
    root, manifest = landing
    bad_rows = {(b["file"], b["row_number"]) for b in bad(manifest, "quarantine_row")}
    count = 0
    for path in sorted((root / "reviews").glob("dt=*/part-*.jsonl")):
        rel = path.relative_to(root).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if (rel, number) in bad_rows:
                continue
            review = json.loads(line)
            assert list(review) == REVIEW_KEYS
            assert list(review["scores"]) == ["doctor", "process", "environment",
                                              "effect_match", "value"]
            assert all(isinstance(s, int) and 1 <= s <= 5 for s in review["scores"].values())
            assert isinstance(review["is_complaint"], bool)
            assert (review["complaint_type"] is None) != review["is_complaint"]
            assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", review["ip"])
            assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                                r"[0-9a-f]{12}", review["device_id"])
            assert ISO.match(review["created_at"]) and ISO.match(review["updated_at"])
            assert "\\u" not in line  # UTF-8, not escaped
            count += 1
    assert count > 0


def test_registry_files_are_gbk_with_chinese_headers(landing):
    root, manifest = landing
    utf8 = {b["file"] for b in manifest["bad_deliveries"] if b["kind"] == "registry_utf8"}
    bom = {b["file"] for b in manifest["bad_deliveries"] if b["kind"] == "registry_bom"}
    assert len(utf8) == 3 and len(bom) == 3
    headers = {
        "institutions.csv": "登记号,机构名称,所在城市,地址,诊疗科目,有效期起,有效期止,状态,"
                            "更新日期",
        "practitioners.csv": "执业证书编码,姓名,执业类别,执业范围,主执业机构登记号,美容主诊医师,"
                             "主诊专业,状态,更新日期",
        "products.csv": "注册证编号,产品名称,品牌,类别,注册人,批准日期,有效期至,状态",
    }
    for path in sorted((root / "registry").glob("dt=*/*.csv")):
        rel = path.relative_to(root).as_posix()
        raw = path.read_bytes()
        if rel in bom:
            assert raw.startswith(b"\xef\xbb\xbf")
            text = raw.decode("utf-8-sig")
        elif rel in utf8:
            text = raw.decode("utf-8")
        else:
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
            text = raw.decode("gbk")
        assert text.splitlines()[0] == headers[path.name], rel
        if path.name == "institutions.csv":
            rows = list(csv.DictReader(io.StringIO(text)))
            assert all(r["状态"] in ("正常", "注销", "吊销", "停业整顿") for r in rows)
            assert any("；" in r["诊疗科目"] for r in rows)
        if path.name == "practitioners.csv":
            rows = list(csv.DictReader(io.StringIO(text)))
            assert {r["美容主诊医师"] for r in rows} == {"是", "否"}


def test_nothing_happens_after_the_run_date(landing, orders):
    root, manifest = landing
    for row in orders:
        for column in ("created_at", "paid_at", "completed_at", "updated_at"):
            value = ts(row[column])
            assert value is None or value < END_OF_RUN
    for path in (root / "orders" / "dt=2026-11-23").glob("part-*.parquet"):
        for row in pq.read_table(path).to_pylist():
            assert ts(row["updated_at"]) < END_OF_RUN
    for row in loaded_review_rows(root, manifest):
        for column in ("created_at", "updated_at", "merchant_reply_at", "resolved_at"):
            value = ts(row[column])
            assert value is None or value < END_OF_RUN
    assert all(p.name <= "dt=2026-11-23" for feed in ("orders", "reviews", "clinics", "registry")
               for p in (root / feed).iterdir())


def test_manifest_lists_every_injection(landing):
    _, manifest = landing
    kinds = {rule: {k for v in truth["kinds"].values() for k in v.split(",")}
             for rule, truth in manifest["violations"].items()}
    finding_rules = sorted(r.rule_id for r in RULES if not r.blocking)
    assert sorted(kinds) == finding_rules
    assert kinds["GOV-01"] == {"licence_not_in_registry", "registry_name_mismatch",
                               "registry_city_mismatch"}
    assert {"licence_not_in_registry", "licence_status_not_normal",
            "outside_licence_validity"} <= kinds["GOV-02"]
    assert {"licence_not_in_registry", "department_not_licensed"} <= kinds["GOV-03"]
    assert {"doctor_missing", "practitioner_not_in_registry", "practitioner_status_not_normal",
            "scope_not_permitted"} <= kinds["GOV-04"]
    assert {"product_missing", "product_not_in_registry", "product_wrong_category",
            "product_cancelled", "product_expired", "device_serial_missing"} <= kinds["GOV-05"]
    assert {"order_unknown", "order_of_other_user", "order_not_completed",
            "written_before_completion", "written_after_review_window",
            "no_receipt"} <= kinds["GOV-06"]
    assert kinds["GOV-07"] >= {"near_identical_group", "shared_ip_group"}
    assert {"fee_items_sum_mismatch", "mandatory_fee_item_missing",
            "paid_above_list_price"} <= kinds["GOV-08"]
    assert kinds["GOV-09"] == {"reply_after_deadline", "no_reply"}
    assert kinds["GOV-14"] == {"grade_above_clinic_cap"}
    assert kinds["GOV-15"] == {"licence_not_in_registry", "licence_revoked", "licence_cancelled",
                               "licence_suspended", "licence_expired"}
    assert kinds["GOV-16"] == {"department_not_licensed"}
    assert kinds["GOV-17"] == {"practitioner_not_in_registry", "practitioner_status_not_normal",
                               "registry_name_mismatch", "registered_at_another_institution",
                               "chief_consultant_not_registered"}
    assert kinds["GOV-18"] == {"diamond_below_bar", "label_with_open_listing_finding"}
    for rule, truth in manifest["violations"].items():
        assert truth["entity_ids"] == sorted(truth["entity_ids"]) == sorted(truth["kinds"])
        assert truth["entity_type"] == {"GOV-01": "clinic", "GOV-06": "review",
                                        "GOV-07": "review", "GOV-09": "review",
                                        "GOV-15": "clinic", "GOV-16": "clinic",
                                        "GOV-17": "doctor", "GOV-18": "clinic"}.get(rule, "order")
    assert {b["kind"] for b in manifest["bad_deliveries"]} == {
        "duplicate_order_version", "missing_required_field", "unknown_enum_value",
        "malformed_timestamp", "number_where_text_belongs", "text_where_number_belongs",
        "broken_json_line", "added_column", "renamed_column", "dropped_column", "registry_utf8",
        "registry_bom", "empty_file", "missing_success", "truncated_parquet", "late_partition",
        "unresolvable_reference"}
    for b in manifest["bad_deliveries"]:
        assert b["expect"] in ("dedupe", "quarantine_row", "quarantine_file", "load",
                               "skip_partition")
        assert ("row_number" in b) == (b["expect"] in ("quarantine_row", "dedupe")), b


# --- the truth, recomputed from the files -------------------------------------------------------

def test_licences_lapse_at_listing_time_without_any_order_to_show_it(landing, orders):
    """Issue 31: GOV-02 judges orders, so a clinic whose licence lapsed after its last order
    is caught by the listing check alone; the sample has a revoked and an expired one."""
    _, manifest = landing
    assert manifest["injected"]["listing_licence_revoked"] >= 1
    assert manifest["injected"]["listing_licence_expired"] >= 1
    failing_orders = set(manifest["violations"]["GOV-02"]["entity_ids"])
    clinics_in_gov02 = {r["clinic_id"] for r in orders if r["order_id"] in failing_orders}
    listing_only = {cid: kind for cid, kind in manifest["violations"]["GOV-15"]["kinds"].items()
                    if cid not in clinics_in_gov02}
    assert {"licence_revoked", "licence_expired"} <= set(listing_only.values()), listing_only


def test_complaint_truth_matches_the_files(landing):
    """Every complaint type occurs, some complaints are resolved, and the manifest counts them
    as the loaded reviews (latest version of each) hold them."""
    root, manifest = landing
    complaints = [r for r in latest(loaded_review_rows(root, manifest), "review_id").values()
                  if r["is_complaint"]]
    by_type = Counter(r["complaint_type"] for r in complaints)
    assert manifest["truth"]["complaints"] == len(complaints)
    assert manifest["truth"]["complaints_by_type"] == dict(by_type)
    assert set(by_type) == {"infection", "outcome_mismatch", "hidden_fee", "service_attitude",
                            "other"}
    resolved = sum(1 for r in complaints if r["resolved_at"])
    assert manifest["truth"]["complaints_resolved"] == resolved
    assert 0 < resolved < len(complaints)


def test_expected_rows_match_the_files(landing, orders):
    root, manifest = landing
    assert manifest["expected_rows"]["orders"] == len(orders)
    assert manifest["expected_rows"]["reviews"] == len(loaded_review_rows(root, manifest))
    clinics = sum(len(read_csv_any(p / "clinics.csv")) for p in complete_partitions(root,
                                                                                    "clinics"))
    assert manifest["expected_rows"]["clinics"] == clinics
    for table in ("institutions", "practitioners", "products"):
        rows = sum(len(read_csv_any(p / f"{table}.csv"))
                   for p in complete_partitions(root, "registry"))
        assert manifest["expected_rows"][table] == rows


def test_market_truth_matches_the_files(landing, orders, crm):
    _, manifest = landing
    clinics, _ = crm
    done = [r for r in latest(orders, "order_id").values() if r["status"] == "completed"]
    assert manifest["truth"]["completed_orders"] == len(done)
    assert Decimal(manifest["truth"]["gmv"]) == sum(Decimal(str(r["paid_amount"])) for r in done)
    cells = defaultdict(lambda: [0, set(), Decimal("0")])
    for r in done:
        month = ts(r["completed_at"]).date().replace(day=1).isoformat()
        cell = cells[(month, clinics[r["clinic_id"]]["city"])]
        cell[0] += 1
        cell[1].add(r["user_id"])
        cell[2] += Decimal(str(r["paid_amount"]))
    expected = [{"month": m, "city": c, "orders": n, "buyers": len(b), "gmv": f"{g:.2f}"}
                for (m, c), (n, b, g) in sorted(cells.items())]
    assert manifest["truth"]["market_monthly"] == expected


def test_price_transparency_truth_matches_the_files(landing, orders):
    _, manifest = landing
    failing = set()
    for r in latest(orders, "order_id").values():
        if r["status"] != "completed":
            continue
        fees = json.loads(r["fee_items"])
        paid = Decimal(str(r["paid_amount"]))
        total = sum(Decimal(str(v)) for v in fees.values())
        missing = MANDATORY.get(CATEGORY[r["procedure_code"]], set()) - set(fees)
        if abs(total - paid) > 1 or missing or paid > Decimal(str(r["list_price"])):
            failing.add(r["order_id"])
    assert failing == set(manifest["violations"]["GOV-08"]["entity_ids"])


def test_licence_truth_matches_the_files(landing, crm):
    root, manifest = landing
    clinics, _ = crm
    newest = max(manifest["partitions"]["registry"])
    registry = {r["登记号"]: r for r in read_csv_any(root / "registry" / f"dt={newest}"
                                                    / "institutions.csv")}

    def norm(name):
        half = "".join(chr(ord(c) - 0xFEE0) if 0xFF01 <= ord(c) <= 0xFF5E else c for c in name)
        return "".join(half.split())

    failing = set()
    for c in clinics.values():
        if c["platform_status"] != "active":
            continue
        licence = registry.get(c["license_no"])
        if (licence is None or norm(licence["机构名称"]) != norm(c["name"])
                or licence["所在城市"].strip() != c["city"].strip()):
            failing.add(c["clinic_id"])
    assert failing == set(manifest["violations"]["GOV-01"]["entity_ids"])


# --- realism -----------------------------------------------------------------------------------

def test_the_market_looks_like_the_market(landing, orders, crm):
    _, manifest = landing
    clinics, doctors = crm
    tiers = Counter(c["tier"] for c in clinics.values())
    assert tiers["diamond"] >= 1
    assert 0.1 <= tiers["selected"] / len(clinics) <= 0.3
    assert 1 <= sum(c["platform_status"] == "delisted" for c in clinics.values()) <= 5
    final = list(latest(orders, "order_id").values())
    status = Counter(r["status"] for r in final)
    assert 0.55 <= status["completed"] / len(final) <= 0.8
    assert 0.04 <= status["refunded"] / len(final) <= 0.12
    assert 0.06 <= status["cancelled"] / len(final) <= 0.14
    assert 0.75 <= sum(r["buyer_gender"] == "F" for r in final) / len(final) <= 0.92
    done = [r for r in final if r["status"] == "completed"]
    travel = sum(r["buyer_city"] != clinics[r["clinic_id"]]["city"] for r in done) / len(done)
    assert 0.1 <= travel <= 0.25
    per_user = Counter(r["user_id"] for r in final)
    assert sum(n >= 2 for n in per_user.values()) / len(per_user) >= 0.2
    assert all(re.fullmatch(r"1[3-9]\d{9}", r["buyer_phone"]) for r in final)
    phones = defaultdict(set)
    for r in final:
        phones[r["user_id"]].add(r["buyer_phone"])
    assert all(len(p) == 1 for p in phones.values())  # one phone per user
    # prices: surgery is rarer but dearer than injectables
    mix = Counter(CATEGORY[r["procedure_code"]] for r in done)
    assert mix["injectable"] > mix["surgical"] and mix["energy"] > mix["surgical"]
    paid = defaultdict(list)
    for r in done:
        paid[r["procedure_code"]].append(Decimal(str(r["paid_amount"])))
    assert statistics.median(paid["P04"]) > 5 * statistics.median(paid["P07"])
    assert len(doctors) >= 3 * len(clinics)


def test_recent_daily_volumes_pass_the_volume_check(landing, orders):
    _, manifest = landing
    counts = Counter(r["_dt"] for r in orders)  # loaded rows per partition
    days = sorted(counts)
    newest, window = days[-1], [counts[d] for d in days[-29:-1]]
    median = statistics.median(window)
    assert all(0.6 * median <= n <= 1.4 * median for n in window)
    assert 0.5 * median <= counts[newest] <= 2 * median
    assert manifest["truth"]["orders_newest_partition_rows"] == counts[newest]
    assert manifest["blocking"] == []


def test_diamond_clinics_meet_the_diamond_bar(landing, crm):
    """Every clinic labelled 美钻 meets the bar, read here from the landing zone, except the ones
    whose label the manifest says is unearned (GOV-18's planted labels), which miss it."""
    root, manifest = landing
    clinics, doctors = crm
    bar = RULE_BY_ID["GOV-18"].parameters
    diamonds = [c for c in clinics.values() if c["tier"] == "diamond"]
    below_bar = {cid for cid, kinds in manifest["violations"]["GOV-18"]["kinds"].items()
                 if "diamond_below_bar" in kinds}
    assert below_bar, "the generator planted no unearned 美钻 label"
    unverified = (set(manifest["violations"]["GOV-06"]["entity_ids"])
                  | set(manifest["violations"]["GOV-07"]["entity_ids"]))
    reviews = latest(loaded_review_rows(root, manifest), "review_id")
    flagged_orders = set().union(*(manifest["violations"][r]["entity_ids"]
                                   for r in ("GOV-02", "GOV-03", "GOV-04", "GOV-05", "GOV-08")))
    orders_by_clinic = defaultdict(set)
    for path in (root / "orders").glob("dt=*/part-0000.parquet"):
        for r in pq.read_table(path, columns=["order_id", "clinic_id"]).to_pylist():
            orders_by_clinic[r["clinic_id"]].add(r["order_id"])

    def meets_bar(cid: str) -> bool:
        staff = [d for d in doctors if d["clinic_id"] == cid]
        verified = [r for r in reviews.values()
                    if r["clinic_id"] == cid and r["review_id"] not in unverified]
        return (
            cid not in manifest["violations"]["GOV-01"]["entity_ids"]
            and statistics.mean(int(d["years_experience"]) for d in staff)
            >= bar["min_avg_years_experience"]
            and any(d["is_chief_consultant"] == "true"
                    and int(d["years_experience"]) >= bar["chief_consultant_min_years"]
                    for d in staff)
            and any(int(d["case_count"]) >= bar["min_doctor_cases"] for d in staff)
            and len(verified) >= bar["min_verified_reviews"]
            and statistics.mean(statistics.mean(r["scores"].values()) for r in verified)
            >= bar["min_avg_score"]
            and not orders_by_clinic[cid] & flagged_orders
        )

    assert below_bar <= {c["clinic_id"] for c in diamonds}
    for clinic in diamonds:
        assert meets_bar(clinic["clinic_id"]) == (clinic["clinic_id"] not in below_bar), clinic
