"""What a new user sees: `yimei run` on the default sample in a terminal (a pseudo-terminal),
then with --verbose, then `yimei report`; and the plain output of a run without one."""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.conftest import AS_OF, run_log
from yimei_cli.progress import plain

pytestmark = pytest.mark.pipeline

YIMEI = Path(sys.executable).with_name("yimei")
STAGES = ("ingest", "plan", "dbt", "governance", "publish")
DBT_LOG_LINE = re.compile(r"^\d+ of \d+ (START|OK created|PASS) ", re.MULTILINE)


def in_terminal(*args: str, env: dict, columns: int = 100, timeout: float = 900) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as its stdin, stdout and stderr, as in a user's
    terminal window ``columns`` wide; everything it wrote, control characters included."""
    controller, terminal = os.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    process = subprocess.Popen(
        [str(YIMEI), *args], stdin=terminal, stdout=terminal, stderr=terminal, env=env
    )
    os.close(terminal)
    written = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 1)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            written += chunk
        else:
            process.kill()
            pytest.fail(f"yimei {' '.join(args)} ran past {timeout} s")
        return process.wait(timeout=60), written.decode("utf-8")
    finally:
        os.close(controller)


def screen(written: str) -> list[str]:
    """The lines left on the screen: a status line redrawn after a carriage return counts as
    what was drawn last on its line."""
    lines = []
    for line in written.replace("\r\n", "\n").split("\n"):
        lines.append(plain(line.split("\r")[-1]).rstrip())
    while lines and not lines[-1]:
        lines.pop()
    return lines


def stage_lines(lines: list[str]) -> dict[str, str]:
    return {line.split()[0]: line for line in lines if line.split() and line.split()[0] in STAGES}


@pytest.fixture(scope="module")
def default_sample(tmp_path_factory) -> dict:
    """The default sample (no size options), run as a new user runs it: no YIMEI_PII_KEY."""
    root = tmp_path_factory.mktemp("first_hour")
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "YIMEI_PII_KEY")}
    env.update(TERM="xterm-256color", COLUMNS="100")
    where = ["--landing", str(root / "landing"), "--data-dir", str(root / "data")]
    generated = subprocess.run(
        [str(YIMEI), "generate", *where, "--as-of", AS_OF.isoformat()],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout[-2000:] + generated.stderr[-2000:]
    code, written = in_terminal("run", *where, "--as-of", AS_OF.isoformat(), env=env)
    return {"root": root, "where": where, "env": env, "code": code, "written": written}


def test_a_run_in_a_terminal_shows_its_stages_in_one_screen(default_sample):
    written = default_sample["written"]
    assert default_sample["code"] == 0, written[-4000:]
    lines = screen(written)
    assert len(lines) <= 40, "\n".join(lines)
    stages = stage_lines(lines)
    assert list(stages) == list(STAGES), "\n".join(lines)
    assert re.search(r"[\d,]+ files of 4 feeds: [\d,]+ rows loaded", stages["ingest"])
    assert re.search(r"(\d+) of \1 models, seeds and tests done: [\d,]+ passed", stages["dbt"])
    assert "18 rules judged" in stages["governance"] and "blocking rules passed" in stages[
        "governance"
    ]
    assert "14 tables in" in stages["publish"]
    # while dbt ran, a progress bar was drawn and redrawn in place on the terminal
    bars = re.findall(r"\rdbt +\[[#.]+\] (\d+)/(\d+)", written)
    assert len(bars) > 10 and bars[-1][0] == bars[-1][1], bars[-3:]
    # dbt's and Dagster's logs are in the run log, not on the screen
    assert not DBT_LOG_LINE.search("\n".join(lines))
    log = run_log(written).read_text(encoding="utf-8")
    assert DBT_LOG_LINE.search(log) and " - STEP_SUCCESS - " in log
    assert "\x1b" not in log, "the log file is plain text"
    # warnings are sentences, not Python's warning records
    assert "warning: YIMEI_PII_KEY is not set" in written
    assert "UserWarning" not in written and "Traceback" not in written
    assert all(not line.startswith("WARNING") for line in lines)


def test_verbose_streams_dbt_and_dagster_logs(default_sample):
    code, written = in_terminal(
        "run", *default_sample["where"], "--as-of", AS_OF.isoformat(), "--rebuild", "--verbose",
        env=default_sample["env"],
    )  # fmt: skip
    assert code == 0, written[-4000:]
    lines = screen(written)
    assert len(DBT_LOG_LINE.findall("\n".join(lines))) > 100, "\n".join(lines[:60])
    assert " - STEP_START - " in written
    assert list(stage_lines(lines)) == list(STAGES)


def test_the_default_sample_makes_a_twelve_month_blue_book(default_sample):
    """The default sample covers the last full calendar year: its blue-book has twelve
    months of data (issue 36)."""
    env = default_sample["env"]
    result = subprocess.run(
        [str(YIMEI), "report", "--data-dir", str(default_sample["root"] / "data")],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    facts = sorted((default_sample["root"] / "data" / "reports").glob("*.facts.json"))
    assert facts, result.stdout
    for path in facts:
        facts = json.loads(path.read_text(encoding="utf-8"))["facts"]
        months = next(f["value"] for f in facts if f["key"] == "market.months")
        assert months == 12, (path.name, months)


def test_a_run_without_a_terminal_writes_plain_lines(published):
    """CI and pipes: the stage lines, no carriage returns or colour codes."""
    result = published["result"]
    assert result.returncode == 0, result.stdout[-3000:]
    output = result.stdout + result.stderr
    assert "\r" not in output and "\x1b" not in output
    lines = output.splitlines()
    assert list(stage_lines(lines)) == list(STAGES)
    assert DBT_LOG_LINE.search(run_log(output).read_text(encoding="utf-8"))
