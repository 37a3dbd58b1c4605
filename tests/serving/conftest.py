"""A running PostgreSQL endpoint (`yimei serve`) over a copy of a published data dir."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from serving.cluster import OWNER, READER
from tests.conftest import TEST_PII_KEY, free_port
from yimei_cli.serve import READY

# one statement reading both published schemas: the last check of the published run and the
# orders in the marts; a mixed version would show a pair that no version has
VERSION = (
    "select (select max(checked_at) from governance.rule_results), "
    "(select sum(orders) from marts.market_monthly)"
)


def serving_version_pair(serving: Path) -> tuple:
    """``VERSION`` as a ``serving.duckdb`` answers it: what the endpoint must serve after it."""
    con = duckdb.connect(str(serving), read_only=True)
    try:
        return con.execute(VERSION).fetchone()
    finally:
        con.close()


def serve_env(data_dir: Path, port: int, **extra: str) -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("YIMEI_")}
    env.pop("DAGSTER_HOME", None)
    return {
        **env,
        "YIMEI_PII_KEY": TEST_PII_KEY,
        "YIMEI_DATA_DIR": str(data_dir),
        "YIMEI_PG_PORT": str(port),
        **extra,
    }


@contextmanager
def in_foreground(args: list[str], env: dict, start_timeout: float, stop_timeout: float):
    """A `yimei` command that stays in the foreground (`serve`, `superset`): started, waited
    for until it says it is ready, and interrupted at the end as a user would with Ctrl-C;
    a cluster it could not stop in time is stopped with `yimei serve --stop`. Yields what it
    printed up to then."""
    yimei = str(Path(sys.executable).with_name("yimei"))
    server = subprocess.Popen(
        [yimei, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output = []
    deadline = time.monotonic() + start_timeout
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line and server.poll() is not None:
            break
        output.append(line)
        if READY in line:
            break
    else:
        server.kill()
    announced = "".join(output)
    assert READY in announced, announced
    try:
        yield announced
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=stop_timeout)
        except subprocess.TimeoutExpired:
            server.kill()
            subprocess.run([yimei, "serve", "--stop"], env=env, timeout=60)


# Cost: about 15 s per module (a PostgreSQL cluster set up and started by `yimei serve`),
# plus the `published` run it copies the first time. Needed: the real server the BI tools use.
@pytest.fixture(scope="module")
def endpoint(tmp_path_factory, published):
    assert published["result"].returncode == 0, published["result"].stdout[-3000:]
    data_dir = tmp_path_factory.mktemp("endpoint") / "data"
    shutil.copytree(published["data_dir"], data_dir)
    port = free_port()
    env = serve_env(data_dir, port, YIMEI_LANDING_DIR=str(published["landing"]))
    with in_foreground(["serve"], env, start_timeout=180, stop_timeout=60) as announced:
        yield endpoint_of(data_dir, port, env, announced, published["landing"])


def endpoint_of(data_dir: Path, port: int, env: dict, announced: str, landing: Path):
    """The URLs and passwords of the endpoint `yimei serve` started over ``data_dir``."""
    root = data_dir / "postgres"

    def url(role: str) -> str:
        password = (root / f"{role}.password").read_text(encoding="utf-8").strip()
        return f"postgresql://{role}:{password}@127.0.0.1:{port}/yimei"

    return SimpleNamespace(
        data_dir=data_dir,
        port=port,
        env=env,
        announced=announced,
        reader_url=url(READER),
        owner_url=url(OWNER),
        reader_password=(root / f"{READER}.password").read_text(encoding="utf-8").strip(),
        landing=landing,
    )
