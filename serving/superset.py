"""Apache Superset for the starter dashboard: its own environment, over the PostgreSQL endpoint.

Superset pins SQLAlchemy 1.4 and pandas 2.1, which conflict with the warehouse's, so it lives
in ``bi/superset/.venv``, synced by ``make superset`` from ``bi/superset/uv.lock``; yimei
only runs its commands. Everything Superset keeps (its SQLite metadata database, a secret key
and the admin password, both generated once in 0600 files) is under ``<data dir>/superset``.
Provisioning is Superset's own: ``superset db upgrade``, ``superset init``, then
``bi/superset/provision.py`` imports the dashboard bundle in ``bi/superset/bundle/``
through Superset's import commands. The web server is the gunicorn that Superset ships.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError
from urllib.parse import urlsplit, urlunsplit

from serving.cluster import keep_secret

REPO = Path(__file__).resolve().parents[1]
SUPERSET_DIR = REPO / "bi" / "superset"
VENV_BIN = SUPERSET_DIR / ".venv" / "bin"
CONFIG = SUPERSET_DIR / "superset_config.py"
PROVISION = SUPERSET_DIR / "provision.py"
HOST = "127.0.0.1"  # a starter on this machine: Superset listens on loopback only
PORT_ENV = "YIMEI_SUPERSET_PORT"
DEFAULT_PORT = 8088
ADMIN = "admin"
ADMIN_PASSWORD_ENV = "YIMEI_SUPERSET_ADMIN_PASSWORD"
# the read-only connection Superset uses, for an endpoint of yours (YIMEI_SERVING_PG_URL)
DATABASE_URL_ENV = "YIMEI_SUPERSET_DATABASE_URL"
START_TIMEOUT_S = 180
STEP_TIMEOUT_S = 600


class SupersetError(RuntimeError):
    """Superset cannot be set up or started; the message says what to do."""


def port() -> int:
    return int(os.environ.get(PORT_ENV) or DEFAULT_PORT)


def superset_url(database_url: str) -> str:
    """A libpq URL as SQLAlchemy 1.4 names it for psycopg2, the driver Superset's env has."""
    parts = urlsplit(database_url)
    scheme = "postgresql+psycopg2" if parts.scheme in ("postgresql", "postgres") else parts.scheme
    return urlunsplit((scheme, *parts[1:]))


@dataclass(frozen=True)
class SupersetHome:
    root: Path  # <data dir>/superset

    @classmethod
    def of(cls, data_dir: Path) -> SupersetHome:
        return cls(Path(data_dir).resolve() / "superset")

    @property
    def log_path(self) -> Path:
        return self.root / "superset.log"

    @property
    def dictionary_path(self) -> Path:
        """The published tables' labels and descriptions, for provision.py (quality/published.py:
        Superset's interpreter cannot import the warehouse's modules)."""
        return self.root / "dictionary.json"

    @property
    def admin_password_path(self) -> Path:
        return self.root / "admin.password"

    def admin_password(self) -> str:
        return os.environ.get(ADMIN_PASSWORD_ENV) or _read(self.admin_password_path)

    def prepare(self) -> None:
        # superset.db holds the reader's password (encrypted with the secret key beside it)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        keep_secret(self.root / "secret_key", nbytes=48)
        keep_secret(self.admin_password_path, nbytes=18)

    def environment(self, **secret: str) -> dict[str, str]:
        """Superset's processes see its config and home; secrets go here, never on argv."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        return {
            **env,
            "SUPERSET_CONFIG_PATH": str(CONFIG),
            "YIMEI_SUPERSET_HOME": str(self.root),
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            **secret,
        }


def write_dictionary(path: Path) -> None:
    """``{"schema.table": {"label", "description", "columns": {name: {"label",
    "description"}}}}``: the datasets' and columns' verbose names (the Chinese labels) and
    descriptions (Chinese first, English kept) that provision.py sets on the bundle."""
    from quality.published import published_descriptions

    dictionary = {
        table: {
            "label": described.label_zh,
            "description": described.comment,
            "columns": {
                name: {"label": column.label_zh, "description": column.comment}
                for name, column in described.columns.items()
            },
        }
        for table, described in published_descriptions().items()
    }
    path.write_text(json.dumps(dictionary, ensure_ascii=False, indent=1), encoding="utf-8")


def installed() -> bool:
    return (VENV_BIN / "superset").exists() and (VENV_BIN / "gunicorn").exists()


def provision(home: SupersetHome, database_url: str) -> None:
    """Superset's metadata database, its roles, the admin user and the imported bundle;
    each step is idempotent, so every start brings the bundle in again."""
    if not installed():
        raise SupersetError(
            f"Superset is not installed in {VENV_BIN.parent}: `make superset` installs it "
            "from bi/superset/uv.lock"
        )
    home.prepare()
    write_dictionary(home.dictionary_path)
    env = home.environment(
        YIMEI_SUPERSET_ADMIN_PASSWORD=home.admin_password(),
        YIMEI_SUPERSET_DATABASE_URL=superset_url(database_url),
    )
    steps = (
        ("superset db upgrade", [str(VENV_BIN / "superset"), "db", "upgrade"]),
        ("superset init", [str(VENV_BIN / "superset"), "init"]),
        ("importing the bundle", [str(VENV_BIN / "python"), str(PROVISION)]),
    )
    with home.log_path.open("a", encoding="utf-8") as log:
        for name, argv in steps:
            log.write(f"\n== {name}\n")
            log.flush()
            result = subprocess.run(
                argv, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=STEP_TIMEOUT_S
            )
            if result.returncode != 0:
                raise SupersetError(f"{name} failed:\n{_tail(home.log_path)}")


def start_server(home: SupersetHome, listen_port: int) -> subprocess.Popen:
    """Superset's gunicorn on loopback, returned once /health answers."""
    log = home.log_path.open("a", encoding="utf-8")
    server = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "--workers",
            "2",
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--timeout",
            "120",
            "--bind",
            f"{HOST}:{listen_port}",
            "superset.app:create_app()",
        ],
        env=home.environment(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SupersetError(f"Superset's web server exited:\n{_tail(home.log_path)}")
        if _healthy(f"http://{HOST}:{listen_port}/health"):
            return server
        time.sleep(1)
    stop_server(server)
    raise SupersetError(
        f"Superset did not answer on {HOST}:{listen_port} in {START_TIMEOUT_S} s:\n"
        f"{_tail(home.log_path)}"
    )


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (URLError, OSError):
        return False


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(encoding="utf-8", errors="replace")[-chars:]
