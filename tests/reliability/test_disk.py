"""A data directory that is read-only, or on a full disk: the run fails with a message
that names the path and what to do, never a traceback, and the last published version
stays as it was; once there is room again, the next run completes.

Both use a real size-limited tmpfs mount (root can write through chmod, not through a
read-only or full file system). Where this machine refuses ``mount``, the tests skip and
say so.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from ingestion.settings import Settings
from quality.rules import RULES
from tests.reliability.conftest import FIGURES, copy_data_dir, run_yimei, serving_version
from yimei_cli.failures import hint

pytestmark = pytest.mark.pipeline


def _mount(point: Path, size_mb: int) -> None:
    point.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(point)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")


def _remount(point: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(point)], check=True)


@pytest.fixture
def mount_point(tmp_path):
    point = tmp_path / "mnt"
    yield point
    subprocess.run(["umount", "-l", str(point)], capture_output=True)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _size_mb(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) >> 20


def _check_clear_failure(run, path: Path, words: str) -> None:
    output = run.output()
    assert run.process.returncode not in (0, -9), output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert str(path) in output, f"the message names the path\n{output[-3000:]}"
    assert words in output.lower(), output[-3000:]
    assert "what to do" in output
    FIGURES["faults injected"] += 1


def test_a_read_only_data_directory(mount_point, clean_run):
    _mount(mount_point, _size_mb(clean_run["data_dir"]) + 64)
    data_dir = copy_data_dir(clean_run["data_dir"], mount_point / "data")
    served = _digest(data_dir / "serving.duckdb")
    _remount(mount_point, "ro")
    run = run_yimei(clean_run["landing"], data_dir, "--rebuild")
    _check_clear_failure(run, data_dir, "read-only")
    assert _digest(data_dir / "serving.duckdb") == served


def test_a_full_disk(mount_point, clean_run):
    size = _size_mb(clean_run["data_dir"])
    _mount(mount_point, size + 256)
    data_dir = copy_data_dir(clean_run["data_dir"], mount_point / "data")
    served = _digest(data_dir / "serving.duckdb")
    version = serving_version(data_dir / "serving.duckdb")
    # Leave the run a few hundred kilobytes: it fails wherever it first writes for real.
    free = shutil.disk_usage(mount_point).free
    filler = mount_point / "filler"
    with filler.open("wb") as handle:
        handle.write(b"\0" * max(0, free - (300 << 10)))
    run = run_yimei(clean_run["landing"], data_dir, "--rebuild")
    _check_clear_failure(run, data_dir, "full")
    assert _digest(data_dir / "serving.duckdb") == served, "the last good version is kept"
    # wherever the run first hit the full disk: SQLite (Dagster's run storage) says only
    # "disk I/O error", and that too is explained as a full disk
    settings = Settings.from_env(data_dir=data_dir, landing_dir=str(clean_run["landing"]))
    advice = hint("(sqlite3.OperationalError) disk I/O error", settings)
    assert advice and "is full" in advice and str(data_dir) in advice
    filler.unlink()
    again = run_yimei(clean_run["landing"], data_dir, "--rebuild")
    assert again.process.returncode == 0, again.output()[-3000:]
    counts = serving_version(data_dir / "serving.duckdb")["counts"]
    history = "governance.rule_results"  # every published run's results: one run more
    assert counts.pop(history) == version["counts"].pop(history) + len(RULES)
    assert counts == version["counts"]
