"""The peer: orders ingestion and `market_monthly` the way many teams start, with pandas.

Orders ingestion: read every orders file of the complete partitions (pandas.read_parquet or
read_csv), concat, parse timestamps and amounts, drop rows missing a required field, HMAC the
buyer phone (once per distinct value), drop duplicate order versions, write a DuckDB table.
market_monthly: latest version per order, completed orders, the clinic's city from the latest
clinics snapshot, group by month x city x procedure, month-on-month and year-on-year growth
by merging the shifted months, names from the dbt seeds, as dbt_project/models/marts does.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path

import duckdb
import pandas as pd

from bench.floor import landed_files
from ingestion.contract import CLINICS, DECIMAL, INT, ORDERS, TIMESTAMP
from ingestion.settings import DBT_PROJECT_DIR

TZ = "Asia/Shanghai"
REQUIRED = [c.name for c in ORDERS.columns if c.required]


def _read_order_file(path: Path) -> pd.DataFrame | None:
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except Exception:  # unreadable (truncated, empty, malformed): skipped like the floor does
        return None
    if any(name not in frame.columns for name in REQUIRED):
        return None  # a renamed or dropped required column
    frame["_source_file"] = str(path)
    return frame


def ingest_orders(landing: Path, db_path: Path, pii_key: bytes) -> tuple[pd.DataFrame, dict]:
    started = time.perf_counter()
    paths = landed_files(landing, ORDERS)
    frames = [f for f in (_read_order_file(p) for p in paths) if f is not None]
    orders = pd.concat(frames, ignore_index=True, sort=False)
    rows_read = len(orders)
    for column in ORDERS.columns:
        if column.name not in orders.columns:
            orders[column.name] = None
        if column.kind == TIMESTAMP:
            orders[column.name] = pd.to_datetime(
                orders[column.name], utc=True, errors="coerce", format="ISO8601"
            ).dt.tz_convert(TZ)
        elif column.kind == DECIMAL:
            orders[column.name] = pd.to_numeric(orders[column.name], errors="coerce")
        elif column.kind == INT:
            orders[column.name] = pd.to_numeric(orders[column.name], errors="coerce").astype(
                "Int64"
            )
    orders = orders.dropna(subset=REQUIRED)
    phones = orders["buyer_phone"].dropna().astype(str).unique()
    hashed = {p: hmac.new(pii_key, p.encode(), hashlib.sha256).hexdigest() for p in phones}
    orders["buyer_phone_hash"] = orders["buyer_phone"].map(hashed)
    orders = orders.drop(columns=["buyer_phone"])
    orders = orders.drop_duplicates(subset=["order_id", "updated_at"], keep="last")
    if db_path.exists():
        db_path.unlink()
    con = duckdb.connect(str(db_path))
    try:
        con.execute("set enable_progress_bar = false")
        con.register("orders_frame", orders)
        con.execute("create table orders as select * from orders_frame")
        con.unregister("orders_frame")
    finally:
        con.close()
    elapsed = time.perf_counter() - started
    return orders, {
        "wall_s": elapsed,
        "files": len(paths),
        "files_skipped": len(paths) - len(frames),
        "rows_read": rows_read,
        "rows_loaded": len(orders),
        "rows_per_s": len(orders) / elapsed if elapsed else None,
    }


def _latest_clinic_cities(landing: Path) -> pd.DataFrame:
    latest = landed_files(landing, CLINICS)[-1]
    clinics = pd.read_csv(latest, dtype=str, usecols=["clinic_id", "city"])
    return clinics.drop_duplicates("clinic_id", keep="last")


def market_monthly(orders: pd.DataFrame, landing: Path) -> tuple[pd.DataFrame, dict]:
    started = time.perf_counter()
    latest = orders.sort_values("updated_at").drop_duplicates("order_id", keep="last")
    done = latest[latest["status"] == "completed"].merge(
        _latest_clinic_cities(landing), on="clinic_id", how="left"
    )
    done["month"] = done["completed_at"].dt.tz_localize(None).dt.to_period("M").dt.to_timestamp()
    done["traveller"] = done["buyer_city"].notna() & (done["buyer_city"] != done["city"])
    monthly = (
        done.groupby(["month", "city", "procedure_code"], dropna=False)
        .agg(
            orders=("order_id", "size"),
            buyers=("user_id", "nunique"),
            gmv=("paid_amount", "sum"),
            traveller_orders=("traveller", "sum"),
        )
        .reset_index()
    )
    keys = ["month", "city", "procedure_code"]
    for name, months in (("previous_month", 1), ("previous_year", 12)):
        shifted = monthly[keys + ["gmv"]].copy()
        shifted["month"] = shifted["month"] + pd.DateOffset(months=months)
        monthly = monthly.merge(shifted.rename(columns={"gmv": f"{name}_gmv"}), on=keys, how="left")
    monthly["gmv_mom_growth"] = (monthly["gmv"] - monthly["previous_month_gmv"]) / monthly[
        "previous_month_gmv"
    ].replace(0, float("nan"))
    monthly["gmv_yoy_growth"] = (monthly["gmv"] - monthly["previous_year_gmv"]) / monthly[
        "previous_year_gmv"
    ].replace(0, float("nan"))
    monthly["avg_paid"] = (monthly["gmv"] / monthly["orders"]).round(2)
    monthly["traveller_share"] = monthly["traveller_orders"] / monthly["orders"]
    seeds = DBT_PROJECT_DIR / "seeds"
    procedures = pd.read_csv(
        seeds / "procedures.csv", usecols=["procedure_code", "procedure_name", "category"]
    )
    cities = pd.read_csv(seeds / "cities.csv", usecols=["city", "province"])
    monthly = monthly.merge(procedures, on="procedure_code", how="left").merge(
        cities, on="city", how="left"
    )
    monthly = monthly.drop(columns=["previous_month_gmv", "previous_year_gmv"])
    elapsed = time.perf_counter() - started
    return monthly, {"wall_s": elapsed, "rows": len(monthly)}


def run_peer(landing: Path, db_path: Path, pii_key: bytes) -> dict:
    orders, ingest = ingest_orders(landing, db_path, pii_key)
    monthly, mart = market_monthly(orders, landing)
    return {
        "wall_s": ingest["wall_s"] + mart["wall_s"],
        "orders_ingest": ingest,
        "market_monthly": mart,
        "gmv_total": float(monthly["gmv"].sum()),
    }
