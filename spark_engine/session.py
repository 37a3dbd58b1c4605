"""The Spark session yimei's own Python steps use on the Spark engine (the governance suites).

dbt runs its own Spark in the dbt process (profiles.yml, target ``spark``). This one reads the
tables dbt built from their files (spark_engine/tables.py), without the Hive metastore that
dbt's session holds, so a Dagster process that runs many pipeline runs never blocks dbt on
the metastore's single-process lock. Settings follow the dbt target's: Asia/Shanghai session
time, few shuffle partitions on one machine; the engine's master (Settings.spark_master, from
the Dagster resource) points it at a cluster.
"""

from __future__ import annotations

import functools
import os

DRIVER_MEMORY_ENV = "YIMEI_SPARK_DRIVER_MEMORY"


@functools.cache
def spark_session(master: str | None = None):
    """The session, one per process and master: ``master`` a cluster's spark://host:port, or
    none for a local Spark on this machine's cores (``YIMEI_SPARK_CORES``)."""
    from pyspark.sql import SparkSession

    cores = os.environ.get("YIMEI_SPARK_CORES", "*")
    builder = (
        SparkSession.builder.appName("yimei-governance")
        .master(master or f"local[{cores}]")
        .config("spark.driver.memory", os.environ.get(DRIVER_MEMORY_ENV, "4g"))
        .config("spark.sql.session.timeZone", "Asia/Shanghai")
        .config(
            "spark.sql.shuffle.partitions", os.environ.get("YIMEI_SPARK_SHUFFLE_PARTITIONS", "4")
        )
        # as dbt's session (profiles.yml): off for a few rows, where it only re-plans
        .config("spark.sql.adaptive.enabled", os.environ.get("YIMEI_SPARK_ADAPTIVE", "true"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    # the cluster: the application's share, beside the Thrift server's
    if master and master.startswith("spark://"):
        from spark_engine.cluster import ClusterConfig, application_confs

        for key, value in application_confs(ClusterConfig.from_env()).items():
            builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
