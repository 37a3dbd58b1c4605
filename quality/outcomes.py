"""governance.run_outcomes: how each checked run ended, ``blocked`` or ``published``.

Each outcome is written by the step that establishes it: ``blocked`` by the publish gate when
it refuses (orchestration/governance/assets.py), ``published`` by the publish step once the
new ``serving.duckdb`` is renamed into place (orchestration/serving/assets.py). A run killed
before either has no row. Everything that reads the outcomes asks this module.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

BLOCKED, PUBLISHED = "blocked", "published"


def decided_runs(database: str | None = None) -> str:
    """The runs that were decided (blocked or published), as a subquery; ``database``: the
    name the warehouse is attached under, when it is not the connection's own."""
    return f"select run_id from {database + '.' if database else ''}governance.run_outcomes"


def record_outcome(con: duckdb.DuckDBPyConnection, run_id: str, outcome: str) -> None:
    """How a checked run ended: ``blocked`` or ``published`` (the governance tables exist:
    the governance step made them, quality/findings.py)."""
    if outcome not in (BLOCKED, PUBLISHED):
        raise ValueError(f"a run ends {BLOCKED} or {PUBLISHED}, not {outcome!r}")
    con.execute(
        "insert or replace into governance.run_outcomes values (?, ?, ?)",
        [run_id, outcome, datetime.now(UTC)],
    )


def outcome_of(con: duckdb.DuckDBPyConnection, run_id: str) -> str | None:
    """``blocked``, ``published``, or None for a run that was never decided."""
    row = con.execute(
        "select outcome from governance.run_outcomes where run_id = ?", [run_id]
    ).fetchone()
    return row[0] if row else None


def last_published(con: duckdb.DuckDBPyConnection) -> str | None:
    """The run whose publish ``serving.duckdb`` holds: the last one published."""
    row = con.execute(
        "select run_id from governance.run_outcomes where outcome = ? "
        "order by decided_at desc limit 1",
        [PUBLISHED],
    ).fetchone()
    return row[0] if row else None
