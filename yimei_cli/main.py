"""The `yimei` command: generate sample feeds, run the pipeline, open the UI."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import date
from pathlib import Path

from ingestion.settings import REPO_ROOT, Settings


def _settings(args: argparse.Namespace) -> Settings:
    as_of = date.fromisoformat(args.as_of) if args.as_of else None
    settings = Settings.from_env(landing_dir=args.landing, data_dir=args.data_dir, as_of=as_of)
    settings.export()
    return settings


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
    from yimei_cli.pipeline import run_pipeline

    return run_pipeline(_settings(args))


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


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
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
    run.set_defaults(func=cmd_run)

    ui = commands.add_parser("ui", help="the Dagster UI on 127.0.0.1")
    _common(ui)
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
