"""Run a command and sample the resident memory of its whole process tree."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

SAMPLE_INTERVAL_S = 0.2


def tree_rss(process: psutil.Process) -> int:
    """RSS of a process and all its descendants (bytes); processes that end meanwhile count 0."""
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            pass
    return total


class RssSampler:
    """Samples `tree_rss(pid)` every `interval` seconds in a thread: (epoch time, bytes)."""

    def __init__(self, pid: int, interval: float = SAMPLE_INTERVAL_S):
        self.process = psutil.Process(pid)
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), tree_rss(self.process)))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, start: float | None = None, end: float | None = None) -> int:
        """Largest sample within [start, end] (epoch seconds); the whole run when unbounded."""
        lo = float("-inf") if start is None else start - self.interval
        hi = float("inf") if end is None else end + self.interval
        return max((rss for t, rss in self.samples if lo <= t <= hi), default=0)


@dataclass
class CommandRun:
    argv: list[str]
    returncode: int
    started: float  # epoch seconds
    ended: float
    log_path: Path
    samples: list[tuple[float, int]] = field(repr=False, default_factory=list)
    interval: float = SAMPLE_INTERVAL_S

    @property
    def wall_s(self) -> float:
        return self.ended - self.started

    def peak(self, start: float | None = None, end: float | None = None) -> int:
        lo = float("-inf") if start is None else start - self.interval
        hi = float("inf") if end is None else end + self.interval
        return max((rss for t, rss in self.samples if lo <= t <= hi), default=0)


def run_sampled(
    argv: list[str], log_path: Path, env: dict[str, str], cwd: Path | None = None
) -> CommandRun:
    """Run `argv` to completion, output to `log_path`, sampling its process tree's RSS."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        started = time.time()
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd or os.getcwd()
        )
        with RssSampler(process.pid) as sampler:
            returncode = process.wait()
        ended = time.time()
    return CommandRun(argv, returncode, started, ended, log_path, sampler.samples)
