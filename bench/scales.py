"""The benchmark scales, as sample-generator configurations (fixed seed and run date)."""

from __future__ import annotations

from datetime import date

from bench.defaults import SCALES
from generator import SampleConfig

SEED = 42
# A fixed run date makes every landing zone reproducible. Early in a year, so that the
# previous calendar year (the one the blue-book report asset writes) has data at every scale.
AS_OF = date(2026, 1, 20)

# name: (clinics, orders, reviews, days)
_SIZES = {
    "tiny": (20, 1_000, 200, 60),  # the generator's minimums: the CI smoke test
    "S": (500, 100_000, 30_000, 90),
    "M": (3_000, 1_000_000, 300_000, 365),
    "L": (20_000, 10_000_000, 3_000_000, 730),
}
assert tuple(_SIZES) == SCALES


def scale_config(scale: str) -> SampleConfig:
    """The generator configuration of a scale."""
    if scale not in _SIZES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    clinics, orders, reviews, days = _SIZES[scale]
    return SampleConfig(
        seed=SEED,
        as_of=AS_OF,
        clinics=clinics,
        orders=orders,
        reviews=reviews,
        days=days,
    )
