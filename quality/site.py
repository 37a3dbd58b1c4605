"""The quality site for governance owners, under ``<data dir>/quality/``.

``index.html`` is a one-page summary of the latest run (rules, pass/fail,
failing counts, the trend over the last runs, the clinics with most findings)
that links to the run's Great Expectations Data Docs under ``gx/``
(quality/docs.py). It is self-contained: no scripts, no fonts or styles from the
network, so it reads the same on an offline machine.
"""

from __future__ import annotations

import html
import os
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from ingestion.duck import has_table
from quality.docs import DocsSite
from quality.rules import RULE_BY_ID, RULES

TREND_RUNS = 30
TOP_CLINICS = 15


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _table(headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    """``rows`` hold HTML already escaped by the caller."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _badge(text: str, kind: str) -> str:
    return f"<span class='badge {kind}'>{_e(text)}</span>"


def _sparkline(values: list[int | None]) -> str:
    """Failing entities over the last runs, oldest to newest, as a tiny inline SVG."""
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return ""
    width, height, top = 96, 22, max(known) or 1
    step = width / (len(values) - 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}"
        for i, v in enumerate(values)
        if v is not None
    )
    return (
        f"<svg class='spark' width='{width}' height='{height}' role='img' "
        f"aria-label='trend'><polyline fill='none' stroke='currentColor' stroke-width='1.5' "
        f"points='{points}'/></svg>"
    )


def _docs_links(rule_id: str, docs: DocsSite | None) -> str:
    """Links from a rule to the Data Docs pages of the suites that enforce it."""
    if docs is None or docs.index_href is None:
        return ""
    pages = [p for p in docs.pages if rule_id in p.rules]
    suites = list(dict.fromkeys(p.suite for p in pages))
    if len(suites) > 2:
        return f"<a href='#data-docs'>{len(suites)} suites ↓</a>"
    links = []
    for suite in suites:
        batches = [p for p in pages if p.suite == suite]
        first = next((p for p in batches if rule_id in p.failing_rules), batches[0])
        more = f" (+{len(batches) - 1} batches)" if len(batches) > 1 else ""
        links.append(f"<a href='{_e(first.href)}'>{_e(suite)}</a>{more}")
    return "<br>".join(links)


def _docs_section(docs: DocsSite | None) -> str:
    if docs is None:
        return "<p class='muted'>No Data Docs were built for this run.</p>"
    if docs.error or docs.index_href is None:
        return (
            "<p class='blocked'>Data Docs could not be built this run (未能生成): "
            f"{_e(docs.error)}. The rule results above are unaffected.</p>"
        )
    rows = []
    for p in docs.pages:
        if p.success:
            status = _badge("pass 通过", "pass")
        elif any(RULE_BY_ID[r].blocking for r in p.failing_rules if r in RULE_BY_ID):
            status = _badge("fail 未通过", "fail")
        else:
            status = _badge("fail · findings 有问题记录", "warn")
        suite = docs.suite_hrefs.get(p.suite)
        rows.append(
            [
                _e(p.name),
                f"<a href='{_e(suite)}'>{_e(p.suite)}</a>" if suite else _e(p.suite),
                str(p.batch),
                f"{p.rows:,}",
                _e(", ".join(p.rules)),
                status,
                _e(", ".join(p.failing_rules)),
                f"<a href='{_e(p.href)}'>result 结果</a>",
            ]
        )
    return (
        f"<p><a class='button' href='{_e(docs.index_href)}'>Open the Great Expectations Data "
        "Docs 打开数据文档</a> — every validation of this run, one per table and batch "
        "(up to 1,000,000 rows each; GOV-10 one for every published table), in GX's SUMMARY "
        "format: counts and a sample of failing values. The entity rules and GOV-10 validate "
        "the rows the engine selected from a scan of every row (a value outside a rule's set, "
        "a text value matching a personal-data pattern); the entities "
        "checked are counted above. Row-level findings are in <code>governance.findings</code>. "
        "The GX index page loads its tables from public CDNs; the result pages below also "
        "read offline.</p>"
        + _table(
            [
                "validated 校验对象",
                "suite 期望套件",
                "batch 批次",
                "rows 行数",
                "rules 规则",
                "status 状态",
                "failing 未通过",
                "page 页面",
            ],
            rows,
            "docs",
        )
    )


def _lifecycle(con, run_id: str, runs: list) -> dict[str, tuple[int, int, int, int]]:
    """Per rule, since the previous checked run: findings new in this run, still open from
    before, resolved by this run, and waived (governance.md, findings lifecycle)."""
    this_run = next((at for run, at, *_ in runs if run == run_id), None)
    previous = next((at for run, at, *_ in runs if this_run and at < this_run), None)
    rows = con.execute(
        """
        select rule_id,
            count(*) filter (where status = 'open' and run_id = ?
                and first_detected_at = detected_at),
            count(*) filter (where status = 'open' and not (run_id = ?
                and first_detected_at = detected_at)),
            count(*) filter (where status = 'resolved'
                and resolved_at > coalesce(?::timestamptz, '-infinity'::timestamptz)),
            count(*) filter (where status = 'waived')
        from governance.findings group by rule_id
        """,
        [run_id, run_id, previous],
    ).fetchall()
    return {rule_id: tuple(counts) for rule_id, *counts in rows}


def _lifecycle_cell(counts: tuple[int, int, int, int] | None) -> str:
    new, still_open, resolved, waived = counts or (0, 0, 0, 0)
    return (
        f"<span class='life'><b>+{new:,}</b> / {still_open:,} / "
        f"<span class='resolved'>−{resolved:,}</span> / {waived:,}</span>"
    )


def _waivers_section(con) -> str:
    """The waivers file as this run read it: applied rows counted, invalid ones listed."""
    if not has_table(con, "governance.waivers"):
        return "<p>No waivers file was read 未读取豁免文件.</p>"
    rows = con.execute(
        "select line, rule_id, entity_id, owner, expires_on, valid, problem "
        "from governance.waivers order by line"
    ).fetchall()
    applied = sum(1 for r in rows if r[5])
    invalid = [r for r in rows if not r[5]]
    text = f"<p>{applied:,} waiver{'s' if applied != 1 else ''} applied 已生效"
    if not invalid:
        return text + "; no invalid row 无无效行.</p>"
    table = _table(
        ["line 行", "rule_id", "entity_id", "owner 负责人", "expires_on 到期", "problem 问题"],
        [
            [
                str(line),
                _e(rule or ""),
                _e(entity or ""),
                _e(owner or ""),
                _e(exp or ""),
                f"<b>{_e(problem)}</b>",
            ]
            for line, rule, entity, owner, exp, _, problem in invalid
        ],
        "waivers",
    )
    return (
        text + f"; <b>{len(invalid):,} invalid row{'s' if len(invalid) != 1 else ''} "
        "ignored 无效行已忽略</b>, never applied:</p>" + table
    )


def write_summary(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    out_dir: Path,
    docs: DocsSite | None = None,
    as_of: date | None = None,
) -> Path:
    """Write ``out_dir/index.html`` (replaced by rename: readers never see half a page)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    latest = {
        r[0]: r
        for r in con.execute(
            "select rule_id, severity, owner, entities_checked, entities_failing, "
            "failure_rate, passed from governance.rule_results where run_id = ?",
            [run_id],
        ).fetchall()
    }
    runs = con.execute(
        "select run_id, max(checked_at) as last_checked, count(*) filter (where not passed), "
        "string_agg(rule_id, ', ' order by rule_id) filter (where not passed "
        "and severity = 'blocking'), sum(entities_failing) "
        "from governance.rule_results group by run_id order by last_checked desc limit ?",
        [TREND_RUNS],
    ).fetchall()
    run_ids = [r[0] for r in reversed(runs)]  # oldest first
    trend: dict[str, dict[str, int]] = defaultdict(dict)
    for rule_id, run, failing in con.execute(
        "select rule_id, run_id, entities_failing from governance.rule_results "
        "where run_id in (select unnest(?))",
        [run_ids],
    ).fetchall():
        trend[rule_id][run] = failing

    lifecycle = _lifecycle(con, run_id, runs)
    rule_rows = []
    for rule in RULES:
        r = latest.get(rule.rule_id)
        if r is None:
            status = _badge("no result 无结果", "none")
        elif r[6]:
            status = _badge("pass 通过", "pass")
        elif rule.blocking:
            status = _badge("FAIL · blocks 阻断发布", "fail")
        else:
            status = _badge("findings 有问题记录", "warn")
        history = [trend[rule.rule_id].get(run) for run in run_ids]
        numbers = " → ".join("–" if v is None else f"{v:,}" for v in history)
        name, _, text = rule.title.partition(": ")
        rule_rows.append(
            [
                f"<b id='{_e(rule.rule_id)}'>{_e(rule.rule_id)}</b>",
                _badge(
                    "blocking 阻断" if rule.blocking else "finding 记录",
                    "sev-blocking" if rule.blocking else "sev-finding",
                ),
                _e(rule.owner),
                f"<code>{_e(name)}</code><br><span class='muted'>{_e(text)}</span>",
                status,
                f"{r[3]:,}" if r else "",
                f"<b>{r[4]:,}</b>" if r and r[4] else ("0" if r else ""),
                f"{r[5] * 100:.2f}%" if r else "",
                _lifecycle_cell(lifecycle.get(rule.rule_id)),
                f"{_sparkline(history)}<br><span class='muted'>{_e(numbers)}</span>",
                _docs_links(rule.rule_id, docs),
            ]
        )

    run_rows = [
        [
            f"<code>{_e(run[:8])}</code>" + (" <b>(this run 本次)</b>" if run == run_id else ""),
            _e(f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if at else ""),
            str(failed_rules),
            _badge(f"blocked 阻断: {blocked}", "fail")
            if blocked
            else _badge("publishable 可发布", "pass"),
            f"{failing or 0:,}",
        ]
        for run, at, failed_rules, blocked, failing in runs
    ]

    names = (
        "left join marts.clinic_scorecard s using (clinic_id)"
        if has_table(con, "marts.clinic_scorecard")
        else "left join (select null::varchar as clinic_id, null::varchar as name, "
        "null::varchar as city) s using (clinic_id)"
    )
    top_clinics = con.execute(
        f"""
        with per_rule as (
            select clinic_id, rule_id, count(*) as n, min(first_detected_at) as oldest
            from governance.findings
            where clinic_id is not null and status = 'open'
            group by all
        )
        select p.clinic_id, any_value(s.name), any_value(s.city), sum(p.n) as findings,
               string_agg(p.rule_id || ' ×' || p.n, ', ' order by p.rule_id),
               date_diff('day', min(p.oldest), current_timestamp) as oldest_days,
               string_agg(p.rule_id || ' ' ||
                   date_diff('day', p.oldest, current_timestamp) || 'd', ', ' order by p.rule_id)
        from per_rule p {names}
        group by p.clinic_id order by findings desc, p.clinic_id limit ?
        """,
        [TOP_CLINICS],
    ).fetchall()
    clinic_rows = [
        [
            f"<code>{_e(c)}</code>",
            _e(n),
            _e(city),
            f"<b>{f:,}</b>",
            _e(rules),
            f"{oldest:,} days 天",
            f"<span class='muted'>{_e(ages)}</span>",
        ]
        for c, n, city, f, rules, oldest, ages in top_clinics
    ]
    waiver_section = _waivers_section(con)

    blocked = [
        r.rule_id for r in RULES if r.blocking and r.rule_id in latest and not latest[r.rule_id][6]
    ]
    judged = [r for r in RULES if r.rule_id in latest]
    passed = sum(1 for r in judged if latest[r.rule_id][6])
    findings_total = con.execute(
        "select count(*) from governance.findings where status <> 'resolved'"
    ).fetchone()[0]
    verdict = (
        f"<div class='verdict blocked'>Publication BLOCKED 已阻断发布 by {_e(', '.join(blocked))}"
        ": serving.duckdb keeps the last good version 保留上一次合格版本.</div>"
        if blocked
        else "<div class='verdict ok'>All blocking rules passed 阻断规则全部通过: "
        "this run may publish 可发布.</div>"
    )
    docs_link = (
        f" · <a href='{_e(docs.index_href)}'>Great Expectations Data Docs 数据文档</a>"
        if docs is not None and docs.index_href and not docs.error
        else ""
    )
    generated = datetime.now(UTC)
    page = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>yimei 数据治理质量报告 · governance quality · run {_e(run_id[:8])}</title>
<style>{CSS}</style></head><body>
<header><h1>yimei 数据治理质量报告 <span class="muted">Governance quality summary</span></h1>
<p>Run 运行 <code>{_e(run_id)}</code>{f" · as of 数据日期 {_e(as_of)}" if as_of else ""}
 · generated 生成于 {generated:%Y-%m-%d %H:%M} UTC{docs_link}</p>{verdict}
<div class="kpis">
<div><b>{passed} / {len(RULES)}</b><span>rules passed 规则通过</span></div>
<div><b>{len(blocked)}</b><span>blocking rules failed 阻断规则未通过</span></div>
<div><b>{sum(latest[r.rule_id][4] for r in judged):,}</b>
<span>entities failing this run 本次不合格实体</span></div>
<div><b>{findings_total:,}</b><span>findings standing (open or waived) 未关闭问题</span></div>
</div></header>
<h2 id="rules">Rules 规则 <span class="muted">(governance.rule_results, this run)</span></h2>
{
        _table(
            [
                "rule 规则",
                "severity 严重性",
                "owner 负责人",
                "check 检查内容",
                "status 状态",
                "checked 已检查",
                "failing 不合格",
                "rate 比例",
                "since the previous run 较上次: new 新增 / open 仍未解决 / resolved 已解决 / "
                "waived 已豁免",
                f"failing, last {len(run_ids)} run{'s' if len(run_ids) != 1 else ''} 趋势"
                " (oldest → newest)",
                "Data Docs",
            ],
            rule_rows,
            "rules",
        )
    }
<h2 id="runs">Last runs 近期运行</h2>
{
        _table(
            [
                "run 运行",
                "checked at 检查时间",
                "rules failing 未通过规则数",
                "gate 发布闸门",
                "entities failing 不合格实体",
            ],
            run_rows,
        )
    }
<h2 id="clinics">Clinics with most open findings 未解决问题最多的机构</h2>
<p class="muted">From governance.findings, status open (one row per entity and rule); age is
counted from the first run that found it.</p>
{
        _table(
            [
                "clinic_id",
                "name 名称",
                "city 城市",
                "open findings 未解决",
                "by rule 按规则",
                "oldest 最久",
                "age by rule 各规则最久",
            ],
            clinic_rows,
            "clinics",
        )
        if clinic_rows
        else "<p>No clinic has open findings 暂无未解决的机构问题.</p>"
    }
<h2 id="waivers">Waivers 豁免</h2>
{waiver_section}
<h2 id="data-docs">Great Expectations Data Docs 数据文档</h2>
{_docs_section(docs)}
<footer class="muted">Rules: docs/rules.md · how the suites run: quality/README.md</footer>
</body></html>
"""
    path = out_dir / "index.html"
    staging = out_dir / f".index.html.{os.getpid()}.tmp"
    staging.write_text(page, encoding="utf-8")
    os.replace(staging, path)
    return path


CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","PingFang SC","Microsoft YaHei",
system-ui,sans-serif;margin:0 auto;padding:1.5em 2em;max-width:1400px;color:#1f2328;
line-height:1.45}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.2em;margin-top:1.8em;
border-bottom:1px solid #d0d7de;padding-bottom:.2em}
.muted{color:#656d76;font-weight:normal;font-size:.9em}
code{font-size:.9em;background:#f6f8fa;padding:0 .25em;border-radius:3px}
table{border-collapse:collapse;width:100%;font-size:.9em}
th{background:#f6f8fa;text-align:left;position:sticky;top:0}
td,th{border:1px solid #d0d7de;padding:5px 8px;vertical-align:top}
tbody tr:nth-child(even){background:#fbfcfd}
table.rules td:nth-child(n+5),table.docs td:nth-child(-n+4),table.docs td:last-child{
white-space:nowrap}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:.85em;
white-space:nowrap}
.pass{background:#dafbe1;color:#116329}.fail{background:#ffebe9;color:#a40e26;
font-weight:bold}.warn{background:#fff8c5;color:#7d4e00}.none{background:#eaeef2}
.sev-blocking{background:#a40e26;color:#fff}.sev-finding{background:#ddf4ff;color:#0550ae}
.verdict{padding:.7em 1em;border-radius:6px;margin:.8em 0;font-weight:bold}
.verdict.ok{background:#dafbe1;color:#116329}
.verdict.blocked,.blocked{background:#ffebe9;color:#a40e26}
.kpis{display:flex;gap:1em;flex-wrap:wrap}
.kpis div{border:1px solid #d0d7de;border-radius:6px;padding:.5em 1em;min-width:11em}
.kpis b{display:block;font-size:1.5em}.kpis span{color:#656d76;font-size:.85em}
.spark{color:#0969da;vertical-align:middle}
.life{white-space:nowrap}.resolved{color:#116329}
a{color:#0969da}a.button{display:inline-block;background:#0969da;color:#fff;
padding:.3em .9em;border-radius:6px;text-decoration:none}
footer{margin-top:2em}
"""
