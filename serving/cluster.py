"""The embedded PostgreSQL endpoint: a local cluster under ``<data dir>/postgres``.

Debian's PostgreSQL binaries run it (``initdb``, ``pg_ctl``); nothing here speaks the wire
protocol itself. ``initdb`` and the server refuse to run as root, so when yimei runs as root
the cluster belongs to the unprivileged ``postgres`` OS user that Debian's package creates
(``runuser``). The cluster listens on 127.0.0.1 only unless a reader password and TLS
certificate are given; every login needs a password (scram-sha-256).

Three roles: ``yimei_admin`` (the cluster's superuser, used only to set it up),
``yimei_owner`` publishes (it owns the database ``yimei`` and its schemas) and
``yimei_reader`` reads the published schemas and nothing else. Their passwords are generated
once and kept in 0600 files beside the cluster (``YIMEI_PG_READER_PASSWORD`` sets the
reader's).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

PORT_ENV = "YIMEI_PG_PORT"
DEFAULT_PORT = 5433
READER_PASSWORD_ENV = "YIMEI_PG_READER_PASSWORD"
BIN_DIR_ENV = "YIMEI_PG_BIN"  # where initdb and pg_ctl are, if not Debian's
DATABASE = "yimei"
ADMIN = "yimei_admin"
OWNER = "yimei_owner"
READER = "yimei_reader"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
SERVER_USER = "postgres"  # the unprivileged OS user of Debian's package, when run as root


class ClusterError(RuntimeError):
    """The local cluster cannot be set up or started; the message says what to do."""


def pg_bin_dir() -> Path:
    configured = os.environ.get(BIN_DIR_ENV)
    candidates = (
        [Path(configured)] if configured else sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    )
    for directory in reversed(candidates):
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    raise ClusterError(
        "PostgreSQL server binaries not found (initdb, pg_ctl): run `make setup`, which "
        "installs Debian's postgresql package, or set YIMEI_PG_BIN"
    )


def port() -> int:
    return int(os.environ.get(PORT_ENV) or DEFAULT_PORT)


@dataclass(frozen=True)
class LocalCluster:
    root: Path  # <data dir>/postgres
    port: int
    host: str = "127.0.0.1"

    @classmethod
    def of(cls, data_dir: Path, host: str = "127.0.0.1") -> LocalCluster:
        return cls(Path(data_dir).resolve() / "postgres", port(), host)

    @property
    def pgdata(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    @property
    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def url(self, role: str = READER, database: str = DATABASE) -> str:
        """A connection string; publishing and set-up always go through loopback."""
        password = quote(self.password(role), safe="")
        host = self.host if role == READER and self.host not in ("0.0.0.0", "::") else "127.0.0.1"
        return f"postgresql://{role}:{password}@{host}:{self.port}/{database}"

    def password(self, role: str) -> str:
        path = self.root / f"{role}.password"
        if role == READER and os.environ.get(READER_PASSWORD_ENV):
            return os.environ[READER_PASSWORD_ENV]
        if not path.exists():
            raise ClusterError(f"no password kept for {role} in {path}: run `yimei serve` first")
        return path.read_text(encoding="utf-8").strip()

    # -- set-up --------------------------------------------------------------------------

    def ensure_initialised(self, tls_cert: Path | None = None, tls_key: Path | None = None):
        """initdb once; the server settings are (re)written on every start."""
        self.root.mkdir(parents=True, exist_ok=True)
        for role in (ADMIN, OWNER, READER):
            keep_secret(self.root / f"{role}.password")
        if not self.initialised:
            self._initdb()
        self._write_settings(tls_cert, tls_key)

    def _initdb(self) -> None:
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise ClusterError(f"{self.pgdata} is not empty but holds no cluster: move it away")
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        pwfile = self.root / ".initdb.pw"
        pwfile.write_text(self.password(ADMIN) + "\n", encoding="utf-8")
        try:
            self._hand_over(self.pgdata, self.socket_dir, pwfile)
            self._server_command(
                str(pg_bin_dir() / "initdb"),
                "--pgdata",
                str(self.pgdata),
                "--username",
                ADMIN,
                "--pwfile",
                str(pwfile),
                "--auth",
                "scram-sha-256",
                "--encoding",
                "UTF8",
                "--locale",
                "C.UTF-8",
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def _write_settings(self, tls_cert: Path | None, tls_key: Path | None) -> None:
        # publishing always connects over loopback, whatever else the server listens on
        listen = self.host if self.host in LOOPBACK else f"127.0.0.1,{self.host}"
        lines = [
            f"listen_addresses = '{listen}'",
            f"port = {self.port}",
            f"unix_socket_directories = '{self.socket_dir}'",
            "password_encryption = 'scram-sha-256'",
            "timezone = 'Asia/Shanghai'",
        ]
        if tls_cert and tls_key:
            for source, name in ((tls_cert, "server.crt"), (tls_key, "server.key")):
                shutil.copyfile(source, self.pgdata / name)
                os.chmod(self.pgdata / name, 0o600)
                self._hand_over(self.pgdata / name)
            lines += ["ssl = on", "ssl_cert_file = 'server.crt'", "ssl_key_file = 'server.key'"]
        settings = self.pgdata / "yimei.conf"
        settings.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self._hand_over(settings)
        conf = self.pgdata / "postgresql.conf"
        text = conf.read_text(encoding="utf-8")
        if "include_if_exists = 'yimei.conf'" not in text:
            conf.write_text(text + "\ninclude_if_exists = 'yimei.conf'\n", encoding="utf-8")
        hba = ["local all all scram-sha-256", "host all all 127.0.0.1/32 scram-sha-256"]
        hba.append("host all all ::1/128 scram-sha-256")
        if self.host not in LOOPBACK:  # only with TLS (checked by `yimei serve`)
            hba.append("hostssl all all 0.0.0.0/0 scram-sha-256")
            hba.append("hostssl all all ::/0 scram-sha-256")
        (self.pgdata / "pg_hba.conf").write_text("\n".join(hba) + "\n", encoding="utf-8")
        self._hand_over(self.pgdata / "pg_hba.conf")

    # -- running -------------------------------------------------------------------------

    def running(self) -> bool:
        if not self.initialised:
            return False
        result = self._server_command(
            str(pg_bin_dir() / "pg_ctl"), "status", "--pgdata", str(self.pgdata), check=False
        )
        return result.returncode == 0

    def start(self) -> None:
        if self.running():
            return
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.touch()
        self._hand_over(self.socket_dir, self.log_path)
        result = self._server_command(
            str(pg_bin_dir() / "pg_ctl"),
            "start",
            "--pgdata",
            str(self.pgdata),
            "--log",
            str(self.log_path),
            "--wait",
            "--timeout",
            "60",
            check=False,
        )
        if result.returncode != 0:
            tail = self.log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise ClusterError(f"PostgreSQL did not start on port {self.port}:\n{tail}")

    def stop(self) -> bool:
        """Stops a running cluster (fast shutdown); False when none was running."""
        if not self.running():
            return False
        self._server_command(
            str(pg_bin_dir() / "pg_ctl"), "stop", "--pgdata", str(self.pgdata), "--mode", "fast"
        )
        return True

    def create_database(self) -> None:
        """The database, the owner and the reader, idempotently; the reader may connect to
        it, and nothing else (it is granted each published schema as it is published)."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(ADMIN, "postgres"), autocommit=True) as conn:
            for role in (OWNER, READER):
                exists = conn.execute("select 1 from pg_roles where rolname = %s", [role])
                verb = "alter" if exists.fetchone() else "create"
                # the password is a bound literal: no SQL is built from it
                conn.execute(
                    sql.SQL("{} role {} login password {}").format(
                        sql.SQL(verb),
                        sql.Identifier(role),
                        sql.Literal(self.password(role)),
                    )
                )
            if not conn.execute(
                "select 1 from pg_database where datname = %s", [DATABASE]
            ).fetchone():
                conn.execute(f"create database {DATABASE} owner {OWNER} encoding 'UTF8'")
            conn.execute(f"revoke all on database {DATABASE} from public")
            conn.execute(f"grant connect on database {DATABASE} to {READER}")
            conn.execute(f"alter role {READER} set search_path = marts, governance")
            # in a lock conflict with readers the publishing swap gives way first
            # (serving/postgres.py): its deadlock check runs long before a reader's
            conn.execute(f"alter role {OWNER} set deadlock_timeout = '100ms'")
            # the swap waits for readers' old snapshots, which it sees in pg_stat_activity
            # only with this role: the columns of other roles' sessions are NULL without it
            conn.execute(f"grant pg_read_all_stats to {OWNER}")
        with psycopg.connect(self.url(ADMIN), autocommit=True) as conn:
            conn.execute("revoke all on schema public from public")
            conn.execute(f"alter schema public owner to {OWNER}")

    # -- running as the unprivileged OS user when we are root ----------------------------

    def _server_command(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        command = list(argv)
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if check and result.returncode != 0:
            raise ClusterError(f"{' '.join(argv[:2])} failed: {result.stderr.strip()[-2000:]}")
        return result

    def _hand_over(self, *paths: Path) -> None:
        """As root: the server's files belong to its OS user, and it can reach them."""
        if os.geteuid() != 0:
            return
        try:
            user = pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise ClusterError(
                f"running as root, and there is no OS user {SERVER_USER!r} to run PostgreSQL "
                "as (initdb refuses root): install Debian's postgresql package (`make setup`)"
            ) from None
        for path in paths:
            os.chown(path, user.pw_uid, user.pw_gid)
        _allow_traversal(self.root)
        os.chown(self.root, 0, user.pw_gid)
        os.chmod(self.root, 0o750)


def keep_secret(path: Path, nbytes: int = 24) -> None:
    """A generated secret, once, in a file only its owner can read."""
    if path.exists():
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(nbytes) + "\n")


def _allow_traversal(path: Path) -> None:
    """The server's OS user must be able to pass through the folders above the cluster (a
    private temp folder is 0700): grant search (x) only, never read, where it is missing."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, mode | 0o001)
