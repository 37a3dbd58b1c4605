"""The dbt resource: dagster-dbt's, without its call to the network."""

from __future__ import annotations

from functools import cached_property
from importlib import metadata

from dagster_dbt import DbtCliResource
from packaging import version


class OfflineDbtCliResource(DbtCliResource):
    """dagster-dbt learns which dbt it runs from `dbt --version`, once per run. That command
    also asks PyPI for the latest dbt-core and for each adapter's (three HTTPS requests, up
    to 1 s each): a call out of a pipeline that runs without network access, and 4-6 s of a
    tiny sample's 32 s run here (stop 30). The dbt that runs is the one installed beside
    this interpreter (project.py puts it first on PATH), so its version is dbt-core's."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(metadata.version("dbt-core"))
