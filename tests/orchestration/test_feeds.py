"""Delivery-date partitions, the _SUCCESS sensor and partition ranges."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from orchestration.feeds.assets import ingest_feeds, ingest_job, raw_key
from orchestration.feeds.partitions import delivery_dates, delivery_ranges, range_tags
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
    assert ingest_feeds.partitions_def == delivery_dates
    assert ingest_feeds.backfill_policy == dg.BackfillPolicy.single_run()
    assert ingest_job.partitions_def == delivery_dates
    assert delivery_dates.has_partition_key(AS_OF.isoformat())


def test_sensor_requests_one_run_for_every_feed_of_a_range(small_landing, tmp_path):
    landing, manifest = small_landing
    warehouse = WarehouseResource(
        landing_dir=str(landing), data_dir=str(tmp_path), as_of=AS_OF.isoformat()
    )
    # The warehouse resource is a context manager (a run holds the data directory's lock
    # through it), so its sensor context is entered as Dagster's daemon does.
    with dg.build_sensor_context(resources={"warehouse": warehouse}) as context:
        requests = landing_success_markers(context)
    # A first load: every feed's partitions are new, one range from the first to the last.
    assert len(requests) == 1
    assert requests[0].job_name in (None, ingest_job.name)
    complete = [dt for feed in manifest["partitions"].values() for dt in feed]
    span = requests[0].partition_key_range
    assert (span.start, span.end) == (min(complete), max(complete))
    # The same deliveries do not start runs again: the cursor remembers them.
    with dg.build_sensor_context(
        resources={"warehouse": warehouse}, cursor=context.cursor
    ) as again:
        assert isinstance(landing_success_markers(again), dg.SkipReason)
    assert not (tmp_path / "yimei.lock").exists(), "a sensor's evaluation takes no run lock"


def test_a_range_run_materialises_only_the_days_that_delivered(small_landing, tmp_path):
    """A first load of the registries is one run over months of days; only the snapshot
    days become materialised partitions, each table with its own row counts."""
    landing, manifest = small_landing
    delivered = sorted(manifest["partitions"]["registry"])
    assert (
        len(delivered) >= 2
        and len(delivered)
        < (date.fromisoformat(delivered[-1]) - date.fromisoformat(delivered[0])).days
    ), "the sample's registry should deliver snapshots, not every day"
    warehouse = WarehouseResource(
        landing_dir=str(landing), data_dir=str(tmp_path), as_of=AS_OF.isoformat()
    )
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [ingest_feeds],
            selection=[raw_key(t) for t in ("institutions", "practitioners", "products")],
            resources={"warehouse": warehouse},
            instance=instance,
            tags=range_tags(date.fromisoformat(delivered[0]), date.fromisoformat(delivered[-1])),
        )
        assert result.success
        for table in ("institutions", "practitioners", "products"):
            key = raw_key(table)
            assert sorted(instance.get_materialized_partitions(key)) == delivered, table
        events = result.get_asset_materialization_events()
        assert len(events) == 3 * len(delivered)
        assert sum(e.materialization.metadata["rows_loaded"].value for e in events) > 0
