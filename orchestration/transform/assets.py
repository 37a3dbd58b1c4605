"""dbt models as Dagster assets, downstream of the raw ingestion assets.

Two ``@dbt_assets`` definitions over the one dbt project: the incremental models (the order
and review facts, ``stg_orders__orders`` and ``stg_reviews__reviews``, which read only the
partitions loaded since their last build) and everything else. Both use the same project and
translator, so the asset keys, groups and asset checks (dbt tests) are the same as one
definition would give; the split lets a run rebuild the incremental models from scratch
(``full_refresh: true`` in the run config of ``yimei_dbt_incremental_models``) without touching
the rest, and shows the incremental step on its own in the UI.
"""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from ingestion import faults
from orchestration.resources import WarehouseResource
from orchestration.transform.project import ensure_manifest, yimei_dbt_project

ensure_manifest()

# The fault point "dbt:building" is reached after this many dbt results (tests/reliability).
DBT_EVENTS_BEFORE_FAULT = 10

# dbt selection of the incremental models; the other definition takes everything else.
INCREMENTAL_MODELS = "config.materialized:incremental"


class YimeiDbtTranslator(DagsterDbtTranslator):
    """Sources keep the ingestion asset keys (``meta.dagster.asset_key``), so the
    lineage from landed files to published marts is one graph; models are grouped
    by layer (staging, intermediate, marts)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else super().get_group_name(dbt_resource_props)


translator = YimeiDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


class IncrementalBuildConfig(dg.Config):
    """Run config of the incremental models."""

    full_refresh: bool = False  # rebuild from every delivered partition (dbt --full-refresh)


def _build_args(warehouse: WarehouseResource, full_refresh: bool = False) -> list[str]:
    as_of = warehouse.settings().as_of.isoformat()
    args = ["build", "--vars", json.dumps({"as_of": as_of})]
    return [*args, "--full-refresh"] if full_refresh else args


def _target_path(warehouse: WarehouseResource) -> Path:
    """One dbt target folder per warehouse, shared by both dbt steps and kept between runs: the
    second step reuses the partial parse of the first (same project, profile and vars) instead
    of parsing the project again, and the last run's artifacts stay next to its warehouse."""
    return warehouse.settings().dbt_target_dir


@dbt_assets(
    manifest=yimei_dbt_project.manifest_path,
    project=yimei_dbt_project,
    dagster_dbt_translator=translator,
    select=INCREMENTAL_MODELS,
    name="yimei_dbt_incremental_models",
)
def yimei_dbt_incremental_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    config: IncrementalBuildConfig,
):
    """The order and review facts: only new, late and re-sent partitions are processed."""
    args = _build_args(warehouse, config.full_refresh)
    yield from dbt.cli(args, context=context, target_path=_target_path(warehouse)).stream()


@dbt_assets(
    manifest=yimei_dbt_project.manifest_path,
    project=yimei_dbt_project,
    dagster_dbt_translator=translator,
    exclude=INCREMENTAL_MODELS,
    name="yimei_dbt_models",
)
def yimei_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
):
    """Seeds, staging views, the as-of histories, compliance facts and marts (rebuilt each run:
    they are judged as of the run date and the registries' current history)."""
    faults.point("dbt:start")
    args = _build_args(warehouse)
    invocation = dbt.cli(args, context=context, target_path=_target_path(warehouse))
    for number, event in enumerate(invocation.stream()):
        if number == DBT_EVENTS_BEFORE_FAULT:
            faults.point("dbt:building")  # dbt is mid-build: models written, more to come
        yield event
