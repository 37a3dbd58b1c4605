"""`yimei serve`: the local PostgreSQL endpoint, set up once, kept current, in the foreground."""

from __future__ import annotations

import os
import signal
import threading

from ingestion.settings import Settings
from serving.cluster import (
    LOOPBACK,
    READER,
    READER_PASSWORD_ENV,
    ClusterError,
    LocalCluster,
)
from serving.endpoint import URL_ENV, keep_current

# What the foreground commands print once they are serving (tests wait for it).
READY = "Ctrl-C stops it"
# How often the foreground process checks that the server is still up.
WATCH_INTERVAL_S = 5.0


def serve(settings: Settings, host: str, stop: bool, tls: tuple) -> int:
    cluster = LocalCluster.of(settings.data_dir, host=host)
    if stop:
        try:
            stopped = cluster.stop()
        except ClusterError as error:
            print(f"yimei serve: {error}")
            return 1
        print(
            f"stopped the PostgreSQL endpoint in {cluster.root}"
            if stopped
            else f"no PostgreSQL endpoint running in {cluster.root}"
        )
        return 0
    refusal = _refuse_exposure(host, tls)
    if refusal:
        print(f"yimei serve: {refusal}")
        return 2
    try:
        status, _ = bring_up(settings, cluster, tls)
    except ClusterError as error:
        print(f"yimei serve: {error}")
        return 1
    _announce(cluster, status)
    return _wait(cluster)


def bring_up(settings: Settings, cluster: LocalCluster, tls: tuple = (None, None)):
    """The local cluster set up, started and serving the current version. Returns the
    endpoint's status (None when nothing is published yet) and whether it was already up."""
    if os.environ.get(URL_ENV):
        print(
            f"yimei: note: {URL_ENV} is set, so `yimei run` publishes there, "
            "not to this local cluster"
        )
    cluster.ensure_initialised(*tls)
    was_running = cluster.running()
    cluster.start()
    cluster.create_database()
    status = None
    if settings.serving_path.exists():
        status = keep_current(settings.data_dir, settings.serving_path, settings.warehouse_path)
    return status, was_running


def _refuse_exposure(host: str, tls: tuple) -> str | None:
    if host in LOOPBACK:
        return None
    missing = []
    if not os.environ.get(READER_PASSWORD_ENV):
        missing.append(f"${READER_PASSWORD_ENV}")
    if not all(tls):
        missing.append("--tls-cert and --tls-key")
    if missing:
        return (
            f"refusing to listen on {host} (beyond loopback) without {' and '.join(missing)}: "
            "a generated password and clear-text connections are for this machine only"
        )
    return None


def _announce(cluster: LocalCluster, status) -> None:
    reader_url = cluster.url(READER)
    shown = reader_url.replace(f":{cluster.password(READER)}@", "@")
    source = (
        f"${READER_PASSWORD_ENV}"
        if os.environ.get(READER_PASSWORD_ENV)
        else str(cluster.root / f"{READER}.password")
    )
    print(f"PostgreSQL endpoint on {cluster.host}:{cluster.port}, database yimei")
    print(f"  read-only connection: {shown}")
    print(f"  password of {READER}: {source}")
    print(f'  psql: PGPASSWORD="$(cat {cluster.root / (READER + ".password")})" psql "{shown}"')
    if status is None:
        print("  nothing published yet: `yimei run` publishes here once it has a version")
    else:
        print(f"  serving: {status.state} ({status.detail})")
    print(f"{READY} (`yimei serve --stop` stops one left running).", flush=True)


def _wait(cluster: LocalCluster) -> int:
    done = threading.Event()

    def _stop(signum, _frame):
        done.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stop)
    code = 0
    while not done.wait(WATCH_INTERVAL_S):
        if not cluster.running():
            print(f"yimei serve: the PostgreSQL server stopped (see {cluster.log_path})")
            code = 1
            break
    try:
        cluster.stop()
    except ClusterError as error:
        print(f"yimei serve: stopping failed: {error}")
        return 1
    print("PostgreSQL endpoint stopped.")
    return code
