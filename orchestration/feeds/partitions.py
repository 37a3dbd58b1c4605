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
from datetime import date

import dagster as dg

# The first delivery date the warehouse accepts; older partitions are reported, not loaded.
FIRST_DELIVERY_DATE = "2020-01-01"

delivery_dates = dg.DailyPartitionsDefinition(
    start_date=FIRST_DELIVERY_DATE,
    timezone="Asia/Shanghai",
    end_offset=1,  # today's partition exists; it is loaded once its _SUCCESS lands
)


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
