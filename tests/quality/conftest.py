"""A local HTTP server standing in for a WeCom robot, a DingTalk robot and a Slack incoming
webhook, plus one that answers 500: the alerts of real `yimei run`s are posted to it
(test_alerts.py, and the blocked runs of test_gate.py)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from quality.alerts import WEBHOOKS_ENV


class Robots(BaseHTTPRequestHandler):
    """Answers as each kind does: the robots 200 with an errcode, Slack 'ok'."""

    received: list[tuple[str, dict]] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, json.loads(body.decode("utf-8"))))
        if self.path == "/broken":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"internal error")
            return
        answer = b"ok" if self.path == "/slack" else b'{"errcode": 0, "errmsg": "ok"}'
        self.send_response(200)
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def robots():
    """The server's base URL and the list of (path, body) it received."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Robots)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    yield base, Robots.received
    server.shutdown()


def webhooks_env(base: str) -> dict[str, str]:
    """YIMEI_ALERT_WEBHOOKS naming one webhook of each kind on the server, and the broken one."""
    hooks = ",".join(
        f"{kind}:{base}/{path}"
        for kind, path in (
            ("wecom", "wecom"),
            ("dingtalk", "dingtalk"),
            ("slack", "slack"),
            ("slack", "broken"),
        )
    )
    return {WEBHOOKS_ENV: hooks}


def posts_by_path(received, start: int) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for path, body in received[start:]:
        out.setdefault(path, []).append(body)
    return out


def check_formats(posts: dict[str, list[dict]], *expected: str) -> None:
    """One post to each kind, in its own format, each naming every expected word."""
    (wecom,) = posts["/wecom"]
    assert wecom["msgtype"] == "markdown"
    (dingtalk,) = posts["/dingtalk"]
    assert dingtalk["msgtype"] == "markdown" and dingtalk["markdown"]["title"]
    (slack,) = posts["/slack"]
    for text in (wecom["markdown"]["content"], dingtalk["markdown"]["text"], slack["text"]):
        for word in expected:
            assert word in text, (word, text)
