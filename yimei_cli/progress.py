"""What `yimei run` shows while it works: one line per stage (ingest, plan, dbt, governance,
publish), a progress bar while a stage runs on a terminal, warnings as sentences. The full
dbt and Dagster logs go to a file under the data directory instead (with --verbose they
stream to the terminal too).

Three sources feed it: the Dagster events of the runs (a logger of their own, `run_logger`),
dbt's log lines, which dagster-dbt writes to ``sys.stdout`` (``RunStream``), and warnings.
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import dagster as dg

from quality.rules import RULES

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# dbt's line for a node that finished: "12 of 193 OK created sql table model ...", "3 of 193
# FAIL 2 not_null_...", "40 of 193 SKIP relation ..."; its hooks count apart ("1 of 2 OK hook:")
DBT_NODE_DONE = re.compile(r"^(\d+) of (\d+) (OK|PASS|WARN|ERROR|FAIL|SKIP|NO-OP)\b(?! hook:)")
DBT_DONE = re.compile(r"^Done\. PASS=(\d+) WARN=(\d+) ERROR=(\d+) SKIP=(\d+)")
# the packages whose log records are yimei's to say: a library's go to the run log only
OWN_LOGGERS = ("ingestion", "quality", "serving", "orchestration", "report", "spark_engine")
STAGE_WIDTH = 11
RUN_LOGS_KEPT = 30
BLOCKING_RULES = frozenset(r.rule_id for r in RULES if r.blocking)
BAR_WIDTH = 24


def plain(text: str) -> str:
    """``text`` without terminal colour codes (dbt colours its log whatever the stream)."""
    return ANSI.sub("", text)


class Console:
    """The terminal (or pipe) a run talks to. Lines are whole sentences; on a terminal a status
    line with a progress bar is redrawn in place (carriage return), elsewhere it is never
    drawn, so CI logs and pipes get plain lines without control characters."""

    def __init__(self, stream: TextIO, tty: bool, status: bool = True):
        self.stream = stream
        self.tty = tty
        self.draws_status = tty and status
        self._status_shown = False
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        with self._lock:
            self._clear_status()
            self.stream.write((text if self.tty else plain(text)) + "\n")
            self.stream.flush()

    def warning(self, sentence: str) -> None:
        self.line(f"warning: {sentence}")

    def status(self, text: str) -> None:
        if not self.draws_status:
            return
        width = shutil.get_terminal_size((100, 24)).columns
        with self._lock:
            self.stream.write("\r" + text[: width - 1] + "\x1b[K")
            self.stream.flush()
            self._status_shown = True

    def raw(self, text: str) -> None:
        """A log line streamed with --verbose, as dbt or Dagster wrote it."""
        with self._lock:
            self._clear_status()
            self.stream.write(text if self.tty else plain(text))
            self.stream.flush()

    def _clear_status(self) -> None:
        if self._status_shown:
            self.stream.write("\r\x1b[K")
            self._status_shown = False


def stage_line(stage: str, text: str, seconds: float | None = None) -> str:
    took = f" ({seconds:.0f} s)" if seconds is not None else ""
    return f"{stage:<{STAGE_WIDTH}} {text}{took}"


def bar(done: int, total: int) -> str:
    filled = BAR_WIDTH * done // total if total else 0
    return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total}"


@dataclass
class DbtProgress:
    """dbt's nodes done, read from its log lines."""

    total: int = 0
    done: set[int] = field(default_factory=set)
    statuses: dict[str, int] = field(default_factory=dict)
    summary: tuple[int, int, int, int] | None = None  # PASS, WARN, ERROR, SKIP

    def read(self, line: str) -> bool:
        """Take one log line; True when it moved the count."""
        line = plain(line).strip()
        if node := DBT_NODE_DONE.match(line):
            index, self.total, status = int(node[1]), int(node[2]), node[3]
            if index not in self.done:
                self.done.add(index)
                self.statuses[status] = self.statuses.get(status, 0) + 1
            return True
        if done := DBT_DONE.match(line):
            self.summary = tuple(int(n) for n in done.groups())
        return False

    def outcome(self) -> str:
        passed, warned, errors, skipped = self.summary or (
            self.statuses.get("OK", 0) + self.statuses.get("PASS", 0),
            self.statuses.get("WARN", 0),
            self.statuses.get("ERROR", 0) + self.statuses.get("FAIL", 0),
            self.statuses.get("SKIP", 0),
        )
        others = ((warned, "warned"), (errors, "failed"), (skipped, "skipped"))
        parts = [f"{passed:,} passed"] + [f"{n:,} {word}" for n, word in others if n]
        done = f"{len(self.done):,} of {self.total:,}"
        return f"{done} models, seeds and tests done: {', '.join(parts)}"


@dataclass
class Stage:
    name: str
    started: float = field(default_factory=time.monotonic)
    failed_step: str | None = None
    tables: set[str] = field(default_factory=set)  # ingest: the raw tables loaded so far
    rows: int = 0
    rule_failures: dict[str, int] = field(default_factory=dict)  # governance
    published: dict[str, str] = field(default_factory=dict)  # publish: serving metadata
    endpoint: dict[str, str] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started


class RunProgress:
    """The stages of `yimei run` as its Dagster steps start and finish. ``stage_of_step``
    maps a step (an op's name) to its stage; a step of a later stage closes the stage
    before it, with its line; `close` closes the last."""

    def __init__(self, stage_of_step: Mapping[str, str], stages: tuple[str, ...]):
        self.console = Console(sys.stdout, tty=False)  # run_output gives it the terminal
        self.stage_of_step = stage_of_step
        self.order = {name: i for i, name in enumerate(stages)}
        self.stage: Stage | None = None
        self.dbt = DbtProgress()
        self.ingest_tables = 0  # raw tables an ingest run may load, for its bar
        self._lock = threading.Lock()

    # -- the stages ------------------------------------------------------------------------
    def open(self, name: str) -> Stage:
        if self.stage is None or self.stage.name != name:
            self.close()
            self.stage = Stage(name)
            self.console.status(stage_line(name, "…"))
        return self.stage

    def close(self, text: str | None = None) -> None:
        stage, self.stage = self.stage, None
        if stage is not None:
            self.console.line(stage_line(stage.name, text or self._outcome(stage), stage.seconds))

    def _outcome(self, stage: Stage) -> str:
        if stage.name == "dbt":
            text = self.dbt.outcome()
        elif stage.name == "governance":
            text = governance_outcome(stage.rule_failures)
        elif stage.name == "publish":
            text = publish_outcome(stage.published, stage.endpoint)
        else:
            text = "done"
        if stage.failed_step and not (
            stage.name == "governance" and blocked_by(stage.rule_failures)
        ):
            text += f"; FAILED at step {stage.failed_step}"
        return text

    # -- Dagster's events ------------------------------------------------------------------
    def on_event(self, event: dg.DagsterEvent) -> None:
        with self._lock:
            self._on_event(event)

    def _on_event(self, event: dg.DagsterEvent) -> None:
        stage_name = self.stage_of_step.get(event.step_key or "")
        if event.event_type_value == "STEP_START" and stage_name:
            current = self.stage.name if self.stage else None
            if current is None or self.order[stage_name] > self.order.get(current, -1):
                self.open(stage_name)
        stage = self.stage
        if stage is None:
            return
        if event.event_type_value == "STEP_FAILURE":
            stage.failed_step = event.step_key
        elif event.event_type_value == "ASSET_MATERIALIZATION":
            materialization = event.event_specific_data.materialization
            key = materialization.asset_key.path
            meta = {k: v.value for k, v in materialization.metadata.items()}
            if stage.name == "ingest":
                stage.tables.add(key[-1])
                stage.rows += int(meta.get("rows_loaded", 0))
                self.console.status(
                    stage_line(
                        "ingest",
                        f"{bar(len(stage.tables), self.ingest_tables)} tables, "
                        f"{stage.rows:,} rows loaded",
                    )  # fmt: skip
                )
            elif key == ["governance", "rule_results"]:
                stage.rule_failures = {rule: int(n) for rule, n in meta.items()}
            elif key[0] == "serving" and key[-1] == "database":
                stage.published = {k: str(v) for k, v in meta.items()}
            elif key[0] == "serving":
                stage.endpoint = {k: str(v) for k, v in meta.items()}

    def on_dbt_line(self, line: str) -> None:
        if self.dbt.read(line) and self.stage is not None and self.stage.name == "dbt":
            self.console.status(stage_line("dbt", bar(len(self.dbt.done), self.dbt.total)))


def blocked_by(rule_failures: Mapping[str, int]) -> list[str]:
    return sorted(r for r, failing in rule_failures.items() if r in BLOCKING_RULES and failing)


def governance_outcome(rule_failures: Mapping[str, int]) -> str:
    if not rule_failures:
        return "no rule judged"
    if blocked := blocked_by(rule_failures):
        return f"{len(rule_failures)} rules judged: publication BLOCKED by {', '.join(blocked)}"
    with_findings = {r: n for r, n in rule_failures.items() if r not in BLOCKING_RULES and n}
    judged_blocking = len(BLOCKING_RULES & set(rule_failures))
    return (
        f"{len(rule_failures)} rules judged: {sum(with_findings.values()):,} findings from "
        f"{_count(len(with_findings), 'rule')}; the {_count(judged_blocking, 'blocking rule')} "
        "passed"
    )


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def publish_outcome(published: Mapping[str, str], endpoint: Mapping[str, str]) -> str:
    if not published:
        return "nothing published"
    tables = [t for t in published.get("tables", "").split(", ") if t]
    text = f"{_count(len(tables), 'table')} in {published.get('path')}"
    state = endpoint.get("state")
    if state and state != "not configured":
        text += f"; PostgreSQL endpoint {state}"
    return text


def run_logger(progress: RunProgress) -> dg.LoggerDefinition:
    """A Dagster logger that hands each event of the run to ``progress`` and says the
    warnings our steps log (``context.log.warning``) on the console, as sentences."""

    class ProgressHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            event = getattr(record, "dagster_event", None)
            if event is not None:
                progress.on_event(event)
            elif record.levelno >= logging.WARNING and _logged_by_our_step():
                meta = getattr(record, "dagster_meta", None) or {}
                progress.console.warning(str(meta.get("orig_message") or record.getMessage()))

    @dg.logger(description="yimei run's stage lines and warnings")
    def yimei_progress(_init_context) -> logging.Logger:
        logger = logging.Logger("yimei.progress", level=logging.DEBUG)
        logger.addHandler(ProgressHandler())
        return logger

    return yimei_progress


def _logged_by_our_step() -> bool:
    """Whether the record being handled was logged by one of yimei's steps (a waiver
    ignored, an endpoint behind), not by Dagster about its steps ("Dependencies for step
    ... failed. Not executing.", which the run's failure tells better)."""
    frame = sys._getframe(1)
    while frame is not None:
        parts = Path(frame.f_code.co_filename).parts
        if "site-packages" not in parts and any(p in OWN_LOGGERS for p in parts[-3:-1]):
            return True
        frame = frame.f_back
    return False


class RunStream(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` during a run: every write goes to the run log, whole
    lines go to ``on_line`` (dbt's progress), and with --verbose to the console too. It has
    no file descriptor: Dagster's capture of an in-process run's output (a `tail -F`
    process per stream) is skipped, as the run log holds it all."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, log: TextIO, echo: Console | None, on_line: Callable[[str], None] | None):
        super().__init__()
        self.log = log
        self.echo = echo
        self.on_line = on_line
        self._partial = ""

    def write(self, text: str) -> int:
        self.log.write(plain(text))
        if self.echo is not None:
            self.echo.raw(text)
        if self.on_line is not None:
            *lines, self._partial = (self._partial + text).split("\n")
            for line in lines:
                self.on_line(line)
        return len(text)

    def flush(self) -> None:
        self.log.flush()

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True


class _OwnWarnings(logging.Handler):
    """Warnings that yimei's own modules log, said on the console during a run."""

    def __init__(self, console: Console):
        super().__init__(logging.WARNING)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in OWN_LOGGERS:
            self.console.warning(record.getMessage())


@contextmanager
def run_output(log_path: Path, verbose: bool, progress: RunProgress) -> Iterator[Console]:
    """While the runs execute, everything written to stdout and stderr (Python's, Dagster's
    console logger, log records, subprocesses such as dbt's or a JVM's) goes to ``log_path``;
    the ``Console`` yielded (``progress``'s) writes to the terminal, and ``progress`` reads
    each line written to ``sys.stdout`` (dbt's log)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    terminal_fd = os.dup(sys.__stdout__.fileno())
    terminal = open(terminal_fd, "w", encoding="utf-8", buffering=1)  # noqa: SIM115
    console = progress.console = Console(terminal, tty=os.isatty(terminal_fd), status=not verbose)
    log = open(log_path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
    saved = (os.dup(1), os.dup(2))
    streams = (sys.stdout, sys.stderr)
    own_warnings = _OwnWarnings(console)
    try:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        echo = console if verbose else None
        sys.stdout = RunStream(log, echo, progress.on_dbt_line)
        sys.stderr = RunStream(log, echo, None)
        logging.root.addHandler(own_warnings)
        yield console
    finally:
        logging.root.removeHandler(own_warnings)
        sys.stdout, sys.stderr = streams
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)
        log.close()
        terminal.close()


def log_path_for(data_dir: Path, keep: int = RUN_LOGS_KEPT) -> Path:
    """The run's log file, one per `yimei run` named by its start (UTC); the oldest beyond
    the ``keep`` latest are removed (a log of the sample's first run is about 0.5 MB)."""
    logs = data_dir / "logs"
    earlier = sorted(logs.glob("run-*.log")) if logs.is_dir() else []
    for old in earlier[: max(0, len(earlier) - (keep - 1))]:
        old.unlink(missing_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return logs / f"run-{stamp}.log"
