"""`yimei superset`: the starter dashboard on 127.0.0.1:8088, over the PostgreSQL endpoint.

It brings the local endpoint up and current (as `yimei serve` does), provisions Superset
(serving/superset.py) pointed at it as the read-only role, and keeps Superset's web server in
the foreground until interrupted; the endpoint is stopped again unless it was already
running. With ``YIMEI_SERVING_PG_URL`` (a PostgreSQL of yours) Superset connects to
``YIMEI_SUPERSET_DATABASE_URL`` instead, the read-only connection string you give it.
"""

from __future__ import annotations

import os
import signal
import threading

from ingestion.settings import Settings
from serving.cluster import READER, ClusterError, LocalCluster
from serving.endpoint import URL_ENV
from serving.superset import (
    ADMIN,
    ADMIN_PASSWORD_ENV,
    DATABASE_URL_ENV,
    HOST,
    SupersetError,
    SupersetHome,
    provision,
    start_server,
    stop_server,
)
from yimei_cli.serve import READY, bring_up

DASHBOARD = "superset/dashboard/yimei-starter/"


def superset(settings: Settings, listen_port: int) -> int:
    if not settings.serving_path.exists():
        print(
            f"yimei superset: nothing published in {settings.data_dir} yet: "
            "`yimei run` (or `make run`) first"
        )
        return 2
    cluster, stop_cluster = None, False
    try:
        if os.environ.get(URL_ENV):
            database_url = os.environ.get(DATABASE_URL_ENV)
            if not database_url:
                print(
                    f"yimei superset: {URL_ENV} points publishing at your PostgreSQL; give "
                    f"Superset its read-only connection string in {DATABASE_URL_ENV}"
                )
                return 2
        else:
            cluster = LocalCluster.of(settings.data_dir)
            status, was_running = bring_up(settings, cluster)
            stop_cluster = not was_running
            if status is not None and status.behind:
                print(f"yimei superset: the endpoint is behind: {status.detail}")
            database_url = cluster.url(READER)
        home = SupersetHome.of(settings.data_dir)
        print(f"Setting up Superset in {home.root} (log: {home.log_path}) ...", flush=True)
        provision(home, database_url)
        server = start_server(home, listen_port)
    except (ClusterError, SupersetError) as error:
        print(f"yimei superset: {error}")
        if stop_cluster:
            cluster.stop()
        return 1
    password = (
        f"${ADMIN_PASSWORD_ENV}"
        if os.environ.get(ADMIN_PASSWORD_ENV)
        else str(home.admin_password_path)
    )
    print(f"Superset on http://{HOST}:{listen_port}/{DASHBOARD}")
    print(f"  log in as {ADMIN}; the password is in {password}")
    print(f"{READY} (and the PostgreSQL endpoint it started).", flush=True)
    return _wait(server, cluster if stop_cluster else None)


def _wait(server, cluster: LocalCluster | None) -> int:
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    code = 0
    while not done.wait(2.0):
        if server.poll() is not None:
            print("yimei superset: Superset's web server stopped (see its log)")
            code = 1
            break
    stop_server(server)
    if cluster is not None:
        try:
            cluster.stop()
        except ClusterError as error:
            print(f"yimei superset: stopping PostgreSQL failed: {error}")
            code = 1
    print("Superset stopped.")
    return code
