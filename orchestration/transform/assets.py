"""dbt models as Dagster assets, downstream of the raw ingestion assets."""


import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from orchestration.resources import WarehouseResource
from orchestration.transform.project import ensure_manifest, yimei_dbt_project

ensure_manifest()


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


@dbt_assets(
    manifest=yimei_dbt_project.manifest_path,
    project=yimei_dbt_project,
    dagster_dbt_translator=translator,
)
def yimei_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
):
    as_of = warehouse.settings().as_of.isoformat()
    yield from dbt.cli(["build", "--vars", json.dumps({"as_of": as_of})], context=context).stream()
