"""Waivers: an owner accepts a known finding (governance.md, "Waivers").

The waivers file is a UTF-8 CSV (a BOM is accepted) at ``YIMEI_WAIVERS``, by default
``<data dir>/governance/waivers.csv``, read at every run, with the header

    rule_id,entity_id,reason,owner,expires_on

``expires_on`` is the last day the waiver applies (YYYY-MM-DD, the run date's calendar). A row
is applied only when it is valid: a known finding rule (never a blocking one), an entity, a
reason, an owner and an expiry date not before the run date, once per rule and entity. Every
other row is ignored and reported, with why, on the quality site (``governance.waivers``
keeps the rows of the run as read); nothing is applied silently.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from quality.rules import RULE_BY_ID

WAIVERS_ENV = "YIMEI_WAIVERS"
COLUMNS = ("rule_id", "entity_id", "reason", "owner", "expires_on")

WAIVERS_DDL = """
create schema if not exists governance;
create table if not exists governance.waivers (
    line integer, rule_id varchar, entity_id varchar, reason varchar, owner varchar,
    expires_on varchar, valid boolean, problem varchar, run_id varchar
);
comment on table governance.waivers is 'The waivers file as read by the latest run, row by row: '
    'valid rows are applied to their findings, the others ignored with the problem stated.';
"""


def waivers_path(data_dir: Path) -> Path:
    return Path(os.environ.get(WAIVERS_ENV) or Path(data_dir) / "governance" / "waivers.csv")


@dataclass(frozen=True)
class WaiverRow:
    line: int  # line of the file (the header is line 1)
    rule_id: str
    entity_id: str
    reason: str
    owner: str
    expires_on: str
    problem: str | None  # None: valid, applied

    @property
    def valid(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class Waivers:
    path: Path | None
    rows: tuple[WaiverRow, ...]
    file_problem: str | None = None  # the file as a whole could not be read

    @classmethod
    def none(cls) -> Waivers:
        return cls(None, ())

    @property
    def valid(self) -> tuple[WaiverRow, ...]:
        return tuple(r for r in self.rows if r.valid)

    @property
    def invalid(self) -> tuple[WaiverRow, ...]:
        return tuple(r for r in self.rows if not r.valid)

    def applied_frame(self) -> pd.DataFrame:
        """The valid waivers, as write_findings applies them."""
        return pd.DataFrame(
            {
                "rule_id": pd.Series([r.rule_id for r in self.valid], dtype="string"),
                "entity_id": pd.Series([r.entity_id for r in self.valid], dtype="string"),
                "reason": pd.Series([r.reason for r in self.valid], dtype="string"),
                "owner": pd.Series([r.owner for r in self.valid], dtype="string"),
                "expires_on": pd.to_datetime(
                    pd.Series([r.expires_on for r in self.valid], dtype="string")
                ).dt.date,
            }
        )


def _problem(row: dict[str, str], as_of: date, seen: set[tuple[str, str]]) -> str | None:
    rule = RULE_BY_ID.get(row["rule_id"])
    if rule is None:
        return f"unknown rule {row['rule_id']!r}"
    if rule.blocking:
        return f"{rule.rule_id} is a blocking rule: it cannot be waived"
    for column in ("entity_id", "reason", "owner", "expires_on"):
        if not row[column]:
            return f"missing {column}"
    try:
        expires_on = date.fromisoformat(row["expires_on"])
    except ValueError:
        return f"expires_on {row['expires_on']!r} is not a date (YYYY-MM-DD)"
    if expires_on < as_of:
        return f"expired on {expires_on.isoformat()}, before the run date {as_of.isoformat()}"
    key = (row["rule_id"], row["entity_id"])
    if key in seen:
        return "a second waiver of the same finding (the first one applies)"
    seen.add(key)
    return None


def read_waivers(path: Path, as_of: date) -> Waivers:
    """The waivers file, each row judged as of the run date. A missing file is no waiver."""
    if not path.exists():
        return Waivers(path, ())
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return Waivers(path, (), f"not UTF-8 ({error.reason} at byte {error.start})")
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        return Waivers(path, (), f"missing columns {', '.join(missing)} (header: {header})")
    seen: set[tuple[str, str]] = set()
    rows = []
    for line, raw in enumerate(reader, start=2):
        row = {c: (raw.get(c) or "").strip() for c in COLUMNS}
        if not any(row.values()):
            continue
        rows.append(WaiverRow(line, *(row[c] for c in COLUMNS), _problem(row, as_of, seen)))
    return Waivers(path, tuple(rows))


def record_waivers(con: duckdb.DuckDBPyConnection, waivers: Waivers, run_id: str) -> None:
    """governance.waivers: this run's reading of the file, replacing the previous one."""
    con.execute(WAIVERS_DDL)
    con.execute("delete from governance.waivers")
    rows = [
        (
            r.line,
            r.rule_id,
            r.entity_id,
            r.reason,
            r.owner,
            r.expires_on,
            r.valid,
            r.problem,
            run_id,
        )
        for r in waivers.rows
    ]
    if waivers.file_problem:
        rows.append((1, None, None, None, None, None, False, waivers.file_problem, run_id))
    if rows:
        con.executemany("insert into governance.waivers values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
