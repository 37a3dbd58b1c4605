"""`yimei spark-cluster start|stop|status`: the Spark standalone cluster (spark_engine/cluster.py)
under the data directory, for `yimei run --engine spark` over the Thrift server."""

from __future__ import annotations

from ingestion.settings import Settings
from spark_engine import cluster


def spark_cluster(settings: Settings, action: str) -> int:
    config = cluster.ClusterConfig.from_env()
    if action == "start":
        try:
            state = cluster.start(settings.spark_dir, config)
        except cluster.ClusterError as error:
            print(f"yimei spark-cluster: {error}")
            return 1
        print("\n".join(state.lines(config)))
        print(f"logs and pids: {cluster.cluster_dir(settings.spark_dir)}")
        return 0
    if action == "stop":
        stopped = cluster.stop(settings.spark_dir)
        print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
        return 0
    state = cluster.status(settings.spark_dir, config)
    print("\n".join(state.lines(config)))
    return 0 if state.up else 3  # 3: not (fully) running, as `systemctl status` says
