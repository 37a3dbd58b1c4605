"""The one resource every area shares: where the warehouse lives and what day it is."""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import date

import dagster as dg

from ingestion import run_lock
from ingestion.duck import connect
from ingestion.settings import ENGINE_ENV, SPARK_MASTER_ENV, Settings
from orchestration import runs


class WarehouseResource(dg.ConfigurableResource):
    """Paths, run date and engine, from the same environment the dbt profile reads, configured
    once for a run: asset bodies ask ``settings()``, never the environment.

    ``data_dir`` is ``YIMEI_DATA_DIR``: the dbt profile builds the DuckDB path
    from that same variable, so Dagster and dbt always open one file.
    """

    landing_dir: str
    data_dir: str
    as_of: str = ""  # YYYY-MM-DD; empty means today in Asia/Shanghai
    engine: str = ""  # duckdb or spark (ingestion/settings.py ENGINES); empty means duckdb
    spark_master: str = ""  # spark://host:port: the Spark engine builds on that cluster

    def settings(self) -> Settings:
        as_of = date.fromisoformat(self.as_of) if self.as_of else None
        return Settings.from_env(
            landing_dir=self.landing_dir,
            data_dir=self.data_dir,
            as_of=as_of,
            engine=self.engine or "duckdb",
            spark_master=self.spark_master or None,
        )

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext):
        """A run holds the data directory's lock from its first step to its last, however it
        was launched (``yimei run``, a sensor, the schedule); a sensor's evaluation, which is
        no run, does not. The first holder marks runs that died (killed) as failed."""
        run = context.dagster_run
        if run is None or context.instance is None:
            yield self
            return
        settings = self.settings()
        holder = f"Dagster run {run.run_id} ({run.job_name})"
        warn = context.log.warning if context.log else print
        with run_lock.hold(settings.data_dir, holder, on_wait=warn) as outermost:
            runs.claim(context.instance, run.run_id)
            if outermost:
                for dead in runs.fail_dead_runs(context.instance, run.run_id):
                    warn(f"run {dead} had died without finishing: marked failed")
            yield self

    @contextmanager
    def connect(self, read_only: bool = False):
        con = connect(self.settings().warehouse_path, read_only=read_only)
        try:
            yield con
        finally:
            con.close()


def warehouse_resource() -> WarehouseResource:
    """The paths and the run date are required (dg.EnvVar: a run without them fails at its
    start, naming the variable); the engine and the cluster are optional, read once when the
    definitions load: unset, DuckDB (a `dagster job execute` or `dagster dev` started without
    `yimei`, which exports every one of them)."""
    return WarehouseResource(
        landing_dir=dg.EnvVar("YIMEI_LANDING_DIR"),
        data_dir=dg.EnvVar("YIMEI_DATA_DIR"),
        as_of=dg.EnvVar("YIMEI_AS_OF"),
        engine=os.environ.get(ENGINE_ENV, ""),
        spark_master=os.environ.get(SPARK_MASTER_ENV, ""),
    )
