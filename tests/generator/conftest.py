"""The generator tests read the session's SMALL landing zone (``tests/conftest.py``), made
once for the whole suite; TINY is theirs, for the tests that generate into a folder of
their own (determinism, idempotence)."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import SampleConfig
from tests.conftest import AS_OF

TINY = SampleConfig(
    seed=3, as_of=AS_OF, cities=4, clinics=24, doctors_per_clinic=3, days=60, orders=1200,
    reviews=300,
)


@pytest.fixture(scope="session")
def landing(small_landing) -> tuple[Path, dict]:
    """The SMALL landing zone and its manifest (the generator tests only read it)."""
    return small_landing
