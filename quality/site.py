"""The governance owners' one-page summary of the latest run, under data/quality/."""

from __future__ import annotations

import html
from pathlib import Path

import duckdb

from quality.rules import RULES


def _table(headers: list[str], rows: list[tuple]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_summary(con: duckdb.DuckDBPyConnection, run_id: str, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    latest = {
        r[0]: r
        for r in con.execute(
            "select rule_id, severity, owner, entities_checked, entities_failing, "
            "round(failure_rate * 100, 2), passed from governance.rule_results where run_id = ?",
            [run_id],
        ).fetchall()
    }
    runs = [
        r[0]
        for r in con.execute(
            "select run_id from governance.rule_results group by run_id "
            "order by max(checked_at) desc limit 8"
        ).fetchall()
    ]
    trend = dict(
        ((rule_id, run), failing)
        for rule_id, run, failing in con.execute(
            "select rule_id, run_id, entities_failing from governance.rule_results "
            "where run_id in (select unnest(?))",
            [runs],
        ).fetchall()
    )
    rule_rows = []
    for rule in RULES:
        r = latest.get(rule.rule_id)
        status = "no result" if r is None else ("pass" if r[6] else "FAIL")
        history = " → ".join(str(trend.get((rule.rule_id, run), "–")) for run in reversed(runs))
        rule_rows.append(
            (
                rule.rule_id,
                rule.severity,
                rule.owner,
                rule.title,
                status,
                r[3] if r else "",
                r[4] if r else "",
                f"{r[5]}%" if r else "",
                history,
            )
        )
    top_clinics = con.execute(
        "select clinic_id, count(*) as findings, string_agg(distinct rule_id, ', ' "
        "order by rule_id) from governance.findings where clinic_id is not null "
        "group by clinic_id order by findings desc, clinic_id limit 15"
    ).fetchall()
    blocked = [
        r.rule_id for r in RULES if r.blocking and r.rule_id in latest and not latest[r.rule_id][6]
    ]
    verdict = (
        f"<p class='blocked'>Publication BLOCKED by {', '.join(blocked)}</p>"
        if blocked
        else "<p class='ok'>All blocking rules passed: published.</p>"
    )
    page = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>yimei governance: run {run_id}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px}}.blocked{{color:#b00;font-weight:bold}}
.ok{{color:#070}}</style></head><body>
<h1>yimei governance summary</h1><p>Run <code>{html.escape(run_id)}</code></p>{verdict}
<h2>Rules</h2>
{
        _table(
            [
                "rule",
                "severity",
                "owner",
                "rule",
                "status",
                "checked",
                "failing",
                "rate",
                "failing, last runs (oldest → newest)",
            ],
            rule_rows,
        )
    }
<h2>Clinics with most findings</h2>
{_table(["clinic_id", "findings", "rules"], top_clinics)}
</body></html>
"""
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
