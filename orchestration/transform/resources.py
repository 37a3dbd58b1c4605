"""The dbt resource: dagster-dbt's, without its call to the network or its in-process adapter."""

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

    def _initialize_dbt_core_adapter(self, args):
        """dagster-dbt loads dbt's adapter and macros in this process before each invocation
        starts (1.5 s of an S day's critical path, py-spy), for ``fetch_row_counts`` and
        ``fetch_column_metadata``, which yimei does not call; dbt builds in its own process."""
        return None
