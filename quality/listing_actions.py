"""governance.listing_actions: the owners' work queue (governance.md, "Listing actions").

The listing checks (the catalogue's rules with a ``listing_action``: GOV-01, GOV-15..18) judge
what the platform shows today. Each clinic or doctor with at least one open (not waived) finding
of theirs is one action: the strongest of its rules' actions, every rule behind it with its
detail, since the earliest first detection, for the owner of the strongest rule. The table is
rebuilt from ``governance.findings`` on every run, so an action leaves it when its findings are
resolved or waived; the findings keep the history.

A ``suspend_listing`` that the previously published version did not show is recorded in
``governance.listing_alerts`` for this run: the alert step posts it (quality/alerts.py).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from ingestion.duck import connect, has_table
from quality.rules import LISTING_ACTIONS, LISTING_RULES, SUSPEND_LISTING

TABLE = "governance.listing_actions"
ALERTS_TABLE = "governance.listing_alerts"

ALERTS_DDL = (
    f"create table if not exists {ALERTS_TABLE} (run_id varchar, entity_type varchar, "
    "entity_id varchar, clinic_id varchar, clinic_name varchar, owner varchar, rules varchar);"
)


def _rule_actions() -> pd.DataFrame:
    """Each listing rule with its action, owner and rank: 0 for the strongest action's lowest
    rule id, so an entity's action and owner are those of its lowest-ranked open rule."""
    ranked = sorted(
        LISTING_RULES, key=lambda rule: (LISTING_ACTIONS.index(rule.listing_action), rule.rule_id)
    )
    return pd.DataFrame(
        [(rank, rule.rule_id, rule.listing_action, rule.owner) for rank, rule in enumerate(ranked)],
        columns=["rank", "rule_id", "action", "owner"],
    )


def published_suspensions(serving_path: Path) -> set[tuple[str, str]]:
    """(entity_type, entity_id) of every suspend_listing in the published version; none before
    the first publish (or before this table was published)."""
    if not serving_path.exists():
        return set()
    con = connect(serving_path, read_only=True)
    try:
        if not has_table(con, TABLE):
            return set()
        return set(
            con.execute(
                f"select entity_type, entity_id from {TABLE} where action = ?", [SUSPEND_LISTING]
            ).fetchall()
        )
    finally:
        con.close()


def write_listing_actions(
    con: duckdb.DuckDBPyConnection, run_id: str, published: set[tuple[str, str]]
) -> int:
    """Rebuild the work queue from the findings as they stand, and record this run's new
    suspensions (against ``published``); returns the number of actions. Called inside the
    governance step's transaction, after the findings are written (quality/findings.py)."""
    con.execute(ALERTS_DDL)
    previous = pd.DataFrame(sorted(published), columns=["entity_type", "entity_id"], dtype="string")
    try:
        con.register("_rule_actions", _rule_actions())
        con.register("_published_suspensions", previous)
        con.execute(f"delete from {TABLE}")
        con.execute(
            f"""
            insert into {TABLE}
            with open_findings as (
                select
                    findings.entity_type, findings.entity_id, findings.clinic_id,
                    findings.rule_id, findings.detail, findings.first_detected_at,
                    rule_actions.action, rule_actions.owner, rule_actions.rank
                from governance.findings as findings
                inner join _rule_actions as rule_actions
                    on findings.rule_id = rule_actions.rule_id
                where findings.status = 'open'
            ),
            actions as (
                select
                    entity_type,
                    entity_id,
                    any_value(clinic_id) as clinic_id,
                    arg_min(action, rank) as action,
                    string_agg(rule_id || ': ' || coalesce(detail, ''), ' | ' order by rule_id)
                        as rules,
                    min(first_detected_at) as since,
                    arg_min(owner, rank) as owner
                from open_findings
                group by entity_type, entity_id
            )
            select
                actions.entity_type, actions.entity_id, actions.clinic_id,
                scorecard.name as clinic_name, scorecard.city,
                actions.action, actions.rules, actions.since, actions.owner
            from actions
            left join marts.clinic_scorecard as scorecard
                on actions.clinic_id = scorecard.clinic_id
            order by actions.entity_type, actions.entity_id
            """
        )
        con.execute(f"delete from {ALERTS_TABLE} where run_id = ?", [run_id])
        con.execute(
            f"""
            insert into {ALERTS_TABLE}
            select ?, actions.entity_type, actions.entity_id, actions.clinic_id,
                actions.clinic_name, actions.owner, actions.rules
            from {TABLE} as actions
            where actions.action = ?
                and (actions.entity_type, actions.entity_id) not in (
                    select (entity_type, entity_id) from _published_suspensions
                )
            """,
            [run_id, SUSPEND_LISTING],
        )
        count = con.execute(f"select count(*) from {TABLE}").fetchone()[0]
    finally:
        for name in ("_rule_actions", "_published_suspensions"):
            con.unregister(name)
    return count
