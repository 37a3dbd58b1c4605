"""The verification pages' facts, read from the published ``serving.duckdb`` only.

The file is opened read-only and reopened when a new version is published: the publish step
replaces it by a rename (serving/publish.py), so a connection keeps reading the version it
opened, and a changed inode says a new one is there. Every query is parameterised; ids and
numbers are checked against their patterns before any query (verify/app.py).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from verify.words import CONSUMER_WORDS

# a request reads for milliseconds; a replaced version's connection is closed this long after
RETIRE_AFTER_S = 60


@dataclass(frozen=True)
class Finding:
    rule_id: str
    words: str  # what the rule checks, in plain words
    count: int  # entities (the clinic, its doctors, orders or reviews) it fails on
    example: str  # one of their details
    since: date | None


@dataclass(frozen=True)
class ClinicFacts:
    clinic: dict[str, Any]  # clinic_scorecard's row and clinic_verification's
    doctors: list[dict[str, Any]]
    complaints: list[dict[str, Any]]
    findings: list[Finding]
    suspended: bool  # an open suspend_listing action (governance.listing_actions)
    listing_action: dict[str, Any] | None
    as_of: date


@dataclass(frozen=True)
class ProductFacts:
    registration_no: str
    product: dict[str, Any] | None  # None: not in the registry
    clinics: list[dict[str, Any]] = field(default_factory=list)
    as_of: date | None = None


class PublishedData:
    """Read-only access to one ``serving.duckdb``, reopened when a new version replaces it."""

    def __init__(self, serving_path: Path):
        self.serving_path = serving_path
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._version: tuple[int, int] | None = None
        self._retired: list[tuple[float, duckdb.DuckDBPyConnection]] = []

    def _identity(self) -> tuple[int, int]:
        stat = os.stat(self.serving_path)
        return stat.st_ino, stat.st_mtime_ns

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor on the newest published version (one per request: DuckDB cursors are not
        shared between threads)."""
        with self._lock:
            identity = self._identity()
            if self._con is None or identity != self._version:
                if self._con is not None:
                    # closing a connection closes its cursors: requests still reading the old
                    # version would fail (the readers test saw one 500 in 2,945 responses), so
                    # it is closed once they are long done
                    self._retired.append((time.monotonic(), self._con))
                self._con = duckdb.connect(str(self.serving_path), read_only=True)
                self._version = identity
            while self._retired and time.monotonic() - self._retired[0][0] > RETIRE_AFTER_S:
                self._retired.pop(0)[1].close()
            return self._con.cursor()

    def close(self) -> None:
        with self._lock:
            for _, con in self._retired:
                con.close()
            self._retired.clear()
            if self._con is not None:
                self._con.close()
                self._con = None


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    result = con.execute(sql, params)
    names = [column[0] for column in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def as_of(con: duckdb.DuckDBPyConnection) -> date:
    (day,) = con.execute("select max(as_of_date) from marts.clinic_verification").fetchone()
    return day


def clinic_facts(data: PublishedData, clinic_id: str) -> ClinicFacts | None:
    con = data.cursor()
    try:
        rows = _rows(
            con,
            "select scorecard.*, verification.* exclude (clinic_id) "
            "from marts.clinic_scorecard as scorecard "
            "inner join marts.clinic_verification as verification using (clinic_id) "
            "where clinic_id = ?",
            [clinic_id],
        )
        if not rows:
            return None
        doctors = _rows(
            con,
            "select * from marts.clinic_doctors where clinic_id = ? "
            "order by is_chief_consultant desc, years_experience desc nulls last, doctor_id",
            [clinic_id],
        )
        complaints = _rows(
            con,
            "select * from marts.clinic_complaints where clinic_id = ? "
            "order by complaints desc, complaint_type",
            [clinic_id],
        )
        # the findings not resolved (open, or accepted by their owner: still shown) of the
        # clinic, its doctors, orders and reviews, one line per rule with one example
        findings = _rows(
            con,
            "select rule_id, count(*) as findings, min(detail) as example, "
            "min(first_detected_at) as since from governance.findings "
            "where clinic_id = ? and status <> 'resolved' group by rule_id order by rule_id",
            [clinic_id],
        )
        actions = _rows(
            con,
            "select * from governance.listing_actions "
            "where entity_type = 'clinic' and entity_id = ?",
            [clinic_id],
        )
    finally:
        con.close()
    action = actions[0] if actions else None
    return ClinicFacts(
        clinic=rows[0],
        doctors=doctors,
        complaints=complaints,
        findings=[
            Finding(
                f["rule_id"],
                CONSUMER_WORDS.get(f["rule_id"], f["rule_id"]),
                f["findings"],
                f["example"],
                f["since"].date() if f["since"] else None,
            )
            for f in findings
        ],
        suspended=bool(action and action["action"] == "suspend_listing"),
        listing_action=action,
        as_of=rows[0]["as_of_date"],
    )


def product_facts(data: PublishedData, registration_no: str) -> ProductFacts:
    con = data.cursor()
    try:
        products = _rows(
            con, "select * from marts.product_registry where registration_no = ?", [registration_no]
        )
        clinics = _rows(
            con,
            "select usage.clinic_id, scorecard.name, scorecard.city, scorecard.listing_status, "
            "usage.completed_orders_in_window, usage.last_used_on "
            "from marts.product_clinic_usage as usage "
            "inner join marts.clinic_scorecard as scorecard using (clinic_id) "
            "where usage.registration_no = ? order by usage.last_used_on desc, usage.clinic_id",
            [registration_no],
        )
        day = as_of(con)
    finally:
        con.close()
    return ProductFacts(registration_no, products[0] if products else None, clinics, day)
