"""`yimei verify-server` as the tests start it: the pages' tests and the readers test's
consumers (tests/reliability/test_concurrent_readers.py) share it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.conftest import TEST_PII_KEY, free_port


@contextmanager
def verify_server(data_dir: Path) -> Iterator[dict]:
    """The server over ``data_dir``'s serving.duckdb on a free port, until the block ends:
    its ``base`` URL and ``process``. Fails with the server's output if it does not start."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("YIMEI_")}
    env.update(YIMEI_DATA_DIR=str(data_dir), YIMEI_PII_KEY=TEST_PII_KEY)
    log = data_dir.parent / "verify-server.log"  # beside the data directory, not in it
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("yimei")), "verify-server", "--port", str(port)],
            env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while not _answers(f"{base}/docs"):
                if process.poll() is not None:
                    pytest.fail(f"the verification server exited: {log.read_text()[-3000:]}")
                if time.monotonic() > deadline:
                    pytest.fail("the verification server did not start within 60 s")
                time.sleep(0.2)
            yield {"base": base, "process": process}
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.ConnectionError:
        return False
