"""The daily path of the UI: new raw partitions request what is downstream of them, no more."""

from __future__ import annotations

import dagster as dg

from orchestration.definitions import defs
from orchestration.feeds.assets import raw_key
from tests.conftest import AS_OF

SERVING = dg.AssetKey(["serving", "database"])


def _built(instance: dg.DagsterInstance, keys) -> None:
    for key in keys:
        instance.report_runless_asset_event(dg.AssetMaterialization(key))


def _requested(result) -> set[dg.AssetKey]:
    return {r.key for r in result.results if r.true_subset.size > 0}


def test_new_orders_request_their_downstream_assets_only():
    graph = defs.resolve_asset_graph()
    after_ingestion = [k for k in graph.get_all_asset_keys() if k.path[0] != "raw"]
    with dg.instance_for_test() as instance:
        _built(instance, after_ingestion)  # a first build: yimei run, or "Materialize all"
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        quiet = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
        assert _requested(quiet) == set(), "nothing changed since the build"

        instance.report_runless_asset_event(
            dg.AssetMaterialization(raw_key("orders"), partition=AS_OF.isoformat())
        )
        day = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=quiet.cursor)
    requested = _requested(day)
    downstream = dg.AssetSelection.assets(raw_key("orders")).downstream(include_self=False)
    assert requested == downstream.resolve(graph) & set(after_ingestion)
    assert dg.AssetKey(["staging", "stg_orders__orders"]) in requested
    assert dg.AssetKey(["staging", "stg_registry__institutions"]) not in requested
    assert SERVING in requested


def test_the_published_database_has_a_freshness_policy():
    spec = defs.resolve_assets_def(SERVING).specs_by_key[SERVING]
    assert spec.freshness_policy is not None
