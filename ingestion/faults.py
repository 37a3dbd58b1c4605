"""Named fault points, for the fault-injection suite (tests/reliability).

``YIMEI_FAULTS`` names points and what happens there, comma-separated:

- ``ingest:checked=kill``: the process SIGKILLs itself at that point, as a crash or an
  OOM kill would; ``killgroup`` kills its whole process group (a dbt child included), as
  stopping a container or a systemd unit does;
- ``dbt:start=wait:/tmp/x``: the process creates ``/tmp/x.reached`` and waits (up to
  ten minutes) until ``/tmp/x`` exists, so a test can act while the run stands there;
- ``ingest:before_commit=raise``: an ``InjectedFault`` is raised there, as any error in
  the middle of a step would be, for tests that stay in one process;
- ``dbt:output=drop``: ``dropped`` says yes there, and the caller loses what it was about to
  pass on (a dbt event lost on its way to Dagster, so the steps after it are skipped).

Unset (always, outside the tests), a point costs one dictionary look-up.
"""

from __future__ import annotations

import functools
import os
import signal
import time
from pathlib import Path

WAIT_LIMIT_S = 600


class InjectedFault(RuntimeError):
    """Raised at a fault point whose action is ``raise``."""


@functools.cache
def _plan(spec: str) -> dict[str, str]:
    plan = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, action = item.partition("=")
        plan[name] = action
    return plan


def dropped(name: str) -> bool:
    """Whether the point ``name`` is to lose what passes it (action ``drop``)."""
    return _plan(os.environ.get("YIMEI_FAULTS", "")).get(name) == "drop"


def point(name: str) -> None:
    action = _plan(os.environ.get("YIMEI_FAULTS", "")).get(name)
    if action is None or action == "drop":
        return
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "killgroup":
        os.killpg(os.getpgid(0), signal.SIGKILL)
    elif action == "raise":
        raise InjectedFault(f"fault injected at {name}")
    elif action.startswith("wait:"):
        release = Path(action[len("wait:") :])
        release.with_name(release.name + ".reached").write_text(str(os.getpid()))
        deadline = time.monotonic() + WAIT_LIMIT_S
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    else:
        raise ValueError(f"YIMEI_FAULTS: unknown action {action!r} at {name}")
