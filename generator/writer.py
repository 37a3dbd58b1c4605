"""Writes the landing zone exactly as feeds.md describes it.

Formats are fixed so the same data always gives the same bytes: Parquet with
explicit types and writer options, CSV with '\\n' line ends and minimal quoting,
JSON Lines as compact UTF-8, partitions and rows in sorted order, and no
timestamps of the generation itself anywhere.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from generator.config import DAY, Timeline, date_of
from generator.crm import World, clinic_frame, doctor_frame
from generator.defects import DefectPlan, OrderPart
from generator.orders import N_EVENTS, SAC_NONE, Orders, Users, version_frame
from generator.registry import RegistryExport
from generator.reviews import Reviews, versions
from generator.reviews import version_frame as review_version_frame
from generator.util import decimal_array, money_strings, rng_for, timestamp_array, ts_strings

FEEDS = ("clinics", "orders", "reviews", "registry")
SUCCESS = "_SUCCESS"
ORDER_COLUMNS = ("order_id", "user_id", "buyer_phone", "buyer_gender", "buyer_birth_year",
                 "buyer_city", "clinic_id", "doctor_id", "procedure_code",
                 "product_registration_no", "device_serial", "channel", "list_price",
                 "paid_amount", "fee_items", "status", "created_at", "paid_at", "completed_at",
                 "payment_txn_id", "updated_at")
TS = pa.timestamp("us", tz="Asia/Shanghai")
MONEY = pa.decimal128(12, 2)
ORDER_SCHEMA = pa.schema([
    (name, TS if name.endswith("_at") else MONEY if name in ("list_price", "paid_amount")
     else pa.int32() if name == "buyer_birth_year" else pa.string())
    for name in ORDER_COLUMNS
])
PART_ROWS = 500_000  # rows per orders part file
BLOCK_ROWS = 250_000  # versions rendered at once


@dataclass
class WriteStats:
    partitions: dict[str, list[str]] = field(default_factory=lambda: {f: [] for f in FEEDS})
    incomplete: list[str] = field(default_factory=list)
    expected_rows: dict[str, int] = field(default_factory=dict)
    bad_deliveries: list[dict] = field(default_factory=list)
    orders_rows_per_day: dict[int, int] = field(default_factory=dict)  # loaded rows per dt

    def add_rows(self, table: str, n: int) -> None:
        self.expected_rows[table] = self.expected_rows.get(table, 0) + n


def prepare(landing: Path) -> None:
    """The landing zone is the generator's output: replace the four feed folders."""
    landing.mkdir(parents=True, exist_ok=True)
    for feed in FEEDS:
        target = landing / feed
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.exists():
            shutil.rmtree(target)


def _partition(landing: Path, feed: str, day: int) -> Path:
    path = landing / feed / f"dt={date_of(day).isoformat()}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _complete(stats: WriteStats, landing: Path, feed: str, day: int) -> None:
    (_partition(landing, feed, day) / SUCCESS).write_bytes(b"")
    stats.partitions[feed].append(date_of(day).isoformat())


def _rel(landing: Path, path: Path) -> str:
    return path.relative_to(landing).as_posix()


# --- CRM and registry snapshots -------------------------------------------------------------

def write_snapshots(landing: Path, tl: Timeline, world: World, plan: DefectPlan,
                    stats: WriteStats, pii_leak: dict | None) -> RegistryExport:
    export = RegistryExport(world.registry, tl.snapshots[0])
    for day in tl.snapshots:
        folder = _partition(landing, "clinics", day)
        clinics = clinic_frame(world, day, pii_leak)
        doctors = doctor_frame(world, tl, day)
        (folder / "clinics.csv").write_bytes(clinics.write_csv().encode("utf-8"))
        (folder / "doctors.csv").write_bytes(doctors.write_csv().encode("utf-8"))
        stats.add_rows("clinics", clinics.height)
        stats.add_rows("doctors", doctors.height)
        _complete(stats, landing, "clinics", day)

        folder = _partition(landing, "registry", day)
        encoding, kind = "gbk", None
        if day == plan.registry_utf8:
            encoding, kind = "utf-8", "registry_utf8"
        elif day == plan.registry_bom:
            encoding, kind = "utf-8-sig", "registry_bom"
        for table in ("institutions", "practitioners", "products"):
            path = folder / f"{table}.csv"
            path.write_bytes(export.csv_text(table, day).encode(encoding))
            stats.add_rows(table, export.rows(table))
            if kind:
                stats.bad_deliveries.append({
                    "kind": kind, "feed": "registry", "table": table,
                    "file": _rel(landing, path), "expect": "load", "rows": export.rows(table),
                    "detail": "UTF-8 with BOM instead of GBK" if kind == "registry_bom"
                    else "UTF-8 instead of GBK",
                })
        _complete(stats, landing, "registry", day)
    return export


# --- orders ---------------------------------------------------------------------------------

def order_arrow(frame: pl.DataFrame, extra: dict[str, list] | None = None) -> pa.Table:
    """Version rows as an Arrow table with exactly the feeds.md Parquet types."""
    columns = []
    for name in ORDER_COLUMNS:
        if name in ("list_price", "paid_amount"):
            columns.append(decimal_array(frame["list_cents" if name == "list_price"
                                               else "paid_cents"].to_numpy()))
        elif name.endswith("_at"):
            values = frame[name.replace("_at", "_s")]
            null = values.is_null().to_numpy()
            columns.append(timestamp_array(values.fill_null(0).to_numpy(), null))
        elif name == "buyer_birth_year":
            columns.append(frame[name].to_arrow().cast(pa.int32()))
        else:
            columns.append(frame[name].to_arrow().cast(pa.string()))
    table = pa.Table.from_arrays(columns, schema=ORDER_SCHEMA)
    for name, values in (extra or {}).items():
        table = table.append_column(pa.field(name, pa.string()), pa.array(values, pa.string()))
    return table


def order_strings(frame: pl.DataFrame) -> pl.DataFrame:
    """Version rows as CSV text columns: ISO timestamps with +08:00, two-decimal money."""
    columns = {}
    for name in ORDER_COLUMNS:
        if name in ("list_price", "paid_amount"):
            columns[name] = money_strings(frame["list_cents" if name == "list_price"
                                                else "paid_cents"].to_numpy())
        elif name.endswith("_at"):
            values = frame[name.replace("_at", "_s")]
            columns[name] = ts_strings(values.fill_null(0).to_numpy(),
                                       values.is_null().to_numpy())
        else:
            columns[name] = frame[name].cast(pl.String)
    return pl.DataFrame(columns)


# Dictionary-encode only the low-cardinality columns: ids, phones and fee texts gain nothing.
DICTIONARY_COLUMNS = ["buyer_gender", "buyer_city", "clinic_id", "doctor_id", "procedure_code",
                      "product_registration_no", "device_serial", "channel", "status"]


def _parquet_bytes(table: pa.Table) -> bytes:
    """Fixed writer options, so equal tables give equal bytes."""
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", compression_level=1,
                   use_dictionary=[c for c in DICTIONARY_COLUMNS if c in table.column_names],
                   write_statistics=True, row_group_size=PART_ROWS)
    return sink.getvalue()


def _event_order(orders: Orders, keep: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per event: (order indices sorted by the event's instant, the instants)."""
    out = []
    for e in range(N_EVENTS):
        idx = np.flatnonzero(keep[:, e]).astype(np.int64)
        t = orders.t[idx, e]
        order = np.argsort(t, kind="stable")
        out.append((idx[order], t[order]))
    return out


def _day_blocks(bounds: np.ndarray, limit: int) -> list[tuple[int, int]]:
    """Consecutive day ranges [i, j) holding about `limit` rows each (bounds: row offsets)."""
    blocks, first = [], 0
    for k in range(1, len(bounds)):
        if bounds[k] - bounds[first] >= limit or k == len(bounds) - 1:
            blocks.append((first, k))
            first = k
    return blocks


def write_orders(landing: Path, cfg, tl: Timeline, world: World, orders: Orders, users: Users,
                 plan: DefectPlan, stats: WriteStats) -> None:
    """Every order version in the partition of its local date, rendered a block of days at a
    time (one DataFrame and one Arrow table per block, sliced per day)."""
    keep = (orders.t >= 0) & ~orders.dropped & (orders.sac == SAC_NONE)[:, None]
    by_event = _event_order(orders, keep)
    parts_by_day: dict[int, list[OrderPart]] = {}
    for part in plan.parts:
        parts_by_day.setdefault(part.day, []).append(part)
    layout = rng_for(cfg.seed, "part-layout").random(tl.n_days)
    days = np.arange(tl.start, tl.as_of + 2)
    counts = np.zeros(len(days) - 1, dtype=np.int64)
    for _idx, times in by_event:
        counts += np.diff(np.searchsorted(times, days * DAY))
    bounds = np.r_[0, np.cumsum(counts)]
    for first, last in _day_blocks(bounds, BLOCK_ROWS):
        idx, ev, t = [], [], []
        for e, (sorted_idx, times) in enumerate(by_event):
            lo, hi = np.searchsorted(times, [days[first] * DAY, days[last] * DAY])
            idx.append(sorted_idx[lo:hi])
            t.append(times[lo:hi])
            ev.append(np.full(hi - lo, e))
        idx, ev, t = np.concatenate(idx), np.concatenate(ev), np.concatenate(t)
        order = np.lexsort((ev, idx, t))
        idx, ev, t = idx[order], ev[order], t[order]
        frame = version_frame(orders, users, world, idx, ev)
        table = order_arrow(frame)
        starts = np.searchsorted(t, days[first:last + 1] * DAY)
        for k in range(first, last):
            day = int(days[k])
            lo, hi = int(starts[k - first]), int(starts[k - first + 1])
            _write_order_day(landing, tl, day, layout[k], frame, table, lo, hi,
                             parts_by_day.get(day, []), orders, users, world, stats)


def _write_order_day(landing, tl, day, layout, frame, table, lo, hi, parts, orders, users,
                     world, stats) -> None:
    folder = _partition(landing, "orders", day)
    complete = day < tl.as_of
    n = hi - lo
    # Most days arrive as one Parquet part; about 1 in 20 also sends a CSV part,
    # about 1 in 40 sends CSV only.
    csv_share = 0.3 if layout < 0.05 else 1.0 if layout > 0.975 else 0.0
    n_csv = int(round(n * csv_share))
    pieces = [("parquet", s, min(s + PART_ROWS, n - n_csv)) for s in range(0, n - n_csv,
                                                                           PART_ROWS)]
    pieces += [("csv", s, min(s + PART_ROWS, n)) for s in range(n - n_csv, n, PART_ROWS)]
    number = 0
    for fmt, a, b in pieces:
        path = folder / f"part-{number:04d}.{fmt}"
        if fmt == "parquet":
            path.write_bytes(_parquet_bytes(table.slice(lo + a, b - a)))
        else:
            text = order_strings(frame.slice(lo + a, b - a))
            path.write_bytes(text.write_csv().encode("utf-8"))
        number += 1
    if complete:
        stats.add_rows("orders", n)
        stats.orders_rows_per_day[day] = n
    else:
        stats.incomplete.append(f"orders/dt={date_of(day).isoformat()}")
        stats.bad_deliveries.append({
            "kind": "missing_success", "feed": "orders", "table": "orders",
            "partition": f"orders/dt={date_of(day).isoformat()}",
            "file": _rel(landing, folder / "part-0000.parquet"), "expect": "skip_partition",
            "rows": n, "detail": "the run date's partition is still being written",
        })
    for part in parts:
        number = _write_defect_part(landing, folder, part, number, orders, users, world, stats)
    if complete:
        _complete(stats, landing, "orders", day)


def _write_defect_part(landing: Path, folder: Path, part: OrderPart, number: int,
                       orders: Orders, users: Users, world: World, stats: WriteStats) -> int:
    path = folder / f"part-{number:04d}.{part.fmt}"
    idx = np.array([o for o, _e in part.rows], dtype=np.int64)
    ev = np.array([e for _o, e in part.rows], dtype=np.int64)
    frame = version_frame(orders, users, world, idx, ev)
    bad_rows = {row for row, _c, _v in part.overrides}
    if part.fmt == "parquet":
        for row, column, value in part.overrides:
            frame = frame.with_columns(frame[column].scatter(row, value))
        data = _parquet_bytes(order_arrow(frame, part.extra))
        if part.truncate:
            data = data[: len(data) // 2]
        path.write_bytes(data)
    else:
        text = order_strings(frame)
        for row, column, value in part.overrides:
            text = text.with_columns(text[column].scatter(row, value))
        if part.rename:
            text = text.rename(part.rename)
        if part.drop:
            text = text.drop(part.drop)
        if part.header_only:
            text = text.head(0)
        path.write_bytes(text.write_csv().encode("utf-8"))
    landed = 0
    if part.kind in ("bad_rows", "added_column", "late_partition", "duplicate_order_version"):
        landed = len(part.rows) - len(bad_rows)
    stats.add_rows("orders", landed)
    stats.orders_rows_per_day[part.day] = stats.orders_rows_per_day.get(part.day, 0) + landed
    for entry in part.entries:
        stats.bad_deliveries.append({**entry, "file": _rel(landing, path)})
    return number + 1


# --- reviews --------------------------------------------------------------------------------

def write_reviews(landing: Path, tl: Timeline, world: World, orders: Orders, users: Users,
                  reviews: Reviews, plan: DefectPlan, stats: WriteStats) -> None:
    idx, kind, t = versions(reviews)
    order = np.lexsort((kind, idx, t))
    idx, kind, t = idx[order], kind[order], t[order]
    if len(t) and t[0] < tl.start * DAY:
        # The truth counts every version as delivered: one outside the written days is a bug.
        raise AssertionError(f"review version before the first day: {reviews.ids(idx[:1])[0]}")
    days = np.arange(tl.start, tl.reviews_last + 2)
    bounds = np.searchsorted(t, days * DAY)
    for first, last in _day_blocks(bounds, BLOCK_ROWS):
        a, b = bounds[first], bounds[last]
        frame = review_version_frame(reviews, orders, users, world, idx[a:b],
                                     kind[a:b]).drop("_updated_s")
        for k in range(first, last):
            lo, hi = int(bounds[k] - a), int(bounds[k + 1] - a)
            _write_review_day(landing, tl, int(days[k]), frame.slice(lo, hi - lo), plan, stats)
    _write_orphan_reviews(landing, plan, stats)


def _write_review_day(landing, tl, day, frame, plan, stats) -> None:
    folder = _partition(landing, "reviews", day)
    complete = day < tl.as_of
    n = frame.height
    lines = frame.write_ndjson().encode("utf-8") if n else b""
    extra = plan.review_lines.get(day, [])
    path = folder / "part-0000.jsonl"
    if lines or extra:
        body = lines + b"".join(line.encode("utf-8") + b"\n" for line, _e in extra)
        path.write_bytes(body)
    for k, (_line, entry) in enumerate(extra):
        stats.bad_deliveries.append({**entry, "file": _rel(landing, path),
                                     "row_number": n + k + 1})
    if day == plan.empty_review_day:
        empty = folder / "part-0009.jsonl"
        empty.write_bytes(b"")
        stats.bad_deliveries.append({
            "kind": "empty_file", "feed": "reviews", "table": "reviews",
            "file": _rel(landing, empty), "expect": "quarantine_file", "rows": 0,
            "detail": "0-byte file"})
    if complete:
        stats.add_rows("reviews", n)
        _complete(stats, landing, "reviews", day)
    else:
        partition = f"reviews/dt={date_of(day).isoformat()}"
        stats.incomplete.append(partition)
        stats.bad_deliveries.append({
            "kind": "missing_success", "feed": "reviews", "table": "reviews",
            "partition": partition, "file": _rel(landing, path) if path.exists() else partition,
            "expect": "skip_partition", "rows": n,
            "detail": "the run date's partition is still being written"})


def _write_orphan_reviews(landing, plan, stats) -> None:
    if plan.orphan_review_day is not None:
        folder = _partition(landing, "reviews", plan.orphan_review_day)
        path = folder / "part-0000.jsonl"
        path.write_bytes("".join(line + "\n" for line in plan.orphan_review_lines).encode())
        partition = f"reviews/dt={date_of(plan.orphan_review_day).isoformat()}"
        stats.incomplete.append(partition)
        stats.bad_deliveries.append({
            "kind": "missing_success", "feed": "reviews", "table": "reviews",
            "partition": partition, "file": _rel(landing, path), "expect": "skip_partition",
            "rows": len(plan.orphan_review_lines),
            "detail": "old partition whose delivery never completed (no _SUCCESS)"})
