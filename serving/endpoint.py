"""Which PostgreSQL the published data goes to, and keeping it current.

``YIMEI_SERVING_PG_URL`` points publishing at an existing PostgreSQL (a production team's);
otherwise the local cluster of ``yimei serve`` (serving/cluster.py) is the endpoint once it
has been set up; with neither there is no endpoint, and the embedded DuckDB path needs none.
After every publish of serving.duckdb the endpoint is brought to the same version (the run
that published it); an endpoint that is unreachable is reported behind, and the next run, or
the next ``yimei serve``, catches it up. The last outcome is kept in
``<data dir>/postgres_endpoint.json`` for the run summary.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from ingestion.duck import connect
from quality.outcomes import last_published
from serving.cluster import OWNER, READER, ClusterError, LocalCluster
from serving.postgres import (
    SWAP_WAIT_SECONDS,
    EndpointError,
    pg_connection,
    publish_to_postgres,
    published_version,
)

URL_ENV = "YIMEI_SERVING_PG_URL"
READER_ROLE_ENV = "YIMEI_PG_READER_ROLE"  # the read-only role to grant, on a PostgreSQL of yours
# how long a publish waits for readers still holding the published version (serving/postgres.py)
SWAP_WAIT_ENV = "YIMEI_PG_SWAP_WAIT_S"
STATUS_FILE = "postgres_endpoint.json"


@dataclass(frozen=True)
class EndpointStatus:
    state: str  # current, behind or not configured
    endpoint: str  # where, without credentials
    version: str | None  # the run whose publish it serves
    serving_version: str | None  # the run whose publish serving.duckdb holds
    detail: str
    checked_at: str

    @property
    def behind(self) -> bool:
        return self.state == "behind"


@dataclass(frozen=True)
class _Target:
    url: str | None  # the owner's connection string; None when it cannot be reached
    reader: str | None
    where: str
    unavailable: str | None = None


def _target(data_dir: Path) -> _Target | None:
    url = os.environ.get(URL_ENV)
    if url:
        where = url.rsplit("@", 1)[-1]
        return _Target(url, os.environ.get(READER_ROLE_ENV, READER), f"{URL_ENV} ({where})")
    cluster = LocalCluster.of(data_dir)
    if not cluster.initialised:
        return None
    where = f"local cluster {cluster.root} on 127.0.0.1:{cluster.port}"
    try:
        if not cluster.running():
            return _Target(None, READER, where, "not running: `yimei serve` starts it")
        return _Target(cluster.url(OWNER), READER, where)
    except ClusterError as error:
        return _Target(None, READER, where, str(error))


def serving_version(warehouse_path: Path) -> str | None:
    """The run whose publish serving.duckdb holds: the last one the gate let out."""
    if not warehouse_path.exists():
        return None
    con = connect(warehouse_path, read_only=True)
    try:
        return last_published(con)
    except Exception:  # noqa: BLE001 - nothing decided yet
        return None
    finally:
        con.close()


def keep_current(data_dir: Path, serving_path: Path, warehouse_path: Path) -> EndpointStatus:
    """Publish serving.duckdb to the endpoint unless it already serves that version."""
    version = serving_version(warehouse_path)
    target = _target(data_dir)
    if target is None:
        status = _status("not configured", "none", None, version, "no endpoint configured")
    elif target.url is None:
        status = _status("behind", target.where, None, version, target.unavailable or "")
    else:
        status = _publish(target, serving_path, version)
    (data_dir / STATUS_FILE).write_text(json.dumps(asdict(status), indent=1), encoding="utf-8")
    return status


def _publish(target: _Target, serving_path: Path, version: str | None) -> EndpointStatus:
    try:
        current = published_version(target.url)
        if version is None or current == version:
            return _status("current", target.where, current, version, "already current")
        wait = float(os.environ.get(SWAP_WAIT_ENV) or SWAP_WAIT_SECONDS)
        done = publish_to_postgres(serving_path, target.url, version, _reader_role(target), wait)
    except EndpointError as error:
        return _status("behind", target.where, None, version, str(error))
    detail = f"published {len(done.tables)} tables, {done.rows:,} rows in {done.seconds:.1f} s"
    if done.old_schemas_left:
        detail += f"; old schemas still read, dropped later: {', '.join(done.old_schemas_left)}"
    return _status("current", target.where, version, version, detail)


def _reader_role(target: _Target) -> str | None:
    """The read-only role to grant, if it exists there."""
    with pg_connection(target.url) as conn:
        found = conn.execute("select 1 from pg_roles where rolname = %s", [target.reader])
        return target.reader if found.fetchone() else None


def read_status(data_dir: Path) -> EndpointStatus | None:
    path = data_dir / STATUS_FILE
    if not path.exists():
        return None
    return EndpointStatus(**json.loads(path.read_text(encoding="utf-8")))


def _status(state, where, version, serving, detail) -> EndpointStatus:
    return EndpointStatus(state, where, version, serving, detail, datetime.now(UTC).isoformat())
