"""The benchmark: generate (or reuse) a scale's landing zone, run the pipeline first in full,
then for one more day, then with nothing new, time the analyst queries, then load the same
files with plain DuckDB and a pandas peer, and write JSON and Markdown. docs/benchmarks.md says
what each figure means."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb

from bench import machine as machine_info
from bench.defaults import (
    DEFAULT_DOCS_FILE,
    DEFAULT_RESULTS_DIR,
    DEFAULT_WORK_DIR,
    PHASES,
    REPO_ROOT,
)
from bench.landing import cached_landing, deliver, hold_back_newest, working_copy
from bench.monitor import CommandRun, run_sampled
from bench.queries import run_queries
from bench.report import append_markdown, targets
from bench.scales import AS_OF, scale_config
from bench.stages import MARKET_MONTHLY_PATH, STAGES, RunEvents, read_events

# The harness hashes personal data with its own key: the warnings of the development key
# stay out of the logs, and the pandas peer uses the same key.
BENCH_PII_KEY = "yimei-bench-key-not-secret"
FACT_TABLES = ("staging.stg_orders__orders", "staging.stg_reviews__reviews")


def pipeline_env(data_dir: Path) -> dict[str, str]:
    """The environment of `yimei run`: nothing inherited that could point it elsewhere."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("YIMEI_") and k != "DAGSTER_HOME"
    }
    env["DAGSTER_HOME"] = str(data_dir / "dagster")
    env["YIMEI_PII_KEY"] = BENCH_PII_KEY
    return env


def _scalar(path: Path, sql: str, params: list | None = None):
    if not path.exists():
        return None
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchone()[0]
    except duckdb.Error:
        return None
    finally:
        con.close()


def _count_rows(path: Path, tables: Sequence[str] | None = None) -> int | None:
    if not path.exists():
        return None
    con = duckdb.connect(str(path), read_only=True)
    try:
        if tables is None:
            tables = [
                f"{s}.{t}"
                for s, t in con.execute(
                    "select schema_name, table_name from duckdb_tables()"
                ).fetchall()
            ]
        total = 0
        for table in tables:
            try:
                total += con.execute(f"select count(*) from {table}").fetchone()[0]
            except duckdb.Error:
                pass
        return total
    finally:
        con.close()


def _rate(rows, seconds):
    return rows / seconds if rows and seconds else None


def summarise_phase(run: CommandRun, events: RunEvents, data_dir: Path) -> dict:
    """Wall time, peak memory and per-stage figures of one `yimei run`."""
    warehouse = data_dir / "warehouse.duckdb"
    serving = data_dir / "serving.duckdb"
    ingest_runs = [r["run_id"] for r in events.runs if r["job"] != "build_check_publish"]
    rows_ingested = (
        _scalar(
            warehouse,
            "select coalesce(sum(rows_loaded), 0)::bigint from audit.load_audit "
            "where run_id in (select unnest(?))",
            [ingest_runs],
        )
        if ingest_runs
        else 0
    )
    fact_rows = _count_rows(warehouse, FACT_TABLES)
    serving_rows = _count_rows(serving)
    stage_rows = {
        "ingest": (rows_ingested, "rows loaded into raw (audit.load_audit)"),
        "dbt_build": (fact_rows, "rows of stg_orders__orders + stg_reviews__reviews"),
        "quality": (fact_rows, "rows of stg_orders__orders + stg_reviews__reviews"),
        "publish": (serving_rows, "rows of the published tables"),
    }
    stages = {}
    for stage in (*STAGES, "other"):
        steps = [s for s in events.steps if s.stage == stage]
        if stage == "other" and not steps:
            continue
        wall = sum(s.wall_s for s in steps)
        rows, basis = stage_rows.get(stage, (None, "n/a"))
        stages[stage] = {
            "wall_s": wall,
            "span_s": (max(s.end for s in steps) - min(s.start for s in steps)) if steps else 0.0,
            "steps": len(steps),
            "rows": rows,
            "rows_basis": basis,
            "rows_per_s": _rate(rows, wall),
            "peak_rss_bytes": max((run.peak(s.start, s.end) for s in steps), default=0),
        }
    in_steps = sum(s["wall_s"] for s in stages.values())
    return {
        "returncode": run.returncode,
        "wall_s": run.wall_s,
        "peak_rss_bytes": run.peak(),
        "rows_ingested": rows_ingested,
        "overhead_s": run.wall_s - in_steps,
        "stages": stages,
        "steps": [
            {
                "step_key": s.step_key,
                "stage": s.stage,
                "wall_s": s.wall_s,
                "status": s.status,
                "until_first_materialization_s": s.until_first_materialization_s,
            }
            for s in events.steps
        ],
        "runs": [{k: r[k] for k in ("job", "status")} for r in events.runs],
        "dbt_models_s": sum(events.dbt_model_s.values()),
        "log": str(run.log_path),
    }


def median_of(values: list):
    """Median over repeats: numbers by value, dicts key by key, anything else from the first."""
    first = values[0]
    if len(values) == 1:
        return first
    if isinstance(first, dict):
        return {k: median_of([v.get(k) for v in values if isinstance(v, dict)]) for k in first}
    if isinstance(first, int | float) and not isinstance(first, bool):
        numbers = [v for v in values if isinstance(v, int | float)]
        return statistics.median(numbers) if numbers else None
    return first


class Harness:
    def __init__(
        self,
        scale: str,
        work_dir: Path,
        log: Callable[[str], None],
        engine: str = "duckdb",
    ):
        self.scale = scale
        self.engine = engine
        self.work_dir = work_dir
        self.log = log
        self.logs_dir = work_dir / "logs" / scale
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self.as_of = scale_config(scale).as_of or AS_OF

    def run_pipeline(
        self, name: str, landing: Path, data_dir: Path, repeat: int = 0
    ) -> tuple[dict, CommandRun]:
        data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable,
            "-m",
            "yimei_cli.main",
            "run",
            "--landing",
            str(landing),
            "--data-dir",
            str(data_dir),
            "--as-of",
            self.as_of.isoformat(),
            "--engine",
            self.engine,
            "--verbose",  # dbt's and Dagster's logs in the bench's log of the run too
        ]
        self.log(f"bench: {name} run ({self.engine}) ...")
        log_path = self.logs_dir / (f"{name}.log" if repeat == 0 else f"{name}-{repeat + 1}.log")
        run = run_sampled(argv, log_path, pipeline_env(data_dir), REPO_ROOT)
        events = read_events(data_dir / "dagster", since=run.started)
        phase = summarise_phase(run, events, data_dir)
        status = "ok" if run.returncode == 0 else f"FAILED (exit {run.returncode}, {run.log_path})"
        self.log(
            f"bench: {name} run {run.wall_s:.1f} s, peak {phase['peak_rss_bytes'] / 1024**2:,.0f}"
            f" MB, {phase['rows_ingested'] or 0:,} rows ingested: {status}"
        )
        if run.returncode == 0:
            phase["reports_run"] = self.run_reports(name, data_dir, repeat)
        return phase, run

    def run_reports(self, name: str, data_dir: Path, repeat: int = 0) -> dict:
        """`yimei report` after a publish: the blue-book's own run, outside the day's path to
        serving.duckdb and timed on its own."""
        argv = [sys.executable, "-m", "yimei_cli.main", "report", "--data-dir", str(data_dir)]
        argv += ["--as-of", self.as_of.isoformat()]
        suffix = "" if repeat == 0 else f"-{repeat + 1}"
        run = run_sampled(
            argv, self.logs_dir / f"{name}-reports{suffix}.log", pipeline_env(data_dir), REPO_ROOT
        )
        events = read_events(data_dir / "dagster", since=run.started)
        self.log(f"bench: {name} reports run {run.wall_s:.1f} s (exit {run.returncode})")
        return {
            "wall_s": run.wall_s,
            "render_s": sum(s.wall_s for s in events.steps if s.stage == "report"),
            "peak_rss_bytes": run.peak(),
            "returncode": run.returncode,
        }


def run_baseline(
    kind: str, landing: Path, run_root: Path, logs_dir: Path, label: str, notes: list[str]
) -> dict | None:
    """The floor or the peer in a subprocess (bench.baselines), with its peak memory; a
    failure (out of memory, say) becomes a note instead of ending the benchmark."""
    out = run_root / f"{kind}.json"
    out.unlink(missing_ok=True)
    db_path = run_root / f"{kind}.duckdb"
    argv = [sys.executable, "-m", "bench.baselines", kind, str(landing), str(db_path), str(out)]
    env = pipeline_env(run_root)
    run = run_sampled(argv, logs_dir / f"{kind}{label}.log", env, REPO_ROOT)
    db_path.unlink(missing_ok=True)
    if run.returncode != 0 or not out.exists():
        notes.append(
            f"{kind} baseline failed (exit {run.returncode}, peak "
            f"{(run.peak() or 0) / 1024**2:,.0f} MB; -9 is a SIGKILL, on Linux usually the "
            f"kernel's out-of-memory killer; see {run.log_path})"
        )
        return None
    result = json.loads(out.read_text(encoding="utf-8"))
    result["peak_rss_bytes"] = run.peak()
    result["process_wall_s"] = run.wall_s
    return result


def run_benchmark(
    scale: str = "S",
    work_dir: Path = DEFAULT_WORK_DIR,
    repeats: int = 1,
    results_dir: Path = DEFAULT_RESULTS_DIR,
    docs_file: Path | None = DEFAULT_DOCS_FILE,
    query_runs: int = 20,
    baseline_repeats: int | None = None,
    phases: Sequence[str] = PHASES,
    log: Callable[[str], None] = print,
    engine: str = "duckdb",
) -> dict:
    """Run the benchmark at one scale on one engine; write `<results_dir>/<scale>.json`
    (`<scale>-spark.json` for Spark) and append to `docs_file` (None: no Markdown). Returns
    the result dict."""
    unknown = set(phases) - set(PHASES)
    if unknown or "full" not in phases:
        raise ValueError(f"phases must include 'full' and be among {PHASES}")
    if baseline_repeats is None:
        baseline_repeats = 3 if scale in ("tiny", "S") else 1
    work_dir = Path(work_dir).resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    load_before = machine_info.load_average()
    harness = Harness(scale, work_dir, log, engine)

    log(f"bench: scale {scale}, work dir {work_dir}")
    cached = cached_landing(scale, work_dir / "cache")
    log(
        f"bench: landing zone {'reused' if cached.cached else 'generated'} "
        f"(generation {cached.generation_s:.1f} s, not counted)"
    )

    run_root = work_dir / "run" / (scale if engine == "duckdb" else f"{scale}-{engine}")
    repeat_results: list[dict] = []
    floors: list[dict] = []
    peers: list[dict] = []
    queries: list[dict] = []
    notes: list[str] = []
    for repeat in range(repeats):
        if run_root.exists():
            shutil.rmtree(run_root)
        landing = working_copy(cached.path, run_root / "landing")
        data_dir = run_root / "data"
        held = []
        if "incremental" in phases:
            held = hold_back_newest(landing, run_root / "held")
            log(
                "bench: held back "
                + ", ".join(f"{h.feed}/dt={h.dt} ({h.files} files)" for h in held)
                + " for the incremental run"
            )
        this: dict = {"phases": {}}
        full, _ = harness.run_pipeline("full", landing, data_dir, repeat)
        this["phases"]["full"] = full
        this["dbt_market_monthly_path_s"] = _dbt_path_seconds(data_dir)
        serving = data_dir / "serving.duckdb"
        if repeat == 0:
            if serving.exists():
                log(f"bench: analyst queries (1 warm-up + {query_runs} runs each) ...")
                try:
                    queries = run_queries(serving, query_runs)
                except duckdb.Error as error:
                    notes.append(f"analyst queries failed: {error}")
            else:
                notes.append("the full run published no serving.duckdb: no query latencies")
        if "incremental" in phases:
            success_at = deliver(held)
            incremental, _ = harness.run_pipeline("incremental", landing, data_dir, repeat)
            this["phases"]["incremental"] = incremental
            published = serving.stat().st_mtime if serving.exists() else None
            this["success_to_published_s"] = (
                published - success_at if published and published > success_at else None
            )
        if "nothing_new" in phases:
            nothing, _ = harness.run_pipeline("nothing_new", landing, data_dir, repeat)
            this["phases"]["nothing_new"] = nothing
        if repeat == 0:
            # The baselines last, on the files the full run read (the day the incremental run
            # delivered held back again). Between the full and the incremental run, the pandas
            # peer at L (killed out of memory at ~23 GB) emptied the page cache and the day read
            # the 13 GB warehouse back from disk (96.7 s instead of ~50 s); before the full run,
            # it did the same to the full run (514.7 s instead of 451.5 s).
            if held:
                hold_back_newest(landing, run_root / "held_from_baselines")
            for i in range(baseline_repeats):
                label = "" if i == 0 else f"-{i + 1}"
                log(f"bench: plain DuckDB floor ({i + 1}/{baseline_repeats}) ...")
                floors.append(
                    run_baseline("floor", landing, run_root, harness.logs_dir, label, notes)
                )
                log(f"bench: pandas peer ({i + 1}/{baseline_repeats}) ...")
                peers.append(
                    run_baseline("peer", landing, run_root, harness.logs_dir, label, notes)
                )
        repeat_results.append(this)

    summary = median_of(repeat_results)
    phases_out = {name: summary["phases"].get(name) for name in PHASES}
    floors = [f for f in floors if f]
    peers = [p for p in peers if p]
    floor = median_of(floors) if floors else None
    peer = median_of(peers) if peers else None
    full = phases_out["full"]
    comparisons = _comparisons(full, summary.get("dbt_market_monthly_path_s"), floor, peer)
    comparisons["incremental_vs_S"] = incremental_growth(
        phases_out["incremental"], Path(results_dir) / "S.json", scale
    )
    failed = [n for n, p in phases_out.items() if p and p["returncode"] != 0]
    if failed:
        notes.append(f"pipeline run(s) failed: {', '.join(failed)} (see their logs)")
    env = machine_info.python_env()
    if env["PYTHONDONTWRITEBYTECODE"] and not env["site_packages_bytecode_cached"]:
        notes.append(
            "PYTHONDONTWRITEBYTECODE is set and the venv holds no bytecode: every process "
            "compiled its imports from source, which inflates start-up (overhead) and dbt times"
        )
    for name in PHASES:
        if name not in phases:
            notes.append(f"{name.replace('_', ' ')} run skipped (phases={','.join(phases)})")

    config = scale_config(scale).as_dict()
    result = {
        "scale": {"name": scale, "config": config},
        "engine": engine,
        "date": machine_info.now_iso(),
        "machine": machine_info.machine(),
        "load_average": {"before": load_before, "after": machine_info.load_average()},
        "versions": machine_info.versions(),
        "python_env": machine_info.python_env(),
        "git": machine_info.git_state(),
        "repeats": repeats,
        "baseline_repeats": baseline_repeats,
        "query_runs": query_runs,
        "generation": {
            "seconds": cached.generation_s,
            "cached": cached.cached,
            "landing_dir": str(cached.path),
        },
        "phases": phases_out,
        "success_to_published_s": summary.get("success_to_published_s"),
        "floor": floor,
        "peer": peer,
        "comparisons": comparisons,
        "queries": queries,
        "repeat_runs": repeat_results if repeats > 1 else None,
        "notes": notes,
    }
    result["targets"] = targets(result)
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    out = results_dir / (f"{scale}.json" if engine == "duckdb" else f"{scale}-{engine}.json")
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    result["results_file"] = str(out)
    if docs_file is not None:
        append_markdown(result, Path(docs_file))
    log(f"bench: results in {out}" + (f" and {docs_file}" if docs_file else ""))
    return result


def incremental_growth(incremental: dict | None, s_results: Path, scale: str) -> float | None:
    """This scale's incremental day / the one in S's last results: a day's cost must not grow
    with the history (issue 15: at most 2x at L)."""
    if scale in ("tiny", "S") or not incremental or not s_results.exists():
        return None
    at_s = json.loads(s_results.read_text(encoding="utf-8"))["phases"].get("incremental") or {}
    if not at_s.get("wall_s") or not incremental.get("wall_s"):
        return None
    return incremental["wall_s"] / at_s["wall_s"]


def _dbt_path_seconds(data_dir: Path) -> float | None:
    """dbt execution time of the models from the orders fact to market_monthly, last run."""
    events = read_events(data_dir / "dagster", since=0)
    build = [r for r in events.runs if r["job"] == "build_check_publish"]
    if not build:
        return None
    last = read_events(data_dir / "dagster", since=build[-1]["start"])
    found = [last.dbt_model_s[k] for k in MARKET_MONTHLY_PATH if k in last.dbt_model_s]
    return sum(found) if found else None


def _comparisons(full: dict | None, dbt_path_s, floor: dict | None, peer: dict | None) -> dict:
    if not full:
        return {}
    ingest_s = full["stages"]["ingest"]["wall_s"]
    step = next((s for s in full["steps"] if s["step_key"] == "ingest_orders"), {})
    orders_step = step.get("wall_s")
    # Until its first materialization the step loads and commits; then Dagster records one
    # materialization per delivered partition (one SQLite transaction each, dagster#18789).
    orders_load = step.get("until_first_materialization_s")
    ours_peer = orders_step + dbt_path_s if orders_step is not None and dbt_path_s else None
    floor_orders_s = floor["tables"]["orders"]["wall_s"] if floor else None
    return {
        "ours_ingest_s": ingest_s,
        "floor_s": floor["wall_s"] if floor else None,
        "ingest_vs_floor": ingest_s / floor["wall_s"] if floor and floor["wall_s"] else None,
        "ours_orders_ingest_s": orders_step,
        "floor_orders_s": floor_orders_s,
        "orders_ingest_vs_floor": (
            orders_step / floor_orders_s if orders_step and floor_orders_s else None
        ),
        "ours_orders_load_s": orders_load,
        "ours_orders_bookkeeping_s": orders_step - orders_load if orders_load else None,
        "orders_load_vs_floor": (
            orders_load / floor_orders_s if orders_load and floor_orders_s else None
        ),
        "ours_market_monthly_dbt_s": dbt_path_s,
        "ours_orders_market_monthly_s": ours_peer,
        "peer_s": peer["wall_s"] if peer else None,
        "peer_vs_ours": peer["wall_s"] / ours_peer if peer and ours_peer else None,
        "what_is_compared": {
            "ingest_vs_floor": "sum of our ingest_* step times in the full first run / plain "
            "DuckDB loading every landed table from the same files",
            "orders_ingest_vs_floor": "our ingest_orders step / plain DuckDB loading the "
            "orders files (the measure of issue 3: within 2x at 1M orders); since the feeds "
            "load two at a time the step shares the machine with another feed, the floor "
            "loads one table at a time, so only the whole ingestion compares",
            "orders_load_vs_floor": "the part of our ingest_orders step before its first "
            "materialization (read, check, hash, write, audit, commit) / the same floor; the "
            "rest of the step is Dagster recording one materialization per partition",
            "peer_vs_ours": "pandas (orders ingestion + market_monthly) / our ingest_orders "
            "step + dbt execution time of "
            + ", ".join(MARKET_MONTHLY_PATH)
            + " in the full first run",
        },
    }
