"""Runs that died: a SIGKILL, an OOM kill or a power cut leaves a Dagster run STARTED for
ever, since nothing is left to report its end. Every run tags itself with its process
(``yimei/pid``: pid and start time) when it takes the data directory's lock; the next
run to take the lock reports every other STARTED run whose process is gone as failed,
so the UI and ``yimei run``'s bookkeeping tell the truth."""

from __future__ import annotations

import os

import dagster as dg
import psutil

PID_TAG = "yimei/pid"
_LIVE = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.CANCELING]


def _process_stamp(pid: int) -> str | None:
    try:
        return f"{pid}:{psutil.Process(pid).create_time():.3f}"
    except psutil.Error:
        return None


def claim(instance: dg.DagsterInstance, run_id: str) -> None:
    """Tag the run with the process executing it."""
    instance.add_run_tags(run_id, {PID_TAG: _process_stamp(os.getpid()) or str(os.getpid())})


def fail_dead_runs(instance: dg.DagsterInstance, current_run_id: str | None = None) -> list[str]:
    """Report the runs whose process is gone as failed; returns their ids."""
    failed = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=_LIVE)):
        stamp = run.tags.get(PID_TAG)
        if run.run_id == current_run_id or stamp is None:
            continue  # not yet claimed: still starting, or not a yimei run
        pid = int(stamp.split(":")[0])
        if _process_stamp(pid) == stamp:
            continue  # alive
        instance.report_run_failed(
            run,
            message=f"the process running it (pid {pid}) died without finishing it "
            "(killed?); marked failed by the next run",
        )
        failed.append(run.run_id)
    return failed
