"""What went wrong, in words a user can act on: never a bare traceback.

A failed step is reported with its error's first lines and, where the cause is known
(a full disk, a read-only directory, a database held by another process, a dbt test),
what to do next. Errors outside any step (the Dagster instance, the warehouse lock) get
the same treatment in ``yimei_cli.main``.
"""

from __future__ import annotations

import json
import re
import shutil

from ingestion.settings import Settings

_PATH = re.compile(r"""["'](/[^"'\n]+)["']""")

# (pattern in the error text, what to do); the first that matches is said.
HINTS: tuple[tuple[re.Pattern, str], ...] = (
    (
        re.compile(r"No space left|Errno 28|disk is full|ENOSPC|database or disk is full", re.I),
        "the disk holding {data_dir} is full: free some space (or point YIMEI_DATA_DIR at a "
        "larger disk) and run again",
    ),
    (
        re.compile(r"Read-only file system|Errno 30|readonly database|read-only", re.I),
        "{path} cannot be written (read-only file system): make the data directory writable, "
        "or point YIMEI_DATA_DIR elsewhere, and run again",
    ),
    (
        re.compile(r"Permission denied|Errno 13", re.I),
        "{path} cannot be written (permission denied): give this user write access to the "
        "data directory and run again",
    ),
    (
        re.compile(r"Could not set lock on file|Conflicting lock", re.I),
        "another process has {warehouse} open (a duckdb shell, a notebook, a BI tool on the "
        "warehouse instead of serving.duckdb?): close it and run again",
    ),
)
NOTHING_PUBLISHED = "{serving} still holds the last published version"
_DISK_IO = re.compile(r"disk I/O error", re.I)
NEARLY_FULL_BYTES = 16 << 20


def _nearly_full(path) -> bool:
    try:
        return shutil.disk_usage(path).free < NEARLY_FULL_BYTES
    except OSError:
        return False


DBT_ADVICE = (
    "the dbt nodes above failed on the loaded data: see what ingestion rejected (the files "
    "rejected above, audit.quarantine in the warehouse) and fix or re-send those deliveries"
)


def first_lines(text: str, count: int = 3) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    # a Python traceback's last line is the error itself
    if lines and lines[0].startswith("Traceback"):
        lines = lines[-1:]
    return " / ".join(lines[:count])[:600]


def hint(text: str, settings: Settings) -> str | None:
    if _DISK_IO.search(text) and _nearly_full(settings.data_dir):
        # SQLite (Dagster's run storage) reports a full disk as a plain I/O error
        text += "\nNo space left on device"
    found = _PATH.search(text)
    values = {
        "data_dir": settings.data_dir,
        "warehouse": settings.warehouse_path,
        "serving": settings.serving_path,
        "path": found.group(1) if found else settings.data_dir,
    }
    for pattern, advice in HINTS:
        if pattern.search(text):
            return advice.format(**values) + "; " + NOTHING_PUBLISHED.format(**values)
    return None


def dbt_failures(settings: Settings) -> list[str]:
    """The dbt nodes that failed in the last dbt invocation, from its run_results.json."""
    path = settings.dbt_target_dir / "run_results.json"
    try:
        results = json.loads(path.read_text(encoding="utf-8"))["results"]
    except (OSError, ValueError, KeyError):
        return []
    return [
        f"{r['unique_id']}: {first_lines(r.get('message') or r['status'], 2)}"
        for r in results
        if r.get("status") in ("error", "fail")
    ]


SKIPPED = (
    "step {step} was skipped: an asset it needs was not materialized by the steps before it "
    "(a lost event?), so nothing after it ran"
)


def describe_step_failures(settings: Settings, result) -> list[str]:
    """One line per failed or skipped step of a Dagster run result, with a hint where one
    is known."""
    lines = []
    for event in result.all_events:
        if event.event_type_value == "STEP_SKIPPED":
            lines.append(SKIPPED.format(step=event.step_key))
        if event.event_type_value != "STEP_FAILURE":
            continue
        error = getattr(event.event_specific_data, "error", None)
        text = _error_text(error)
        lines.append(f"step {event.step_key} failed: {first_lines(text)}")
        dbt = dbt_failures(settings) if "dbt" in event.step_key or "dbt" in text else []
        lines += [f"  dbt: {failure}" for failure in dbt[:10]]
        advice = hint(text, settings) or (DBT_ADVICE if dbt else None)
        if advice:
            lines.append(f"  what to do: {advice}")
    return lines


def _error_text(error) -> str:
    """An error and its causes, as text (Dagster wraps the user's error)."""
    parts = []
    while error is not None:
        parts.append(error.message)
        error = error.cause
    return "\n".join(parts) or "unknown error"


def describe_exception(error: BaseException, settings: Settings | None) -> str:
    text = f"{type(error).__name__}: {error}"
    cause = error.__cause__ or error.__context__
    while cause is not None:
        text += f"\n{type(cause).__name__}: {cause}"
        cause = cause.__cause__ or cause.__context__
    message = first_lines(str(error) or text)
    advice = hint(text, settings) if settings else None
    if isinstance(error, OSError) and error.filename:
        message = f"{error.strerror}: {error.filename}"
    return message + (f"\n  what to do: {advice}" if advice else "")
