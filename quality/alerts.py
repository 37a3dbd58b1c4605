"""Alerts to the rules' owners: one message per run, to every webhook configured.

A run alerts when publication was blocked, when a finding rule's newly opened findings
exceed its ``alert_new_findings_above`` parameter (quality/rules.py), or when the owners' work
queue asks to suspend a listing that the published version did not show
(quality/listing_actions.py). The message names the rules, their counts and owners and the
quality site's path, in the format of the webhook's
kind: WeCom (企业微信) group robots and DingTalk (钉钉) robots take markdown messages, Slack
incoming webhooks a text. The kind comes from the URL's host, or from a prefix
(``wecom:``, ``dingtalk:``, ``slack:``) for a relay or a test server.

``YIMEI_ALERT_WEBHOOKS`` lists the webhooks, comma-separated. Every message is queued in
``governance.alert_outbox`` before it is posted; a webhook that fails (refused, an HTTP
error, an error code in the robot's JSON answer) is logged and tried again by the next run,
and never fails the run or the publish.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlparse

import duckdb
import requests

from ingestion.duck import has_table
from quality.rules import RULE_BY_ID, parameter

log = logging.getLogger(__name__)

WEBHOOKS_ENV = "YIMEI_ALERT_WEBHOOKS"
KINDS = ("wecom", "dingtalk", "slack")
HOSTS = {
    "qyapi.weixin.qq.com": "wecom",
    "oapi.dingtalk.com": "dingtalk",
    "hooks.slack.com": "slack",
}
TIMEOUT_S = 10
MAX_SUSPENSION_LINES = 20  # a message names at most this many; the rest are in the table
MAX_ATTEMPTS = 20  # about three weeks of daily runs: then it is dropped, with an error logged

OUTBOX_DDL = """
create schema if not exists governance;
create table if not exists governance.alert_outbox (
    run_id varchar, webhook varchar, kind varchar, payload varchar, queued_at timestamptz,
    attempts integer, last_error varchar, sent_at timestamptz,
    primary key (run_id, webhook)
);
comment on table governance.alert_outbox is 'Alerts to the rules'' owners, one per run and '
    'webhook: queued, then posted; a failed post is retried by the next run (quality/alerts.py).';
"""


@dataclass(frozen=True)
class Webhook:
    kind: str
    url: str


def parse_webhooks(value: str | None) -> list[Webhook]:
    """``YIMEI_ALERT_WEBHOOKS``: URLs, comma-separated, each of a known host or with a
    ``kind:`` prefix. An entry of neither kind is an error (a typo must not go unnoticed)."""
    webhooks = []
    for entry in (value or "").split(","):
        entry = entry.strip()
        if not entry:
            continue
        kind, _, rest = entry.partition(":")
        if kind in KINDS and rest and not rest.startswith("//"):
            webhooks.append(Webhook(kind, rest))
            continue
        host = urlparse(entry).hostname or ""
        if host not in HOSTS:
            raise ValueError(
                f"{WEBHOOKS_ENV}: cannot tell the kind of {entry!r}; prefix it with one of "
                + ", ".join(f"{k}:" for k in KINDS)
            )
        webhooks.append(Webhook(HOSTS[host], entry))
    return webhooks


@dataclass(frozen=True)
class RuleAlert:
    rule_id: str
    owner: str
    count: int  # failing entities (blocked) or newly opened findings (threshold)
    threshold: int | None  # None for a blocking rule


@dataclass(frozen=True)
class SuspensionAlert:
    """A new ``suspend_listing`` action of governance.listing_actions."""

    entity_type: str
    entity_id: str
    clinic_name: str | None
    owner: str
    rules: str


@dataclass(frozen=True)
class Alert:
    run_id: str
    blocked: tuple[RuleAlert, ...]
    breaches: tuple[RuleAlert, ...]
    site: str
    suspensions: tuple[SuspensionAlert, ...] = ()

    @property
    def title(self) -> str:
        if self.blocked:
            return "yimei: 发布已阻断 publication blocked by " + ", ".join(
                r.rule_id for r in self.blocked
            )
        if self.breaches:
            return "yimei: 新增问题超出阈值 new findings above threshold: " + ", ".join(
                r.rule_id for r in self.breaches
            )
        return f"yimei: 需暂停上架 listings to suspend: {len(self.suspensions):,}"

    def lines(self) -> list[str]:
        lines = []
        for r in self.blocked:
            lines.append(
                f"{r.rule_id} (blocking 阻断, owner {r.owner}): {r.count:,} failing 不合格"
            )
        for r in self.breaches:
            lines.append(
                f"{r.rule_id} (finding, owner {r.owner}): {r.count:,} new findings 新增问题, "
                f"threshold 阈值 {r.threshold:,}"
            )
        for a in self.suspensions[:MAX_SUSPENSION_LINES]:
            lines.append(
                f"suspend_listing 暂停上架 {a.entity_type} {a.entity_id}"
                + (f" {a.clinic_name}" if a.clinic_name else "")
                + f" (owner {a.owner}): {a.rules}"
            )
        if len(self.suspensions) > MAX_SUSPENSION_LINES:
            more = len(self.suspensions) - MAX_SUSPENSION_LINES
            lines.append(f"… {more:,} more 另有 {more:,} 项: governance.listing_actions")
        lines.append(f"run 运行 {self.run_id} · quality site 质量报告: {self.site}")
        return lines

    def payload(self, kind: str) -> dict:
        if kind == "slack":
            return {"text": "\n".join([f"*{self.title}*", *(f"• {x}" for x in self.lines())])}
        markdown = "\n".join([f"### {self.title}", *(f"- {x}" for x in self.lines())])
        if kind == "wecom":
            return {"msgtype": "markdown", "markdown": {"content": markdown}}
        if kind == "dingtalk":
            return {"msgtype": "markdown", "markdown": {"title": self.title, "text": markdown}}
        raise ValueError(kind)


def compose(con: duckdb.DuckDBPyConnection, run_id: str, site: str) -> Alert | None:
    """The run's alert, from governance.rule_results and governance.findings; None when
    nothing calls for one."""
    results = con.execute(
        "select rule_id, entities_failing, passed from governance.rule_results where run_id = ?",
        [run_id],
    ).fetchall()
    opened = dict(
        con.execute(
            "select rule_id, count(*) from governance.findings where run_id = ? "
            "and first_detected_at = detected_at and status <> 'resolved' group by rule_id",
            [run_id],
        ).fetchall()
    )
    blocked, breaches = [], []
    for rule_id, failing, passed in sorted(results):
        rule = RULE_BY_ID[rule_id]
        if rule.blocking and not passed:
            blocked.append(RuleAlert(rule_id, rule.owner, failing, None))
        elif not rule.blocking:
            threshold = parameter(rule_id, "alert_new_findings_above")
            if opened.get(rule_id, 0) > threshold:
                breaches.append(RuleAlert(rule_id, rule.owner, opened[rule_id], threshold))
    # a blocked run publishes nothing: its new suspensions are the next published run's
    suspensions = [] if blocked else _new_suspensions(con, run_id)
    if not blocked and not breaches and not suspensions:
        return None
    return Alert(run_id, tuple(blocked), tuple(breaches), site, tuple(suspensions))


def _new_suspensions(con: duckdb.DuckDBPyConnection, run_id: str) -> list[SuspensionAlert]:
    if not has_table(con, "governance.listing_alerts"):
        return []
    rows = con.execute(
        "select entity_type, entity_id, clinic_name, owner, rules from governance.listing_alerts "
        "where run_id = ? order by entity_type, entity_id",
        [run_id],
    ).fetchall()
    return [SuspensionAlert(*row) for row in rows]


@dataclass(frozen=True)
class Delivery:
    run_id: str
    webhook: str
    ok: bool
    error: str | None


def queue(con: duckdb.DuckDBPyConnection, alert: Alert, webhooks: list[Webhook]) -> None:
    """One message per run and webhook: queued once, however often the run is notified."""
    con.execute(OUTBOX_DDL)
    now = datetime.now(UTC)
    for webhook in webhooks:
        con.execute(
            "insert into governance.alert_outbox values (?, ?, ?, ?, ?, 0, null, null) "
            "on conflict do nothing",
            [
                alert.run_id,
                webhook.url,
                webhook.kind,
                json.dumps(alert.payload(webhook.kind), ensure_ascii=False),
                now,
            ],
        )


def _post(kind: str, url: str, payload: str) -> str | None:
    """None when the webhook took the message, else why not."""
    try:
        response = requests.post(
            url,
            data=payload.encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8"},
            timeout=TIMEOUT_S,
        )
    except requests.RequestException as error:
        return f"{type(error).__name__}: {error}"
    if response.status_code >= 300:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if kind in ("wecom", "dingtalk"):  # the robots answer 200 with an error code in the body
        try:
            answer = response.json()
        except ValueError:
            return f"not a robot's answer: {response.text[:200]}"
        if answer.get("errcode", 0) != 0:
            return f"errcode {answer.get('errcode')}: {answer.get('errmsg')}"
    return None


def deliver(con: duckdb.DuckDBPyConnection) -> list[Delivery]:
    """Post every queued message not yet sent (this run's and earlier runs' failures)."""
    con.execute(OUTBOX_DDL)
    pending = con.execute(
        "select run_id, webhook, kind, payload, attempts from governance.alert_outbox "
        "where sent_at is null order by queued_at, webhook"
    ).fetchall()
    deliveries = []
    for run_id, url, kind, payload, attempts in pending:
        error = _post(kind, url, payload)
        if error is None:
            con.execute(
                "update governance.alert_outbox set attempts = attempts + 1, sent_at = ?, "
                "last_error = null where run_id = ? and webhook = ?",
                [datetime.now(UTC), run_id, url],
            )
        else:
            log.warning(
                "alert of run %s to %s failed (attempt %d): %s",
                run_id,
                _redact(url),
                attempts + 1,
                error,
            )
            if attempts + 1 >= MAX_ATTEMPTS:
                log.error(
                    "alert of run %s to %s dropped after %d attempts",
                    run_id,
                    _redact(url),
                    MAX_ATTEMPTS,
                )
                con.execute(
                    "delete from governance.alert_outbox where run_id = ? and webhook = ?",
                    [run_id, url],
                )
            else:
                con.execute(
                    "update governance.alert_outbox set attempts = attempts + 1, "
                    "last_error = ? where run_id = ? and webhook = ?",
                    [error, run_id, url],
                )
        deliveries.append(Delivery(run_id, url, error is None, error))
    return deliveries


def _redact(url: str) -> str:
    """A webhook URL carries its secret in the query (key=, access_token=): never logged."""
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}{parsed.path}" + ("?…" if parsed.query else "")


def notify(con: duckdb.DuckDBPyConnection, run_id: str, site: str) -> list[Delivery]:
    """Queue the run's alert (if any) for every configured webhook, then post what is
    queued. Never raises for a webhook's sake: a bad setting is logged."""
    try:
        webhooks = parse_webhooks(os.environ.get(WEBHOOKS_ENV))
    except ValueError as error:
        log.error("%s", error)
        return []
    if not webhooks:
        return []
    alert = compose(con, run_id, site)
    if alert is not None:
        queue(con, alert, webhooks)
    return deliver(con)
