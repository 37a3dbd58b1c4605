"""One run at a time on a data directory, whoever starts it (``yimei run``, a sensor's
run, the schedule's).

DuckDB lets one process write a database file, and Dagster's ``max_concurrent_runs``
only queues the runs its own daemon launches: two ``yimei run`` (or one and the UI's
runs) used to overlap until one died on DuckDB's lock. Every run now holds an exclusive
``flock`` on ``<data dir>/yimei.lock`` from its first step to its last; a second run
says who holds it and waits (``YIMEI_LOCK_WAIT_S``, 30 minutes by default), then
refuses. The kernel drops the lock when its holder dies, however it dies, so a kill
never leaves the directory locked. The lock is re-entrant within a process: ``yimei
run`` holds it around the Dagster runs it executes in process.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

LOCK_FILE = "yimei.lock"
DEFAULT_WAIT_S = 1800.0
_POLL_S = 0.2

_held: dict[str, list[int]] = {}  # lock path -> [depth, fd], in this process


class WarehouseBusy(RuntimeError):
    """Another run held the data directory for longer than this one would wait."""


def holder_of(data_dir: Path) -> str:
    """Who holds (or last held) the data directory, in words."""
    try:
        info = json.loads((Path(data_dir) / LOCK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "another yimei run"
    return f"{info.get('holder', 'a yimei run')} (pid {info.get('pid')}, since {info.get('since')})"


def wait_limit() -> float:
    return float(os.environ.get("YIMEI_LOCK_WAIT_S", DEFAULT_WAIT_S))


@contextmanager
def hold(data_dir: Path, holder: str, on_wait: Callable[[str], None] = print) -> Iterator[bool]:
    """Hold the data directory's run lock; yields True where this call took it (the
    outermost holder in this process), False where the process already held it."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_FILE
    key = str(path.resolve())
    if key in _held:
        held = _held[key]
        held[0] += 1
        _describe(held[1], holder)  # a waiting run names the Dagster run in progress
        try:
            yield False
        finally:
            held[0] -= 1
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, data_dir, on_wait)
        _describe(fd, holder)
        _held[key] = [1, fd]
        try:
            yield True
        finally:
            del _held[key]
    finally:
        os.close(fd)  # releases the flock


def _describe(fd: int, holder: str) -> None:
    since = datetime.now(UTC).isoformat(timespec="seconds")
    text = json.dumps({"holder": holder, "pid": os.getpid(), "since": since}, ensure_ascii=False)
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode("utf-8"), 0)


def _acquire(fd: int, data_dir: Path, on_wait: Callable[[str], None]) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    limit = wait_limit()
    on_wait(
        f"{data_dir} is in use by {holder_of(data_dir)}: waiting up to {limit:.0f} s "
        "for it to finish (one run at a time writes the warehouse)"
    )
    deadline = time.monotonic() + limit
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"{data_dir} is still in use by {holder_of(data_dir)} after {limit:.0f} s: "
                    "nothing was done; run again when it has finished (YIMEI_LOCK_WAIT_S sets "
                    "how long to wait)"
                ) from None
            time.sleep(_POLL_S)
