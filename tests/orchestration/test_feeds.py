"""Delivery-date partitions, the _SUCCESS sensor and partition ranges."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from orchestration.feeds.assets import feed_assets, ingest_jobs
from orchestration.feeds.partitions import delivery_dates, delivery_ranges
from orchestration.feeds.sensors import landing_success_markers
from orchestration.resources import WarehouseResource
from tests.conftest import AS_OF

D = date(2026, 3, 1)


def day(n: int) -> date:
    return D + timedelta(days=n)


def test_ranges_never_span_an_unchanged_delivery():
    delivered = [day(0), day(1), day(2), day(5), day(9), day(10)]
    assert delivery_ranges(delivered, {day(1), day(2), day(5), day(10)}) == [
        (day(1), day(5)),  # days 3-4 delivered nothing: the range may cross them
        (day(10), day(10)),
    ]
    assert delivery_ranges(delivered, set()) == []
    assert delivery_ranges(delivered, set(delivered)) == [(day(0), day(10))]


def test_every_raw_table_is_partitioned_by_delivery_date():
    for assets_def in feed_assets.values():
        assert assets_def.partitions_def == delivery_dates
        assert assets_def.backfill_policy == dg.BackfillPolicy.single_run()
    assert delivery_dates.has_partition_key(AS_OF.isoformat())


def test_sensor_requests_one_run_per_feed_and_range(small_landing, tmp_path):
    landing, manifest = small_landing
    warehouse = WarehouseResource(
        landing_dir=str(landing), data_dir=str(tmp_path), as_of=AS_OF.isoformat()
    )
    context = dg.build_sensor_context(resources={"warehouse": warehouse})
    requests = landing_success_markers(context)
    assert {r.job_name for r in requests} == {job.name for job in ingest_jobs.values()}
    by_job = {r.job_name: r.partition_key_range for r in requests}
    orders = by_job[ingest_jobs["orders"].name]
    complete = manifest["partitions"]["orders"]
    assert (orders.start, orders.end) == (min(complete), max(complete))
    # The same deliveries do not start runs again: the cursor remembers them.
    again = dg.build_sensor_context(resources={"warehouse": warehouse}, cursor=context.cursor)
    assert isinstance(landing_success_markers(again), dg.SkipReason)
