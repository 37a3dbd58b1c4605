"""An incremental build of the order and review facts gives the rows a full refresh gives.

Part of a generated landing zone is loaded and built; then the rest arrives (later days, a
late partition of an old day, later versions of orders already built) together with corrected
re-sends of an orders and a reviews partition that were built already: the re-sends withdraw
the winning version of an order that has an older one, withdraw orders and reviews entirely,
and correct an amount and a receipt count. The incremental build must equal, row for row, a
`--full-refresh` build of the same raw data, for the incremental models and everything built
on them (compliance facts and marts).
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.contract import FEEDS
from ingestion.duck import connect
from ingestion.loader import load_feed
from tests.conftest import AS_OF, TEST_PII_KEY
from tests.transform.dbt_helpers import assert_same_rows, read_models, run_dbt

CUTOFF = AS_OF - timedelta(days=25)  # the first build sees deliveries up to this day
SNAPSHOT_FEEDS = ("clinics", "registry")
PAID_CORRECTION = Decimal("100.00")

WINNERS = """
    select *
    from (
        select
            {key}, _dt, _source_file, {status} as status,
            row_number() over (
                partition by {key}
                order by updated_at desc, _dt desc, _row_number desc, _source_file desc
            ) as version_rank,
            min(_dt) over (partition by {key}) as first_dt
        from raw.{table}
    )
    where version_rank = 1
"""


def _ingest(landing: Path, data_dir: Path, run_id: str) -> None:
    con = connect(data_dir / "warehouse.duckdb")
    try:
        for feed in FEEDS:  # the CRM before the orders that resolve against it
            load_feed(con, str(landing), feed, TEST_PII_KEY.encode(), run_id)
    finally:
        con.close()


def _build(data_dir: Path, target: Path, as_of: date, *flags: str) -> None:
    run_dbt(data_dir, target, "build", "--vars", json.dumps({"as_of": as_of.isoformat()}), *flags)


def _day(partition: Path) -> date:
    return date.fromisoformat(partition.name.removeprefix("dt="))


def _plain_partitions(landing: Path, feed: str, manifest: dict, suffix: str) -> list[Path]:
    """Complete partitions up to the cutoff that no bad delivery touches, files of one kind."""
    touched = {"/".join(b["file"].split("/")[:2]) for b in manifest["bad_deliveries"]}
    return [
        p
        for p in sorted((landing / feed).glob("dt=*"))
        if _day(p) <= CUTOFF
        and (p / "_SUCCESS").exists()
        and f"{feed}/{p.name}" not in touched
        and all(f.suffix == suffix for f in p.iterdir() if f.name != "_SUCCESS")
    ]


def _choose_order_resend(con: duckdb.DuckDBPyConnection, days: list[Path]) -> dict:
    """A built orders partition and what its corrected re-send changes."""
    winners = con.sql(WINNERS.format(key="order_id", table="orders", status="status"))
    for partition in reversed(days):
        day = _day(partition)
        here = f"_dt = date '{day}'"
        fallback = winners.filter(f"{here} and first_dt < _dt").order("order_id").fetchall()
        withdrawn = winners.filter(f"{here} and first_dt = _dt and status = 'cancelled'")
        withdrawn = [r[0] for r in withdrawn.order("order_id").fetchall()][:3]
        corrected = winners.filter(f"{here} and first_dt = _dt and status = 'completed'")
        corrected = [r[0] for r in corrected.order("order_id").fetchall()]
        if fallback and withdrawn and corrected:
            return {
                "partition": partition,
                "fallback": fallback[0][0],
                "withdrawn": withdrawn,
                "corrected": corrected[0],
            }
    raise AssertionError("no orders partition fits the re-send scenario")


def _choose_review_resend(con: duckdb.DuckDBPyConnection, days: list[Path]) -> dict:
    winners = con.sql(WINNERS.format(key="review_id", table="reviews", status="null"))
    for partition in reversed(days):
        here = winners.filter(f"_dt = date '{_day(partition)}' and first_dt = _dt")
        ids = [r[0] for r in here.order("review_id").fetchall()]
        if len(ids) >= 4:
            return {"partition": partition, "withdrawn": ids[:3], "corrected": ids[3]}
    raise AssertionError("no reviews partition fits the re-send scenario")


def _resend_orders(plan: dict) -> None:
    """Rewrite the partition's Parquet files: the corrected delivery replaces the first one."""
    dropped = {plan["fallback"], *plan["withdrawn"]}
    for path in sorted(plan["partition"].glob("*.parquet")):
        table = pq.read_table(path)
        keep = pa.array([order_id not in dropped for order_id in table["order_id"].to_pylist()])
        table = table.filter(keep)
        paid = [
            amount + PAID_CORRECTION if order_id == plan["corrected"] else amount
            for order_id, amount in zip(
                table["order_id"].to_pylist(), table["paid_amount"].to_pylist(), strict=True
            )
        ]
        index = table.schema.get_field_index("paid_amount")
        table = table.set_column(
            index, table.schema.field(index), pa.array(paid, type=table.schema.field(index).type)
        )
        pq.write_table(table, path)
    (plan["partition"] / "_SUCCESS").write_text("", encoding="utf-8")


def _resend_reviews(plan: dict) -> None:
    for path in sorted(plan["partition"].glob("*.jsonl")):
        lines = []
        for line in path.read_text(encoding="utf-8").splitlines():
            review = json.loads(line)
            if review["review_id"] in plan["withdrawn"]:
                continue
            if review["review_id"] == plan["corrected"]:
                review["receipt_count"] = 0
                review["text"] = (review["text"] or "") + "（已更正）"
                line = json.dumps(review, ensure_ascii=False)
            lines.append(line)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (plan["partition"] / "_SUCCESS").write_text("", encoding="utf-8")


@pytest.fixture(scope="module")
def builds(tmp_path_factory, small_landing) -> SimpleNamespace:
    full_landing, manifest = small_landing
    root = tmp_path_factory.mktemp("incremental")
    landing, held, data_dir, target = (root / n for n in ("landing", "held", "data", "target"))
    data_dir.mkdir()
    shutil.copytree(full_landing, landing)

    # First delivery: everything up to the cutoff, except one old orders partition (late).
    order_days = _plain_partitions(landing, "orders", manifest, ".parquet")
    late = order_days[-4]
    for feed in (*SNAPSHOT_FEEDS, "orders", "reviews"):
        for partition in sorted((landing / feed).glob("dt=*")):
            if _day(partition) > CUTOFF or partition == late:
                (held / feed).mkdir(parents=True, exist_ok=True)
                shutil.move(partition, held / feed / partition.name)
    _ingest(landing, data_dir, "run-1")
    _build(data_dir, target, CUTOFF + timedelta(days=1))
    first = read_models(data_dir / "warehouse.duckdb")

    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        order_resend = _choose_order_resend(con, [d for d in order_days if d != late])
        review_resend = _choose_review_resend(
            con, _plain_partitions(landing, "reviews", manifest, ".jsonl")
        )
        original_paid = con.execute(
            "select paid_amount from staging.stg_orders__orders where order_id = ?",
            [order_resend["corrected"]],
        ).fetchone()[0]
    finally:
        con.close()

    # Second delivery: the rest, the late partition, and the corrected re-sends.
    for feed_dir in held.iterdir():
        for partition in feed_dir.iterdir():
            shutil.move(partition, landing / feed_dir.name / partition.name)
    _resend_orders(order_resend)
    _resend_reviews(review_resend)
    _ingest(landing, data_dir, "run-2")
    _build(data_dir, target, AS_OF)
    incremental = read_models(data_dir / "warehouse.duckdb")
    compiled = (
        target / "compiled" / "yimei" / "models" / "staging" / "orders" / "stg_orders__orders.sql"
    ).read_text(encoding="utf-8")
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        raw_orders = {
            r[0] for r in con.execute("select distinct order_id from raw.orders").fetchall()
        }
        raw_reviews = {
            r[0] for r in con.execute("select distinct review_id from raw.reviews").fetchall()
        }
        updated_later = con.execute(
            f"""
            select count(*) from ({WINNERS.format(key="order_id", table="orders", status="status")})
            where first_dt <= date '{CUTOFF}' and _dt > date '{CUTOFF}'
            """
        ).fetchone()[0]
    finally:
        con.close()

    # Nothing new: a second incremental build changes nothing. Then the full refresh.
    _build(data_dir, target, AS_OF)
    again = read_models(data_dir / "warehouse.duckdb")
    _build(data_dir, target, AS_OF, "--full-refresh")
    full = read_models(data_dir / "warehouse.duckdb")
    return SimpleNamespace(
        first=first,
        incremental=incremental,
        again=again,
        full=full,
        compiled=compiled,
        late=late,
        order_resend=order_resend,
        review_resend=review_resend,
        original_paid=original_paid,
        raw_orders=raw_orders,
        raw_reviews=raw_reviews,
        updated_later=updated_later,
    )


def _row(frame, key: str, value: str) -> dict | None:
    rows = frame.filter(frame[key] == value).to_dicts()
    return rows[0] if rows else None


def test_the_second_build_is_incremental(builds):
    # the high-water mark and the re-ranked keys appear only in the incremental branch
    assert "_loaded_at >" in builds.compiled
    assert "delivered_on in" in builds.compiled


def test_incremental_build_equals_full_refresh(builds):
    assert_same_rows(builds.incremental, builds.full)


def test_a_build_without_new_deliveries_changes_nothing(builds):
    assert_same_rows(builds.again, builds.incremental)


def test_later_partitions_update_orders_of_earlier_ones(builds):
    assert builds.updated_later > 0
    orders = builds.incremental["staging.stg_orders__orders"]
    late_day = date.fromisoformat(builds.late.name.removeprefix("dt="))
    assert orders.filter(orders["delivered_on"] == late_day).height > 0


def test_a_resend_replaces_the_winning_version(builds):
    plan = builds.order_resend
    resent_day = date.fromisoformat(plan["partition"].name.removeprefix("dt="))
    orders = builds.incremental["staging.stg_orders__orders"]
    before = _row(builds.first["staging.stg_orders__orders"], "order_id", plan["fallback"])
    after = _row(orders, "order_id", plan["fallback"])
    assert before["delivered_on"] == resent_day
    # the re-send withdrew the version that won: the order falls back to its earlier one
    # (or to a later partition's version)
    assert after is not None and after["delivered_on"] != resent_day
    corrected = _row(orders, "order_id", plan["corrected"])
    assert corrected["paid_amount"] == builds.original_paid + PAID_CORRECTION


def test_a_resend_withdraws_orders_and_reviews(builds):
    orders = builds.incremental["staging.stg_orders__orders"]
    withdrawn = [o for o in builds.order_resend["withdrawn"] if o not in builds.raw_orders]
    assert withdrawn, "every withdrawn order came back in a later partition"
    assert orders.filter(orders["order_id"].is_in(withdrawn)).height == 0

    reviews = builds.incremental["staging.stg_reviews__reviews"]
    withdrawn = [r for r in builds.review_resend["withdrawn"] if r not in builds.raw_reviews]
    assert withdrawn, "every withdrawn review came back in a later partition"
    assert reviews.filter(reviews["review_id"].is_in(withdrawn)).height == 0
    corrected = _row(reviews, "review_id", builds.review_resend["corrected"])
    assert corrected["receipt_count"] == 0
