"""quality/preload.py: Great Expectations loaded on a background thread, failures left to the
step that imports the module."""

from __future__ import annotations

import subprocess
import sys

from quality import preload

LOADED = """
import sys
from quality import preload
assert "great_expectations" not in sys.modules
preload.start().join(timeout=120)
assert {"great_expectations", "quality.runner", "quality.docs"} <= set(sys.modules)
print("loaded")
"""


def test_the_preload_loads_great_expectations_in_a_fresh_process():
    result = subprocess.run([sys.executable, "-c", LOADED], capture_output=True, text=True)
    assert result.returncode == 0 and "loaded" in result.stdout, result.stderr[-2000:]


def test_a_module_that_fails_to_import_does_not_fail_the_preload(monkeypatch):
    monkeypatch.setattr(preload, "MODULES", ("quality.no_such_module",))
    thread = preload.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert "quality.no_such_module" not in sys.modules
