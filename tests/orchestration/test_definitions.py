"""The Dagster definitions load and hold one graph from landed feeds to the serving database."""

from __future__ import annotations

import dagster as dg

from orchestration.definitions import defs
from quality.published import PUBLISHED_MART_MODELS
from quality.rules import RULES

RAW_TABLES = [
    "clinics",
    "doctors",
    "orders",
    "reviews",
    "institutions",
    "practitioners",
    "products",
]
MARTS = list(PUBLISHED_MART_MODELS)


def _graph():
    return defs.resolve_asset_graph()


def _key_named(graph, name: str) -> dg.AssetKey:
    matches = [k for k in graph.get_all_asset_keys() if k.path[-1] == name]
    assert len(matches) == 1, (name, matches)
    return matches[0]


def test_definitions_validate():
    dg.Definitions.validate_loadable(defs)


def test_graph_runs_from_every_raw_table_to_serving():
    graph = _graph()
    serving = dg.AssetKey(["serving", "database"])
    upstream = (
        graph.upstream_key_closure(serving) if hasattr(graph, "upstream_key_closure") else None
    )
    if upstream is None:
        upstream = set()
        frontier = {serving}
        while frontier:
            key = frontier.pop()
            for parent in graph.get(key).parent_keys:
                if parent not in upstream:
                    upstream.add(parent)
                    frontier.add(parent)
    for table in RAW_TABLES:
        assert dg.AssetKey(["raw", table]) in upstream, table
    for mart in MARTS:
        assert _key_named(graph, mart) in upstream, mart
    assert dg.AssetKey(["governance", "publish_gate"]) in upstream


def test_dbt_sources_are_the_ingestion_assets():
    graph = _graph()
    staging = _key_named(graph, "stg_orders__orders")
    assert dg.AssetKey(["raw", "orders"]) in graph.get(staging).parent_keys


def test_every_rule_is_an_asset_check_and_blocking_ones_block():
    checks = {
        spec.name: spec
        for definition in [*defs.assets, *defs.asset_checks]
        if isinstance(definition, dg.AssetsDefinition)
        for spec in definition.check_specs
    }
    for rule in RULES:
        assert rule.check_name in checks, rule.rule_id
        assert checks[rule.check_name].blocking == rule.blocking, rule.rule_id
    # dbt tests are shown as asset checks too
    assert any(name.startswith(("unique_", "declared_not_null_")) for name in checks)


def test_each_rule_is_checked_on_the_asset_it_judges():
    """A finding rule on the dbt model whose column decides it, a blocking rule on the gate
    that decides publication (quality/README.md, "How they run")."""
    graph = _graph()
    checked_on = {key.name: key.asset_key for key in graph.asset_check_keys}
    gate = dg.AssetKey(["governance", "publish_gate"])
    for rule in RULES:
        judged = gate if rule.blocking else _key_named(graph, rule.guards.split(".")[-1])
        assert checked_on[rule.check_name] == judged, rule.rule_id
    assert sum(asset == gate for asset in checked_on.values()) == 4  # GOV-10..13


def test_the_dbt_resource_knows_its_dbt_without_running_dbt_version(monkeypatch):
    """`dbt --version` asks PyPI for the latest releases: the run must not call it, and the
    version dagster-dbt is told must be the one `dbt --version` reports as installed."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    import dagster_dbt.core.resource

    dbt = Path(sys.executable).with_name("dbt")
    installed = subprocess.run(
        [str(dbt), "--version"], capture_output=True, text=True, check=True
    ).stdout
    expected = re.search(r"installed:\s+(\S+)", installed).group(1)

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"the dbt resource ran {args}")

    monkeypatch.setattr(dagster_dbt.core.resource, "check_output", no_subprocess)
    resource = defs.resources["dbt"].model_copy()  # a fresh copy: no cached version yet
    assert str(resource._cli_version) == expected
