"""Shared fixtures: small landing zones from the sample generator, fixed seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from generator import SampleConfig, generate

AS_OF = date(2026, 11, 23)
REPO = Path(__file__).resolve().parents[1]
# Screenshots and other files a reviewer looks at after the run; CI may collect the folder.
ARTIFACTS = Path(os.environ.get("YIMEI_TEST_ARTIFACTS") or REPO / "test-artifacts")
TEST_PII_KEY = "yimei-tests-pii-key"
os.environ.setdefault("YIMEI_PII_KEY", TEST_PII_KEY)

SMALL = SampleConfig(
    seed=7,
    as_of=AS_OF,
    cities=6,
    clinics=40,
    doctors_per_clinic=4,
    days=120,
    orders=3000,
    reviews=1000,
)


def make_landing(root: Path, config: SampleConfig = SMALL) -> tuple[Path, dict]:
    landing = root / "landing"
    config = replace(config, manifest_path=root / "sample_manifest.json")
    manifest = generate(landing, config)
    return landing, manifest


@pytest.fixture(scope="session")
def small_landing(tmp_path_factory) -> tuple[Path, dict]:
    """A generated landing zone, shared read-only by the tests of a session."""
    return make_landing(tmp_path_factory.mktemp("small"))


def run_yimei(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess, as a user runs it."""
    yimei = Path(sys.executable).with_name("yimei")
    full_env = {**os.environ, "YIMEI_PII_KEY": TEST_PII_KEY, **(env or {})}
    full_env.pop("DAGSTER_HOME", None)
    return subprocess.run(
        [str(yimei), *args], capture_output=True, text=True, env=full_env, timeout=900
    )


@pytest.fixture(scope="session")
def published(tmp_path_factory, small_landing) -> dict:
    """`yimei run` once on the small landing zone; tests read its outputs."""
    landing, manifest = small_landing
    data_dir = tmp_path_factory.mktemp("data")
    result = run_yimei(
        "run", "--landing", str(landing), "--data-dir", str(data_dir), "--as-of", AS_OF.isoformat()
    )
    return {
        "result": result,
        "data_dir": data_dir,
        "landing": landing,
        "manifest": manifest,
    }


@pytest.fixture(scope="session")
def spark_run(tmp_path_factory, small_landing) -> dict:
    """`yimei run --engine spark` once on the small landing zone (the lake, dbt on Spark, the
    suites on GX's Spark engine, the publish); compared with ``published``."""
    landing, manifest = small_landing
    data_dir = tmp_path_factory.mktemp("spark_run")
    result = run_yimei(
        "run",
        "--engine",
        "spark",
        "--landing",
        str(landing),
        "--data-dir",
        str(data_dir),
        "--as-of",
        AS_OF.isoformat(),
    )
    return {"result": result, "data_dir": data_dir, "landing": landing, "manifest": manifest}


def manifest_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
