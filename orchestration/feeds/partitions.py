"""Delivery dates as Dagster partitions.

Every landed table is partitioned by its delivery date ``dt`` (feeds.md): one
daily partitions definition, in Asia/Shanghai, shared by all feeds. Days on which
a feed delivered nothing simply stay unmaterialised (the registries deliver
snapshots, not daily files). Daily rather than dynamic partitions: delivery dates
are calendar days, ranges of them run in one go (a backfill of a year is one run),
and late or re-sent partitions are just older keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import dagster as dg

from ingestion.landing import Partition, list_partitions

# The first delivery date the warehouse accepts; older partitions are reported, not loaded.
FIRST_DELIVERY_DATE = "2020-01-01"

delivery_dates = dg.DailyPartitionsDefinition(
    start_date=FIRST_DELIVERY_DATE,
    timezone="Asia/Shanghai",
    end_offset=1,  # today's partition exists; it is loaded once its _SUCCESS lands
)


@dataclass(frozen=True)
class LandingScan:
    """The complete partitions of every feed at one look at the landing zone, the one scan
    `yimei run` (against the audit) and the landing sensor (against its cursor) plan from.
    Partitions dated before the first delivery date are kept apart: reported, never loaded
    (no partition of the assets' definition holds them)."""

    complete: dict[str, list[Partition]]
    too_early: list[Partition]

    @property
    def delivered(self) -> set[date]:
        return {p.dt for partitions in self.complete.values() for p in partitions}


def scan_landing(landing_dir: str, feeds: Iterable[str]) -> LandingScan:
    first = date.fromisoformat(FIRST_DELIVERY_DATE)
    complete: dict[str, list[Partition]] = {}
    too_early: list[Partition] = []
    for feed in feeds:
        partitions = [p for p in list_partitions(landing_dir, feed) if p.complete]
        too_early += [p for p in partitions if p.dt < first]
        complete[feed] = [p for p in partitions if p.dt >= first]
    return LandingScan(complete, too_early)


def delivery_ranges(delivered: Iterable[date], pending: set[date]) -> list[tuple[date, date]]:
    """Group pending delivery dates into partition ranges, one run each.

    ``delivered`` lists every complete partition of a feed. A range never spans a
    delivered partition that is not pending, so a run re-materialises nothing that
    did not change; days without any delivery inside a range cost nothing.
    """
    ranges: list[tuple[date, date]] = []
    current: list[date] = []
    for dt in sorted(delivered):
        if dt in pending:
            current.append(dt)
        elif current:
            ranges.append((current[0], current[-1]))
            current = []
    if current:
        ranges.append((current[0], current[-1]))
    return ranges


def range_tags(start: date, end: date) -> dict[str, str]:
    """Run tags that make one run materialise a range of partitions."""
    return {
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
    }
