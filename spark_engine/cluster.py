"""A Spark standalone cluster on this machine: a master, two workers and a Thrift server.

It is how a team that outgrew one machine runs Spark, shrunk to 127.0.0.1: the master
schedules, each worker starts its own executor JVM, and dbt talks to the Thrift server
(HiveThriftServer2, the ``spark_thrift`` target in profiles.yml), an application of the
cluster like any other. Everything starts from the pyspark wheel's own jars with
``bin/spark-class`` and ``bin/spark-submit`` (the wheel has no ``sbin`` start scripts), each
JVM in a session of its own, its pid and log under ``<data dir>/spark/cluster/``.

Sizes fit a 2-core, 24 GB machine beside the rest of the pipeline: daemons of 512 MB, two
workers of ``YIMEI_SPARK_WORKER_CORES`` (2) cores and ``YIMEI_SPARK_WORKER_MEMORY`` (4g) each.
Each application (the Thrift server's, the governance suites' session) takes one core on each
worker (``application_confs``): the Thrift server holds its executors for as long as it runs,
so the workers offer two slots each for a second application to start beside it; a worker's
cores are slots the standalone master hands out, not the machine's.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pyspark

HOST = "127.0.0.1"
DAEMON_MEMORY = "512m"
WORKERS = 2
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
THRIFT_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
THRIFT_APP_NAME = "yimei-thrift"
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 30


class ClusterError(RuntimeError):
    """The cluster did not start, or not as configured: the message says which part."""


@dataclass(frozen=True)
class ClusterConfig:
    """Ports and sizes, each overridable through the environment (``YIMEI_SPARK_<NAME>``)."""

    master_port: int = 7077
    master_ui_port: int = 8080
    worker_ui_port: int = 8081  # the first worker's; the next ones count up
    thrift_port: int = 10000
    worker_cores: int = 2
    worker_memory: str = "4g"
    executor_memory: str = "2g"
    driver_memory: str = "2g"

    @classmethod
    def from_env(cls) -> ClusterConfig:
        values = {}
        for name, default in cls.__dataclass_fields__.items():
            raw = os.environ.get(f"YIMEI_SPARK_{name.upper()}")
            if raw:
                values[name] = int(raw) if isinstance(default.default, int) else raw
        return cls(**values)

    @property
    def master_url(self) -> str:
        return f"spark://{HOST}:{self.master_port}"

    @property
    def status_url(self) -> str:
        """The master's status page as JSON (what `yimei spark-cluster status` reads)."""
        return f"http://{HOST}:{self.master_ui_port}/json/"


@dataclass
class ClusterStatus:
    master: str  # ALIVE, or "down"
    workers: list[dict] = field(default_factory=list)  # the master's view: id, state, cores
    applications: list[dict] = field(default_factory=list)  # running ones: name, cores, id
    thrift: bool = False  # the Thrift server accepts connections
    processes: dict[str, int] = field(default_factory=dict)  # role -> pid, those alive

    @property
    def alive_workers(self) -> list[dict]:
        return [w for w in self.workers if w.get("state") == "ALIVE"]

    @property
    def up(self) -> bool:
        return self.master == "ALIVE" and len(self.alive_workers) >= WORKERS and self.thrift

    def lines(self, config: ClusterConfig) -> list[str]:
        out = [f"master   {config.master_url}: {self.master} ({config.status_url})"]
        for worker in self.workers:
            out.append(
                f"worker   {worker.get('id')}: {worker.get('state')}, "
                f"{worker.get('cores')} core(s), {worker.get('memory')} MB"
            )
        for app in self.applications:
            out.append(f"app      {app.get('name')} ({app.get('id')}): {app.get('cores')} core(s)")
        thrift = f"jdbc:hive2://{HOST}:{config.thrift_port}"
        out.append(f"thrift   {thrift}: {'accepting' if self.thrift else 'down'}")
        return out


def application_confs(config: ClusterConfig) -> dict[str, str]:
    """An application's share of the cluster: one executor of one core on each worker."""
    return {
        "spark.cores.max": str(WORKERS),
        "spark.executor.cores": "1",
        "spark.executor.memory": config.executor_memory,
    }


def spark_home() -> Path:
    return Path(pyspark.__file__).parent


def cluster_dir(spark_dir: Path) -> Path:
    return spark_dir / "cluster"


def thrift_confs(spark_dir: Path) -> dict[str, str]:
    """The Thrift server's session settings: those of the dbt ``spark`` target (profiles.yml),
    on the same warehouse folder and metastore, so both targets build the same tables."""
    log_config = os.environ.get("YIMEI_SPARK_LOG_CONFIG", "")
    java_options = f"-Dderby.system.home={spark_dir}"
    if log_config:
        java_options += f" -Dlog4j2.configurationFile={log_config}"
    return {
        "spark.sql.warehouse.dir": str(spark_dir / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={spark_dir / 'metastore_db'};create=true"
        ),
        "spark.driver.extraJavaOptions": java_options,
        "spark.sql.session.timeZone": "Asia/Shanghai",
        "spark.sql.shuffle.partitions": os.environ.get("YIMEI_SPARK_SHUFFLE_PARTITIONS", "4"),
        "spark.sql.adaptive.enabled": os.environ.get("YIMEI_SPARK_ADAPTIVE", "true"),
        "spark.sql.mapKeyDedupPolicy": "LAST_WIN",
        "spark.sql.parser.escapedStringLiterals": "true",
        "spark.ui.enabled": "false",
    }


def _commands(spark_dir: Path, config: ClusterConfig) -> list[tuple[str, list[str]]]:
    bin_dir = spark_home() / "bin"
    here = cluster_dir(spark_dir)
    commands = [
        (
            "master",
            [str(bin_dir / "spark-class"), MASTER_CLASS, "--host", HOST]
            + ["--port", str(config.master_port), "--webui-port", str(config.master_ui_port)],
        )
    ]
    for n in range(1, WORKERS + 1):
        commands.append(
            (
                f"worker-{n}",
                [str(bin_dir / "spark-class"), WORKER_CLASS, "--host", HOST]
                + ["--cores", str(config.worker_cores), "--memory", config.worker_memory]
                + ["--webui-port", str(config.worker_ui_port + n - 1)]
                + ["--work-dir", str(here / f"worker-{n}"), config.master_url],
            )
        )
    thrift = [str(bin_dir / "spark-submit"), "--class", THRIFT_CLASS, "--name", THRIFT_APP_NAME]
    thrift += ["--master", config.master_url, "--driver-memory", config.driver_memory]
    for key, value in {**application_confs(config), **thrift_confs(spark_dir)}.items():
        thrift += ["--conf", f"{key}={value}"]
    thrift += ["spark-internal", "--hiveconf", f"hive.server2.thrift.bind.host={HOST}"]
    thrift += ["--hiveconf", f"hive.server2.thrift.port={config.thrift_port}"]
    commands.append(("thrift", thrift))
    return commands


def check_serves(spark_dir: Path, config: ClusterConfig | None = None) -> None:
    """The Thrift server answers and builds into ``spark_dir``'s warehouse folder (it was
    started for this data directory): otherwise dbt's tables would land where the publish
    step does not read them."""
    from pyhive import hive

    config = config or ClusterConfig.from_env()
    host = os.environ.get("YIMEI_SPARK_THRIFT_HOST", HOST)
    try:
        con = hive.connect(host=host, port=config.thrift_port, username="yimei")
    except Exception as error:  # noqa: BLE001 (thrift's transport errors share no base)
        raise ClusterError(
            f"no Spark Thrift server at {host}:{config.thrift_port} ({error}): "
            "start the cluster with `yimei spark-cluster start` for this data directory"
        ) from error
    try:
        cursor = con.cursor()
        cursor.execute("set spark.sql.warehouse.dir")
        (_, served), *_ = cursor.fetchall()
    finally:
        con.close()
    expected = str(spark_dir / "warehouse")
    if served.removeprefix("file:").rstrip("/") != expected:
        raise ClusterError(
            f"the Spark Thrift server at {host}:{config.thrift_port} builds into {served}, "
            f"not {expected}: it was started for another data directory"
        )


def _pid_file(spark_dir: Path, role: str) -> Path:
    return cluster_dir(spark_dir) / f"{role}.pid"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (exited, not yet reaped by its parent) is not alive
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _running(spark_dir: Path) -> dict[str, int]:
    processes = {}
    for path in sorted(cluster_dir(spark_dir).glob("*.pid")):
        pid = int(path.read_text().strip() or 0)
        if pid and alive(pid):
            processes[path.stem] = pid
    return processes


def _master_json(config: ClusterConfig) -> dict | None:
    try:
        with urllib.request.urlopen(config.status_url, timeout=2) as response:
            return json.loads(response.read())
    except OSError:
        return None


def _accepting(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((HOST, port)) == 0


def status(spark_dir: Path, config: ClusterConfig | None = None) -> ClusterStatus:
    config = config or ClusterConfig.from_env()
    state = _master_json(config)
    if state is None:
        return ClusterStatus("down", thrift=_accepting(config.thrift_port),
                             processes=_running(spark_dir))  # fmt: skip
    return ClusterStatus(
        master=state.get("status", "?"),
        workers=state.get("workers", []),
        applications=state.get("activeapps", []),
        thrift=_accepting(config.thrift_port),
        processes=_running(spark_dir),
    )


def _wait(what: str, ready, log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    raise ClusterError(f"{what} not ready after {START_TIMEOUT_S} s; {log}:\n{tail}")


def start(spark_dir: Path, config: ClusterConfig | None = None) -> ClusterStatus:
    """Start what is not running yet and wait until the whole cluster serves; on failure,
    stop what this call started (no half-started cluster is left behind)."""
    config = config or ClusterConfig.from_env()
    here = cluster_dir(spark_dir)
    here.mkdir(parents=True, exist_ok=True)
    running = _running(spark_dir)
    started: list[str] = []
    env = {**os.environ, "SPARK_DAEMON_MEMORY": DAEMON_MEMORY, "SPARK_LOG_DIR": str(here)}
    env["SPARK_HOME"] = str(spark_home())
    deadline = time.monotonic() + START_TIMEOUT_S
    checks = {
        "master": lambda: (_master_json(config) or {}).get("status") == "ALIVE",
        "thrift": lambda: _accepting(config.thrift_port),
    }
    try:
        for role, argv in _commands(spark_dir, config):
            if role in running:
                continue
            if role == "thrift":  # executors need the workers registered first
                _wait("the workers", lambda: len(status(spark_dir, config).alive_workers)
                      >= WORKERS, here / "worker-1.log", deadline)  # fmt: skip
            log = here / f"{role}.log"
            with log.open("ab") as out:
                process = subprocess.Popen(
                    argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=here,
                    start_new_session=True,
                )  # fmt: skip
            _pid_file(spark_dir, role).write_text(f"{process.pid}\n")
            started.append(role)
            if role in checks:
                _wait(role, checks[role], log, deadline)
    except BaseException:
        stop(spark_dir, only=started)
        raise
    return status(spark_dir, config)


def stop(spark_dir: Path, only: list[str] | None = None) -> list[str]:
    """Stop the cluster's processes (the Thrift server first, the master last), each with its
    session, so the executors the workers started go too. Returns the roles stopped."""
    stopped = []
    order = ["thrift", *(f"worker-{n}" for n in range(WORKERS, 0, -1)), "master"]
    for role in order:
        if only is not None and role not in only:
            continue
        path = _pid_file(spark_dir, role)
        if not path.exists():
            continue
        pid = int(path.read_text().strip() or 0)
        if pid and alive(pid):
            _signal_session(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            _signal_session(pid, signal.SIGKILL)
            stopped.append(role)
        path.unlink(missing_ok=True)
    return stopped


def _signal_session(pid: int, sig: int) -> None:
    """Signal every process of the session ``pid`` leads (it was started in a new one)."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
