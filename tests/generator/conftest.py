"""One small generated landing zone, shared by the generator tests of a session."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from generator import SampleConfig, generate

AS_OF = date(2026, 11, 23)
SMALL = SampleConfig(
    seed=7, as_of=AS_OF, cities=6, clinics=40, doctors_per_clinic=4, days=120, orders=3000,
    reviews=1000,
)
TINY = SampleConfig(
    seed=3, as_of=AS_OF, cities=4, clinics=24, doctors_per_clinic=3, days=60, orders=1200,
    reviews=300,
)


@pytest.fixture(scope="session")
def landing(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("generator")
    config = replace(SMALL, manifest_path=root / "sample_manifest.json")
    manifest = generate(root / "landing", config)
    return root / "landing", manifest
