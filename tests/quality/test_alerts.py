"""Alerts through real `yimei run`s to a local HTTP server standing in for a WeCom robot, a
DingTalk robot and a Slack incoming webhook, plus one that answers 500 (conftest.py). A
blocked run's alert is checked with the gate's blocked runs (test_gate.py)."""

from __future__ import annotations

import duckdb
import pytest

from quality.alerts import Webhook, parse_webhooks
from tests.conftest import yimei_run
from tests.quality.conftest import check_formats, posts_by_path, webhooks_env

pytestmark = pytest.mark.pipeline


# Cost: about 70 s (a run, then a rebuild that retries the failed webhook). Needed: the retry
# is a property of the next run.
def test_a_threshold_breach_alerts_every_webhook_and_a_failing_one_is_retried(
    robots, tiny_landing, tmp_path
):
    base, received = robots
    landing, manifest = tiny_landing
    data_dir = tmp_path / "data"
    start = len(received)
    result = yimei_run(landing, data_dir, env=webhooks_env(base))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    posts = posts_by_path(received, start)
    # GOV-01 alerts above 0 new findings: every unverified clinic is news to its owner
    clinics = len(manifest["violations"]["GOV-01"]["entity_ids"])
    # nothing was published before: every listing to suspend (GOV-01, GOV-15) is news, each
    # named with its rules
    suspended = sorted(
        set(manifest["violations"]["GOV-01"]["entity_ids"])
        | set(manifest["violations"]["GOV-15"]["entity_ids"])
    )
    check_formats(
        posts,
        "GOV-01",
        "clinic-onboarding",
        f"{clinics:,} new findings",
        "quality/index.html",
        *(f"suspend_listing 暂停上架 clinic {clinic_id}" for clinic_id in suspended),
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

    # the next run (nothing new delivered: a rebuild) has nothing new to say (its listings to
    # suspend are the published version's), and tries the failed post again
    start = len(received)
    result = yimei_run(landing, data_dir, "--rebuild", env=webhooks_env(base))
    assert result.returncode == 0, result.stdout[-3000:]
    posts = posts_by_path(received, start)
    assert set(posts) == {"/broken"} and len(posts["/broken"]) == 1


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
