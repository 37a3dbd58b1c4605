"""The `yimei` command: generate sample feeds, run the pipeline, open the UI."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from datetime import date
from pathlib import Path

from ingestion.settings import ENGINES, REPO_ROOT, Settings


def _settings(args: argparse.Namespace) -> Settings:
    as_of = date.fromisoformat(args.as_of) if args.as_of else None
    settings = Settings.from_env(
        landing_dir=args.landing,
        data_dir=args.data_dir,
        as_of=as_of,
        engine=getattr(args, "engine", None),
        spark_master=getattr(args, "spark_master", None),
    )
    settings.export()
    return settings


def _verify_address(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--public-url",
        help="the pages' address for consumers, in the QR codes (default: --host:--port)",
    )


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--landing", help="landing root (default $YIMEI_LANDING_DIR or data/landing)"
    )
    parser.add_argument("--data-dir", type=Path, help="state dir (default $YIMEI_DATA_DIR or data)")
    parser.add_argument(
        "--as-of", help="run date YYYY-MM-DD (default $YIMEI_AS_OF or today, Asia/Shanghai)"
    )


def cmd_generate(args: argparse.Namespace) -> int:
    from generator import config_from_args, generate

    settings = _settings(args)
    landing = Path(settings.landing_dir)
    config = config_from_args(args)
    if args.manifest is None:
        config.manifest_path = landing.parent / "sample_manifest.json"
    if config.as_of is None:
        config.as_of = settings.as_of
    manifest = generate(landing, config)
    print(
        f"sample feeds written to {landing} "
        f"({len(manifest['violations'])} rules with injected violations, "
        f"{len(manifest['bad_deliveries'])} bad deliveries); manifest: {config.manifest_path}"
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from yimei_cli import heap

    with heap.loading_for_good():
        from yimei_cli.pipeline import run_pipeline
    return run_pipeline(
        _settings(args),
        rebuild=args.rebuild,
        full_refresh=args.full_refresh,
        verbose=args.verbose,
    )


def cmd_ui(args: argparse.Namespace) -> int:
    from yimei_cli.pipeline import use_dagster_home

    use_dagster_home(_settings(args))
    os.chdir(REPO_ROOT)
    # The dagster command installed beside this interpreter (.venv/bin), PATH or not.
    dagster = str(Path(sys.executable).parent / "dagster")
    os.execv(
        dagster,
        [
            dagster,
            "dev",
            "-m",
            "orchestration.definitions",
            "-h",
            "127.0.0.1",
            "-p",
            str(args.port),
        ],
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from yimei_cli.serve import serve

    return serve(_settings(args), host=args.host, stop=args.stop, tls=(args.tls_cert, args.tls_key))


def cmd_verify_server(args: argparse.Namespace) -> int:
    from yimei_cli.verify import verify_server

    return verify_server(_settings(args), args.host, args.port, args.public_url)


def cmd_verify_qr(args: argparse.Namespace) -> int:
    from yimei_cli.verify import public_url, write_cards

    settings = _settings(args)
    out = args.out or settings.data_dir / "qr" / args.city
    return write_cards(settings, args.city, out, public_url(args.host, args.port, args.public_url))


def cmd_superset(args: argparse.Namespace) -> int:
    from serving.superset import port
    from yimei_cli.superset import superset

    return superset(_settings(args), listen_port=args.port or port())


def cmd_spark_cluster(args: argparse.Namespace) -> int:
    from yimei_cli.spark_cluster import spark_cluster

    return spark_cluster(_settings(args), args.action)


def cmd_export(args: argparse.Namespace) -> int:
    from serving.export import ExportError, export_table, published_table

    settings = _settings(args)
    try:
        table = published_table(args.table)
        out = args.out or settings.data_dir / "exports" / f"{table}.{args.format}"
        done = export_table(settings.serving_path, table, args.format, out, args.where)
    except ExportError as error:
        print(f"yimei export: {error}", file=sys.stderr)
        return 2
    print(f"{done.table}: {done.rows:,} rows written to {done.path}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    if args.city is None and args.year is None:
        return _reports_run(args)
    if args.city is None or args.year is None:
        print("yimei report: --city and --year go together", file=sys.stderr)
        return 2
    from report import ReportError, generate_report

    data_dir = Path(args.data_dir or os.environ.get("YIMEI_DATA_DIR", "data")).expanduser()
    as_of = args.as_of or os.environ.get("YIMEI_AS_OF")
    out_dir = Path(args.out) if args.out else data_dir / "reports"
    try:
        result = generate_report(
            data_dir / "serving.duckdb",
            args.city,
            args.year,
            out_dir,
            as_of=date.fromisoformat(as_of) if as_of else None,
        )
    except ReportError as exc:
        print(f"yimei report: error: {exc}", file=sys.stderr)
        return 1
    print(
        f"blue-book report for {args.city} {args.year} ({result.seconds:.1f} s, "
        f"{result.facts} facts):\n  {result.pdf_path}\n  {result.html_path}\n  {result.facts_path}"
    )
    return 0


def _reports_run(args: argparse.Namespace) -> int:
    """The reports the last publish makes due (the Dagster job), for its run date unless
    --as-of or YIMEI_AS_OF says otherwise."""
    from dataclasses import replace

    from yimei_cli import heap

    with heap.loading_for_good():
        from yimei_cli.pipeline import last_published_as_of, run_reports
    explicit = args.as_of or os.environ.get("YIMEI_AS_OF")
    settings = Settings.from_env(
        data_dir=args.data_dir, as_of=date.fromisoformat(explicit) if explicit else None
    )
    if not explicit:
        settings = replace(settings, as_of=last_published_as_of(settings) or settings.as_of)
    settings.export()
    return run_reports(settings, force=args.force)


def cmd_bench(args: argparse.Namespace) -> int:
    from bench.defaults import PHASES
    from bench.harness import run_benchmark

    phases = tuple(p.strip() for p in args.phases.split(",") if p.strip())
    if "full" not in phases or set(phases) - set(PHASES):
        print(
            f"yimei bench: error: --phases takes full plus any of {', '.join(PHASES)}",
            file=sys.stderr,
        )
        return 2
    result = run_benchmark(
        scale=args.scale,
        work_dir=args.work,
        repeats=args.repeats,
        results_dir=args.results_dir,
        docs_file=None if args.no_docs else args.docs_file,
        query_runs=args.query_runs,
        baseline_repeats=args.baseline_repeats,
        phases=phases,
        engine=args.engine,
    )
    print()
    for target in result["targets"]:
        measured = target["measured"]
        shown = "n/a" if measured is None else f"{measured:,.2f} {target['unit']}"
        scope = (
            "" if target["target_scale"] == "any" else f" [target set for {target['target_scale']}]"
        )
        print(
            f"  {target['verdict']:<4}  {target['target']}: {shown} "
            f"({target['comparison']} {target['limit']} {target['unit']}){scope}"
        )
    failed = [n for n, p in result["phases"].items() if p and p["returncode"] != 0]
    if failed:
        print(f"yimei bench: pipeline run(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


class _Sentence(logging.Formatter):
    """A log record as the CLI says it: "warning: <message>", not a logger's record."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _warning_sentence(message, category, filename, lineno, file=None, line=None) -> None:
    """A Python warning said as a sentence; its origin only where it is not ours to say."""
    ours = Path(filename).resolve().is_relative_to(REPO_ROOT) and "site-packages" not in filename
    where = "" if ours else f" ({filename}:{lineno})"
    print(f"warning: {message}{where}", file=file or sys.stderr)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING)
    logging.root.handlers[0].setFormatter(_Sentence())
    warnings.showwarning = _warning_sentence
    # Libraries (dagster, great_expectations) set their own loggers to INFO; their records
    # reach this handler by propagation, so the handler itself filters.
    logging.root.handlers[0].setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="yimei", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write sample feeds into the landing zone")
    _common(generate)
    from generator import cli_args

    cli_args(generate)
    generate.set_defaults(func=cmd_generate)

    run = commands.add_parser("run", help="ingest, build, check and publish")
    _common(run)
    run.add_argument(
        "--rebuild",
        action="store_true",
        help="build, check and publish even when nothing new was ingested",
    )
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the incremental facts and marts from every delivery (implies --rebuild)",
    )
    run.add_argument(
        "--engine",
        choices=ENGINES,
        help="where dbt and the rules run: duckdb on this machine, or spark over the lake "
        "(default $YIMEI_ENGINE or duckdb; docs/scaling.md)",
    )
    run.add_argument(
        "--spark-master",
        help="with --engine spark: a cluster's master, spark://host:port (dbt builds through "
        "its Thrift server; `yimei spark-cluster start`); default $YIMEI_SPARK_MASTER, or a "
        "Spark inside the dbt process",
    )
    run.add_argument(
        "--verbose",
        action="store_true",
        help="stream dbt's and Dagster's logs as the run goes (always kept in the run log, "
        "<data dir>/logs)",
    )
    run.set_defaults(func=cmd_run)

    ui = commands.add_parser("ui", help="the Dagster UI on 127.0.0.1")
    _common(ui)
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)

    serve_cmd = commands.add_parser(
        "serve", help="the PostgreSQL endpoint for BI tools, in the foreground (docs/bi.md)"
    )
    _common(serve_cmd)
    serve_cmd.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; beyond loopback only with "
        "$YIMEI_PG_READER_PASSWORD, --tls-cert and --tls-key)",
    )
    serve_cmd.add_argument("--tls-cert", type=Path, help="server certificate (PEM), for --host")
    serve_cmd.add_argument("--tls-key", type=Path, help="its private key (PEM)")
    serve_cmd.add_argument(
        "--stop", action="store_true", help="stop a local cluster left running, and exit"
    )
    serve_cmd.set_defaults(func=cmd_serve)

    verify_server = commands.add_parser(
        "verify-server",
        help="the consumer verification pages on 127.0.0.1:8000, in the foreground (verify/)",
    )
    _common(verify_server)
    _verify_address(verify_server)
    verify_server.set_defaults(func=cmd_verify_server)

    verify_cmd = commands.add_parser("verify", help="the verification pages' printable QR cards")
    verify_commands = verify_cmd.add_subparsers(dest="verify_command", required=True)
    verify_qr = verify_commands.add_parser("qr", help="an A6 PDF card per clinic of a city")
    _common(verify_qr)
    _verify_address(verify_qr)
    verify_qr.add_argument("--city", required=True, help="clinic city, e.g. 成都")
    verify_qr.add_argument("--out", type=Path, help="folder (default <data dir>/qr/<city>)")
    verify_qr.set_defaults(func=cmd_verify_qr)

    superset_cmd = commands.add_parser(
        "superset",
        help="the Superset starter dashboard on 127.0.0.1:8088, in the foreground (docs/bi.md)",
    )
    _common(superset_cmd)
    superset_cmd.add_argument(
        "--port", type=int, help="port to listen on (default $YIMEI_SUPERSET_PORT or 8088)"
    )
    superset_cmd.set_defaults(func=cmd_superset)

    cluster_cmd = commands.add_parser(
        "spark-cluster",
        help="a Spark standalone cluster on 127.0.0.1: a master, two workers and a Thrift "
        "server (logs and pids in <data dir>/spark/cluster)",
    )
    _common(cluster_cmd)
    cluster_cmd.add_argument("action", choices=("start", "stop", "status"))
    cluster_cmd.set_defaults(func=cmd_spark_cluster)

    export = commands.add_parser("export", help="a published table as a CSV, XLSX or Parquet file")
    _common(export)
    export.add_argument(
        "table", help="published table, e.g. market_monthly or marts.market_monthly"
    )
    export.add_argument("--format", choices=("csv", "xlsx", "parquet"), default="csv")
    export.add_argument("--where", help="SQL filter on the table, e.g. \"city = '成都'\"")
    export.add_argument(
        "--out", type=Path, help="file to write (default <data dir>/exports/<table>.<format>)"
    )
    export.set_defaults(func=cmd_export)

    report = commands.add_parser(
        "report",
        help="the Chinese blue-book reports (HTML + PDF) of the last publish: the run `yimei "
        "run` leaves to them; or one for --city and --year",
    )
    report.add_argument("--city", help="clinic city, e.g. 成都 (with --year)")
    report.add_argument("--year", type=int, help="calendar year, e.g. 2025 (with --city)")
    report.add_argument(
        "--out", type=Path, help="output dir for --city/--year (default <data dir>/reports)"
    )
    report.add_argument("--data-dir", type=Path, help="state dir (default $YIMEI_DATA_DIR or data)")
    report.add_argument(
        "--as-of", help="as-of date printed in the report (default: the last publish's run date)"
    )
    report.add_argument(
        "--force", action="store_true", help="render even when the year's data did not change"
    )
    report.set_defaults(func=cmd_report)

    from bench.defaults import (
        DEFAULT_DOCS_FILE,
        DEFAULT_RESULTS_DIR,
        DEFAULT_WORK_DIR,
        PHASES,
        SCALES,
    )

    bench = commands.add_parser(
        "bench", help="benchmark the pipeline at a scale (docs/benchmarks.md)"
    )
    bench.add_argument("--scale", choices=SCALES, default="S", help="data scale (default S)")
    bench.add_argument(
        "--engine", choices=ENGINES, default="duckdb", help="the engine to run (default duckdb)"
    )
    bench.add_argument(
        "--work",
        type=Path,
        default=DEFAULT_WORK_DIR,
        help=f"work dir: cached landing zones, runs, logs (default {DEFAULT_WORK_DIR})",
    )
    bench.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="pipeline repetitions (full, incremental, nothing new); medians reported (default 1)",
    )
    bench.add_argument(
        "--baseline-repeats",
        type=int,
        help="repetitions of the DuckDB floor and the pandas peer (default 3 at tiny/S, else 1)",
    )
    bench.add_argument(
        "--query-runs", type=int, default=20, help="timed runs per analyst query (default 20)"
    )
    bench.add_argument(
        "--phases",
        default=",".join(PHASES),
        help=f"pipeline runs to measure, comma-separated (default {','.join(PHASES)})",
    )
    bench.add_argument(
        "--results-dir",
        type=Path,
        default=DEFAULT_RESULTS_DIR,
        help="where <scale>.json goes (default bench/results)",
    )
    bench.add_argument(
        "--docs-file",
        type=Path,
        default=DEFAULT_DOCS_FILE,
        help="Markdown file the results section is appended to (default docs/benchmarks.md)",
    )
    bench.add_argument("--no-docs", action="store_true", help="do not append Markdown")
    bench.set_defaults(func=cmd_bench)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(f"yimei {args.command}: interrupted; nothing half-written is kept", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - said in words below, never a bare traceback
        if os.environ.get("YIMEI_DEBUG"):
            raise
        from yimei_cli.failures import describe_exception

        settings = _settings_or_none(args)
        print(
            f"yimei {args.command}: error: {describe_exception(error, settings)}\n"
            "  (YIMEI_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 1
    finally:
        from yimei_cli import heap

        heap.exit_without_last_collection()


def _settings_or_none(args: argparse.Namespace) -> Settings | None:
    try:
        return _settings(args) if hasattr(args, "landing") else None
    except Exception:  # noqa: BLE001 - the settings themselves are what failed
        return None


if __name__ == "__main__":
    sys.exit(main())
