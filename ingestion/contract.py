"""The feed contract of ../shared/spec/feeds.md, as data.

Every landed table is described once here: its folder and file pattern, its
format, and its columns with type, requiredness, allowed values and, for the
registries, the Chinese header that maps to the English column name. Readers,
validation and the raw-table DDL are all derived from these descriptions.
"""

from __future__ import annotations

from dataclasses import dataclass

# Column kinds understood by the validator (ingestion/validate.py).
TEXT, INT, DECIMAL, TIMESTAMP, DATE, BOOL, JSON = (
    "text",
    "int",
    "decimal",
    "timestamp",
    "date",
    "bool",
    "json",
)

SQL_TYPES = {
    TEXT: "VARCHAR",
    INT: "INTEGER",
    DECIMAL: "DECIMAL(12,2)",
    TIMESTAMP: "TIMESTAMPTZ",
    DATE: "DATE",
    BOOL: "BOOLEAN",
    JSON: "VARCHAR",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = TEXT
    required: bool = False
    allowed: tuple[str, ...] | None = None
    pattern: str | None = None
    header: str | None = None  # the delivered header when it differs (Chinese registries)
    pii: bool = False  # replaced by `<name>_hash` before anything is written
    true_values: tuple[str, str] = ("true", "false")  # how a BOOL is spelt: (true, false)

    @property
    def delivered_name(self) -> str:
        return self.header or self.name

    @property
    def stored_name(self) -> str:
        return f"{self.name}_hash" if self.pii else self.name


@dataclass(frozen=True)
class TableContract:
    table: str  # raw table name, also the Dagster asset key suffix
    feed: str  # landing folder
    file_pattern: str  # glob inside a dt= folder
    file_format: str  # csv, gbk_csv, parquet_or_csv, jsonl
    key: tuple[str, ...]
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


ISO_TS = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}:?\d{2}|Z)$"
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
DEPARTMENTS = ("美容外科", "美容皮肤科", "美容牙科", "美容中医科")

CLINICS = TableContract(
    table="clinics",
    feed="clinics",
    file_pattern="clinics.csv",
    file_format="csv",
    key=("clinic_id",),
    columns=(
        Column("clinic_id", required=True, pattern=r"^C\d{6}$"),
        Column("name", required=True),
        Column("license_no", required=True),
        Column("city", required=True),
        Column("district"),
        Column("address"),
        Column(
            "clinic_type",
            required=True,
            allowed=("医疗美容医院", "医疗美容门诊部", "医疗美容诊所", "综合医院医疗美容科"),
        ),
        Column("declared_departments"),
        Column("tier", required=True, allowed=("none", "selected", "diamond")),
        Column("platform_status", required=True, allowed=("active", "delisted")),
        Column("joined_at", DATE),
        Column("updated_at", TIMESTAMP, required=True),
    ),
)

DOCTORS = TableContract(
    table="doctors",
    feed="clinics",
    file_pattern="doctors.csv",
    file_format="csv",
    key=("doctor_id",),
    columns=(
        Column("doctor_id", required=True, pattern=r"^D\d{7}$"),
        Column("clinic_id", required=True, pattern=r"^C\d{6}$"),
        Column("name", required=True),
        Column("practitioner_license_no", pattern=r"^\d{15}$"),
        Column("title", allowed=("主任医师", "副主任医师", "主治医师", "医师")),
        Column("years_experience", INT),
        Column("case_count", INT),
        Column("is_chief_consultant", BOOL),
        Column("updated_at", TIMESTAMP, required=True),
    ),
)

ORDER_STATUSES = ("created", "paid", "completed", "refunded", "cancelled")
CHANNELS = ("app", "mini_program", "live_stream", "video_consult", "offline_referral")

ORDERS = TableContract(
    table="orders",
    feed="orders",
    file_pattern="part-*",
    file_format="parquet_or_csv",
    key=("order_id", "updated_at"),
    columns=(
        Column("order_id", required=True),
        Column("user_id", required=True),
        Column("buyer_phone", pii=True, pattern=r"^1[3-9]\d{9}$"),
        Column("buyer_gender", allowed=("F", "M", "U")),
        Column("buyer_birth_year", INT),
        Column("buyer_city"),
        Column("clinic_id", required=True),
        Column("doctor_id"),
        Column("procedure_code", required=True),
        Column("product_registration_no"),
        Column("device_serial"),
        Column("channel", required=True, allowed=CHANNELS),
        Column("list_price", DECIMAL, required=True),
        Column("paid_amount", DECIMAL, required=True),
        Column("fee_items", JSON),
        Column("status", required=True, allowed=ORDER_STATUSES),
        Column("created_at", TIMESTAMP, required=True),
        Column("paid_at", TIMESTAMP),
        Column("completed_at", TIMESTAMP),
        Column("payment_txn_id"),
        Column("updated_at", TIMESTAMP, required=True),
    ),
)

COMPLAINT_TYPES = ("infection", "outcome_mismatch", "hidden_fee", "service_attitude", "other")

# Reviews arrive as nested JSON; `scores.doctor` lands as `score_doctor` and so on.
REVIEW_SCORES = ("doctor", "process", "environment", "effect_match", "value")

REVIEWS = TableContract(
    table="reviews",
    feed="reviews",
    file_pattern="part-*.jsonl",
    file_format="jsonl",
    key=("review_id", "updated_at"),
    columns=(
        Column("review_id", required=True),
        Column("order_id"),
        Column("user_id", required=True),
        Column("clinic_id", required=True),
        Column("created_at", TIMESTAMP, required=True),
        Column("updated_at", TIMESTAMP, required=True),
        *(
            Column(f"score_{s}", INT, allowed=("1", "2", "3", "4", "5"), header=f"scores.{s}")
            for s in REVIEW_SCORES
        ),
        Column("text"),
        Column("receipt_count", INT),
        Column("photo_count", INT),
        Column("ip", pii=True),
        Column("device_id", pii=True),
        Column("is_complaint", BOOL),
        Column("complaint_type", allowed=COMPLAINT_TYPES),
        Column("merchant_reply_at", TIMESTAMP),
        Column("resolved_at", TIMESTAMP),
    ),
)

INSTITUTIONS = TableContract(
    table="institutions",
    feed="registry",
    file_pattern="institutions.csv",
    file_format="gbk_csv",
    key=("license_no",),
    columns=(
        Column("license_no", required=True, header="登记号"),
        Column("institution_name", required=True, header="机构名称"),
        Column("city", required=True, header="所在城市"),
        Column("address", header="地址"),
        Column("approved_departments", header="诊疗科目"),
        Column("valid_from", DATE, header="有效期起"),
        Column("valid_to", DATE, header="有效期止"),
        Column(
            "status", required=True, allowed=("正常", "注销", "吊销", "停业整顿"), header="状态"
        ),
        Column("updated_on", DATE, header="更新日期"),
    ),
)

PRACTITIONERS = TableContract(
    table="practitioners",
    feed="registry",
    file_pattern="practitioners.csv",
    file_format="gbk_csv",
    key=("practitioner_license_no",),
    columns=(
        Column("practitioner_license_no", required=True, header="执业证书编码"),
        Column("name", header="姓名"),
        Column("practice_category", header="执业类别"),
        Column("practice_scope", header="执业范围"),
        Column("primary_institution_license_no", header="主执业机构登记号"),
        Column(
            "is_chief_aesthetic_physician", BOOL, header="美容主诊医师", true_values=("是", "否")
        ),
        Column("chief_specialty", allowed=DEPARTMENTS, header="主诊专业"),
        Column("status", required=True, allowed=("正常", "注销", "暂停"), header="状态"),
        Column("updated_on", DATE, header="更新日期"),
    ),
)

PRODUCT_CATEGORIES = (
    "透明质酸钠填充剂",
    "A型肉毒毒素",
    "乳房植入体",
    "射频治疗仪",
    "强脉冲光治疗仪",
    "超声治疗仪",
    "激光治疗仪",
    "其他",
)

PRODUCTS = TableContract(
    table="products",
    feed="registry",
    file_pattern="products.csv",
    file_format="gbk_csv",
    key=("registration_no",),
    columns=(
        Column("registration_no", required=True, header="注册证编号"),
        Column("product_name", header="产品名称"),
        Column("brand", header="品牌"),
        Column("product_category", required=True, allowed=PRODUCT_CATEGORIES, header="类别"),
        Column("registrant", header="注册人"),
        Column("approved_on", DATE, header="批准日期"),
        Column("valid_to", DATE, header="有效期至"),
        Column("status", required=True, allowed=("有效", "注销"), header="状态"),
    ),
)

TABLES: tuple[TableContract, ...] = (
    CLINICS,
    DOCTORS,
    ORDERS,
    REVIEWS,
    INSTITUTIONS,
    PRACTITIONERS,
    PRODUCTS,
)
FEEDS: dict[str, tuple[TableContract, ...]] = {
    "registry": (INSTITUTIONS, PRACTITIONERS, PRODUCTS),
    "clinics": (CLINICS, DOCTORS),
    "orders": (ORDERS,),
    "reviews": (REVIEWS,),
}
TABLE_BY_NAME = {t.table: t for t in TABLES}
# Orders are resolved against the CRM at ingestion (GOV-11): a feed loads after the feeds
# it is resolved against.
RESOLVED_AGAINST: dict[str, tuple[str, ...]] = {"orders": ("clinics",)}
