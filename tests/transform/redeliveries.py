"""Deliveries after a first build: corrected re-sends of an orders and a reviews partition
built already, late copies of a review, a registry snapshot that revokes a licence. Each
change is chosen from what a run built, so that it withdraws, corrects or moves rows that
exist (the incremental tests on DuckDB, tests/transform/test_incremental.py, and on Spark,
tests/test_spark_engine.py)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

PAID_CORRECTION = Decimal("100.00")
MOVED_BY = timedelta(days=45)

# Each delivered order's (review's) winning version, as the staging model ranked it, and the
# first delivery that brought the order: read from what the run built, not ranked again here.
WINNERS = """
    select built.{key}, built.delivered_on as _dt, {status} as status, firsts.first_dt
    from staging.{model} as built
    inner join (
        select {key}, min(_dt) as first_dt from raw.{table} group by {key}
    ) as firsts using ({key})
"""
ORDER_WINNERS = WINNERS.format(
    key="order_id", model="stg_orders__orders", status="built.order_status", table="orders"
)
REVIEW_WINNERS = WINNERS.format(
    key="review_id", model="stg_reviews__reviews", status="null", table="reviews"
)


def partition_day(partition: Path) -> date:
    return date.fromisoformat(partition.name.removeprefix("dt="))


def plain_partitions(
    landing: Path, feed: str, manifest: dict, suffix: str, until: date
) -> list[Path]:
    """Complete partitions up to ``until`` that no bad delivery touches, files of one kind."""
    touched = {"/".join(b["file"].split("/")[:2]) for b in manifest["bad_deliveries"]}
    return [
        p
        for p in sorted((landing / feed).glob("dt=*"))
        if partition_day(p) <= until
        and (p / "_SUCCESS").exists()
        and f"{feed}/{p.name}" not in touched
        and all(f.suffix == suffix for f in p.iterdir() if f.name != "_SUCCESS")
    ]


def choose_order_resend(con: duckdb.DuckDBPyConnection, days: list[Path]) -> dict:
    """A built orders partition and what its corrected re-send changes."""
    winners = con.sql(ORDER_WINNERS)
    for partition in reversed(days):
        day = partition_day(partition)
        here = f"_dt = date '{day}'"
        fallback = winners.filter(f"{here} and first_dt < _dt").order("order_id").fetchall()
        withdrawn = winners.filter(f"{here} and first_dt = _dt and status = 'cancelled'")
        withdrawn = [r[0] for r in withdrawn.order("order_id").fetchall()][:3]
        corrected = winners.filter(f"{here} and first_dt = _dt and status = 'completed'")
        corrected = [r[0] for r in corrected.order("order_id").fetchall()]
        if fallback and withdrawn and len(corrected) >= 2:
            return {
                "partition": partition,
                "fallback": fallback[0][0],
                "withdrawn": withdrawn,
                "corrected": corrected[0],
                "moved": corrected[1],
            }
    raise AssertionError("no orders partition fits the re-send scenario")


def choose_review_resend(con: duckdb.DuckDBPyConnection, days: list[Path]) -> dict:
    winners = con.sql(REVIEW_WINNERS)
    for partition in reversed(days):
        here = winners.filter(f"_dt = date '{partition_day(partition)}' and first_dt = _dt")
        ids = [r[0] for r in here.order("review_id").fetchall()]
        if len(ids) >= 5:
            return {
                "partition": partition,
                "withdrawn": ids[:3],
                "corrected": ids[3],
                "moved": ids[4],
            }
    raise AssertionError("no reviews partition fits the re-send scenario")


def choose_unflagged_review(con: duckdb.DuckDBPyConnection, resent: dict) -> str:
    """A review built already and not flagged by GOV-07, with a text of its own in its clinic."""
    row = con.execute(
        """
        select reviews.review_id
        from staging.stg_reviews__reviews as reviews
        inner join intermediate.int_reviews__manipulation as judged using (review_id)
        where not judged.manipulation_flagged
            and length(reviews.review_text) >= 8
            and reviews.review_id not in (select unnest(?))
            and reviews.review_text not in (
                select review_text from staging.stg_reviews__reviews
                group by review_text having count(*) > 1
            )
        order by reviews.review_id
        limit 1
        """,
        [[*resent["withdrawn"], resent["corrected"], resent["moved"]]],
    ).fetchone()
    assert row, "no unflagged review with a text of its own"
    return row[0]


def resend_orders(plan: dict) -> None:
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
        # the moved order was created and completed 45 days earlier: another month
        for column in ("created_at", "paid_at", "completed_at"):
            index = table.schema.get_field_index(column)
            values = [
                at - MOVED_BY if order_id == plan["moved"] and at is not None else at
                for order_id, at in zip(
                    table["order_id"].to_pylist(), table[column].to_pylist(), strict=True
                )
            ]
            table = table.set_column(
                index,
                table.schema.field(index),
                pa.array(values, type=table.schema.field(index).type),
            )
        pq.write_table(table, path)
    (plan["partition"] / "_SUCCESS").write_text("", encoding="utf-8")


def revoke_in_snapshot(partition: Path, license_no: str) -> None:
    """The late snapshot reports the licence 吊销 since ten days before it."""
    path = partition / "institutions.csv"
    raw = path.read_bytes()
    encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        encoding = "gb18030"
        text = raw.decode(encoding)
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    revoked_on = (partition_day(partition) - timedelta(days=10)).isoformat()
    hits = 0
    for row in rows[1:]:
        if row and row[header.index("登记号")] == license_no:
            row[header.index("状态")] = "吊销"
            row[header.index("更新日期")] = revoked_on
            hits += 1
    assert hits, f"{license_no} is not in the late snapshot"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))


def resend_reviews(plan: dict) -> None:
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
            if review["review_id"] == plan["moved"]:
                # written 45 days earlier: another month
                for column in ("created_at", "merchant_reply_at", "resolved_at"):
                    if review[column]:
                        review[column] = (
                            datetime.fromisoformat(review[column]) - MOVED_BY
                        ).isoformat()
                line = json.dumps(review, ensure_ascii=False)
            lines.append(line)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (plan["partition"] / "_SUCCESS").write_text("", encoding="utf-8")


def deliver_copies_of(review_id: str, landing: Path, into: Path) -> list[str]:
    """A late file in `into`: four copies of the review by other users, each an hour later."""
    for path in sorted(landing.glob("reviews/dt=*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            original = json.loads(line)
            if original["review_id"] == review_id:
                break
        else:
            continue
        break
    else:
        raise AssertionError(f"{review_id} is not in the landing zone")
    copies = []
    for n in range(1, 5):
        written = datetime.fromisoformat(original["created_at"]) + timedelta(hours=n)
        copies.append(
            {
                **original,
                "review_id": f"{review_id}-copy{n}",
                "user_id": f"{original['user_id']}-copy{n}",
                "ip": f"192.0.2.{n}",
                "device_id": f"copy-device-{n}",
                "created_at": written.isoformat(),
                "updated_at": written.isoformat(),
            }
        )
    (into / "part-late-copies.jsonl").write_text(
        "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in copies), encoding="utf-8"
    )
    (into / "_SUCCESS").write_text("", encoding="utf-8")
    return [c["review_id"] for c in copies]
