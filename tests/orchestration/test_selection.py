"""A build selects what changed since the last successful one."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from orchestration.definitions import defs
from orchestration.jobs import build_and_publish_job
from orchestration.transform.selection import (
    AS_OF_TAG,
    LOADS_TAG,
    PROJECT_TAG,
    LastBuild,
    plan_build,
    project_fingerprint,
)

BUILT_FROM = {AS_OF_TAG: "2026-01-20", LOADS_TAG: "5/5/x", PROJECT_TAG: project_fingerprint()}
LAST = LastBuild(dict(BUILT_FROM), datetime(2026, 1, 20, tzinfo=UTC))


def key(path: str) -> dg.AssetKey:
    return dg.AssetKey(path.split("/"))


@pytest.fixture(scope="module")
def plan():
    graph = defs.resolve_asset_graph()
    job_keys = set(
        defs.resolve_job_def(build_and_publish_job.name).asset_layer.executable_asset_keys
    )

    def plan_for(last=LAST, built_from=BUILT_FROM, feeds=(), **asked):
        return plan_build(graph, job_keys, last, built_from, lambda since: set(feeds), **asked)

    return plan_for


def test_everything_without_a_previous_build_or_after_a_project_change(plan):
    assert plan(last=None).selection is None
    assert not plan(last=None).full_refresh
    changed = LastBuild({**BUILT_FROM, PROJECT_TAG: "older"}, LAST.started)
    assert plan(last=changed).selection is None
    assert plan(last=changed).full_refresh, "models built by other code are rebuilt from scratch"


def test_what_the_user_asks_for(plan):
    rebuild = plan(feeds=["orders"], rebuild=True)
    assert rebuild.selection is None and not rebuild.full_refresh
    assert plan(full_refresh=True).full_refresh
    assert plan(last=None, full_refresh=True).full_refresh


def test_new_orders_rebuild_what_is_downstream_of_them_and_nothing_else(plan):
    selected = set(plan(feeds=["orders"]).selection)
    assert key("staging/stg_orders__orders") in selected
    assert key("marts/market_monthly") in selected
    assert key("serving/database") in selected and key("governance/findings") in selected
    assert key("staging/stg_reviews__reviews") not in selected
    assert key("staging/stg_registry__institutions") not in selected
    assert not any(k.path[0] == "raw" for k in selected), "ingestion is not part of the build"


def test_a_new_run_date_rebuilds_the_models_that_read_it(plan):
    selected = set(plan(built_from={**BUILT_FROM, AS_OF_TAG: "2026-01-21"}).selection)
    assert key("intermediate/int_orders__completed") in selected
    assert key("intermediate/int_complaint_response") in selected
    assert key("marts/clinic_scorecard") in selected
    # the month marts say whether a month is complete, which ends on the run date
    assert key("intermediate/int_orders__month_coverage") in selected
    assert key("marts/channel_funnel") in selected
    assert key("staging/stg_orders__orders") not in selected
    assert key("staging/stg_reviews__reviews") not in selected


def test_every_model_reading_the_run_date_is_tagged(plan):
    """A model that calls as_of_date() without the tag would keep yesterday's windows."""
    import json

    from orchestration.transform.project import yimei_dbt_project

    manifest = json.loads(yimei_dbt_project.manifest_path.read_text())
    date_macros = {"macro.yimei.as_of_date", "macro.yimei.end_of_as_of_date"}
    reading = {
        node["name"]: node["tags"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and date_macros & set(node["depends_on"]["macros"])
    }
    assert "int_orders__completed" in reading
    assert {name for name, tags in reading.items() if "run_date" not in tags} == set()
