"""Dagster's SQLite event log with one connection per database file, kept open.

Dagster's own ``SqliteEventLogStorage`` creates a SQLAlchemy engine and a new SQLite
connection (``NullPool``) for every write, and an asset or check event is written up to three
times (its run's file, the cross-run index, the check table). A `yimei run` of the tiny sample
stores about 1,100 events (one per dbt model and test, per ingested partition, per rule): the
engines and connections alone took 5.4 s of its 26 s in the main thread (py-spy, stop 32).
Keeping one engine per file (``StaticPool``: one connection, used under the storage's own
lock) gives the same rows in the same files: 24.5-25.2 s instead of 28.4-28.7 s per run, and
about 3.5 s less CPU (SQLAlchemy on NullPool for SQLite: sqlalchemy/sqlalchemy#7490).

The files, their schema and everything Dagster does with them stay Dagster's: the data
directory's ``dagster.yaml`` keeps Dagster's default storage, and only the process that writes
a run (`yimei run`, through ``instance_for_runs``) uses this class on those files; the UI and
any other reader open them as Dagster does.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

# A run writes its own file and the index; the UI reads one run at a time. Engines beyond
# these are closed, so a long-lived UI does not keep a file open for every run it showed.
OPEN_FILES = 8


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` whose connection to each file is opened once."""

    def __init__(self, base_dir: str, inst_data: Any = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=StaticPool,
                # the one connection is used by whichever thread holds self._db_lock
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            self._engines[shard] = engine
            while len(self._engines) > OPEN_FILES:
                _, oldest = self._engines.popitem(last=False)
                oldest.dispose()
        else:
            self._engines.move_to_end(shard)
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # as Dagster's own _connect (the same lock, initialisation and transaction), with the
        # engine kept instead of created and disposed each time
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn

    def _close_files(self) -> None:
        with self._db_lock:
            while self._engines:
                _, engine = self._engines.popitem()
                engine.dispose()

    def wipe(self) -> None:
        self._close_files()  # the run files are deleted
        super().wipe()

    def dispose(self) -> None:
        self._close_files()
        super().dispose()


def instance_for_runs(home: Path) -> dg.DagsterInstance:
    """The instance of ``home`` (its dagster.yaml), writing its event log through
    ``PooledSqliteEventLogStorage`` where the event log is Dagster's default SQLite one, in
    the folder Dagster keeps it in (``history/runs``). A dagster.yaml that configures its own
    storage (PostgreSQL, say) is used as it is."""
    config_file = home / "dagster.yaml"
    config = yaml.safe_load(config_file.read_text(encoding="utf-8")) if config_file.exists() else {}
    if any(key in (config or {}) for key in ("storage", "run_storage", "event_log_storage")):
        return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
    pooled = {
        "module": __name__,
        "class": PooledSqliteEventLogStorage.__name__,
        "config": {"base_dir": str(home / "history" / "runs")},
    }
    ref = InstanceRef.from_dir(str(home), overrides={"event_log_storage": pooled})
    return dg.DagsterInstance.from_ref(ref)
