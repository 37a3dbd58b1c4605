"""Latency of the analyst queries in bench/queries/ on a published serving.duckdb."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import duckdb

QUERIES_DIR = Path(__file__).resolve().parent / "queries"


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def query_files() -> list[Path]:
    return sorted(QUERIES_DIR.glob("*.sql"))


def run_queries(serving_path: Path, runs: int = 20) -> list[dict]:
    """Each query: one warm-up, then `runs` timed runs on one read-only connection."""
    con = duckdb.connect(str(serving_path), read_only=True)
    results = []
    try:
        for path in query_files():
            sql = path.read_text(encoding="utf-8")
            rows = len(con.execute(sql).fetchall())  # warm-up
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                con.execute(sql).fetchall()
                times.append((time.perf_counter() - started) * 1000)
            results.append(
                {
                    "query": path.stem,
                    "rows": rows,
                    "runs": runs,
                    "p50_ms": percentile(times, 50),
                    "p95_ms": percentile(times, 95),
                    "max_ms": max(times),
                    "mean_ms": statistics.fmean(times),
                }
            )
    finally:
        con.close()
    return results
