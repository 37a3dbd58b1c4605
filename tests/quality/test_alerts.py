"""Alerts through real `yimei run`s to a local HTTP server standing in for a WeCom robot, a
DingTalk robot and a Slack incoming webhook, plus one that answers 500."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest

from quality.alerts import WEBHOOKS_ENV, Webhook, parse_webhooks
from tests.conftest import AS_OF, SMALL, make_landing, run_yimei

pytestmark = pytest.mark.pipeline

TINY = replace(
    SMALL, seed=3, cities=4, clinics=20, doctors_per_clinic=3, days=60, orders=1000, reviews=200
)


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
    server = ThreadingHTTPServer(("127.0.0.1", 0), Robots)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    yield base, Robots.received
    server.shutdown()


def _webhooks(base: str) -> str:
    return ",".join(
        f"{kind}:{base}/{path}"
        for kind, path in (
            ("wecom", "wecom"),
            ("dingtalk", "dingtalk"),
            ("slack", "slack"),
            ("slack", "broken"),
        )
    )


def _run(landing, data_dir, base, *flags):
    return run_yimei(
        "run", "--landing", str(landing), "--data-dir", str(data_dir),
        "--as-of", AS_OF.isoformat(), *flags, env={WEBHOOKS_ENV: _webhooks(base)},
    )  # fmt: skip


def _by_path(received, start: int) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for path, body in received[start:]:
        out.setdefault(path, []).append(body)
    return out


def _check_formats(posts: dict[str, list[dict]], *expected: str) -> None:
    (wecom,) = posts["/wecom"]
    assert wecom["msgtype"] == "markdown"
    (dingtalk,) = posts["/dingtalk"]
    assert dingtalk["msgtype"] == "markdown" and dingtalk["markdown"]["title"]
    (slack,) = posts["/slack"]
    for text in (wecom["markdown"]["content"], dingtalk["markdown"]["text"], slack["text"]):
        for word in expected:
            assert word in text, (word, text)


# Cost: about 70 s (a run, then a rebuild that retries the failed webhook). Needed: the retry
# is a property of the next run.
def test_a_threshold_breach_alerts_every_webhook_and_a_failing_one_is_retried(robots, tmp_path):
    base, received = robots
    landing, manifest = make_landing(tmp_path, TINY)
    data_dir = tmp_path / "data"
    start = len(received)
    result = _run(landing, data_dir, base)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    posts = _by_path(received, start)
    # GOV-01 alerts above 0 new findings: every unverified clinic is news to its owner
    clinics = len(manifest["violations"]["GOV-01"]["entity_ids"])
    _check_formats(
        posts, "GOV-01", "clinic-onboarding", f"{clinics:,} new findings", "quality/index.html"
    )
    assert len(posts["/broken"]) == 1
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        pending = con.execute(
            "select webhook, attempts, last_error from governance.alert_outbox "
            "where sent_at is null"
        ).fetchall()
    finally:
        con.close()
    assert [(w.rsplit("/", 1)[-1], n) for w, n, _ in pending] == [("broken", 1)]
    assert pending[0][2].startswith("HTTP 500")

    # the next run (nothing new delivered: a rebuild) has nothing new to say, and tries the
    # failed post again
    start = len(received)
    result = _run(landing, data_dir, base, "--rebuild")
    assert result.returncode == 0, result.stdout[-3000:]
    posts = _by_path(received, start)
    assert set(posts) == {"/broken"} and len(posts["/broken"]) == 1


def test_a_blocked_run_alerts_with_the_blocking_rule(robots, tmp_path):
    base, received = robots
    landing, manifest = make_landing(tmp_path, replace(TINY, inject_stale_feed=True))
    assert manifest["blocking"] == ["GOV-12"]
    start = len(received)
    result = _run(landing, tmp_path / "data", base)
    assert result.returncode != 0 and "PUBLICATION BLOCKED" in result.stdout
    posts = _by_path(received, start)
    _check_formats(posts, "GOV-12", "blocking", "data-platform", "publication blocked")


def test_webhook_kinds_come_from_the_host_or_a_prefix():
    assert parse_webhooks(
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k, "
        "https://oapi.dingtalk.com/robot/send?access_token=t,"
        "https://hooks.slack.com/services/T/B/X,slack:http://127.0.0.1:9/relay"
    ) == [
        Webhook("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"),
        Webhook("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=t"),
        Webhook("slack", "https://hooks.slack.com/services/T/B/X"),
        Webhook("slack", "http://127.0.0.1:9/relay"),
    ]
    with pytest.raises(ValueError, match="cannot tell the kind"):
        parse_webhooks("https://example.com/hook")
