"""Great Expectations imported while dbt builds, so the governance step does not wait for it.

Importing GX (with the validator and the Data Docs it brings) costs about 2 s of one core
(py-spy on an S day: 1.9 s of the 6.1 s governance step). The dbt step mostly waits for the
output of dbt, which builds in its own process; it starts this import then, on a background
thread. The governance step's own imports find the modules loaded, or wait for the thread to
finish loading them (the import system's module locks); an import that fails here fails again,
with its error, where the step imports it.

Started before dbt's process runs (when `yimei run` launched the build), the import held the
GIL while Dagster set the run up and the S day gained nothing (27.9-29.0 s); started once dbt
runs, the day took 25.1-25.8 s instead of 27.9-28.6 s (three runs each, stop 33).
"""

from __future__ import annotations

import importlib
import logging
import threading

LOG = logging.getLogger(__name__)
MODULES = ("quality.runner",)  # GX, its validator and quality.docs come with it


def _load() -> None:
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - reported by the step that needs the module
            LOG.debug("preloading %s failed", name, exc_info=True)


def start() -> threading.Thread:
    thread = threading.Thread(target=_load, name="preload-quality", daemon=True)
    thread.start()
    return thread
