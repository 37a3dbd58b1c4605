"""What a build-check-publish run must rebuild: what changed since the last successful one.

A day's run should cost what the day costs. The last successful build run carries tags of
what it was built from (the run date, the loads watermark, a fingerprint of the dbt project);
against those, a new run rebuilds

- everything, when there was no successful build yet; everything from scratch (dbt
  ``--full-refresh``) when the dbt project changed (a model, macro, seed or test): an
  incremental model holds rows built by the old code, and a seed is reference data every
  fact was judged with (like dbt's ``state:modified+``, at the grain of the whole project);
- otherwise what is downstream of the raw tables loaded since (new, late or re-sent
  partitions), plus, when the run date moved, what is downstream of the models tagged
  ``run_date``; the governance checks, the gate, serving and the report are downstream of
  every model and always run.

dagster-dbt turns the asset subset into a dbt ``--select``, so dbt builds and tests just those.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

import dagster as dg

from ingestion.contract import FEEDS
from ingestion.settings import DBT_PROJECT_DIR
from quality.rules import rule_parameters

# dbt tag of the models whose result depends on the run date (they call as_of_date()). This
# module does not load the dbt assets: `yimei run` with nothing new reads its tags only.
RUN_DATE_TAG = "run_date"
AS_OF_TAG = "yimei/as_of"
LOADS_TAG = "yimei/loads"
PROJECT_TAG = "yimei/dbt_project"
# What the dbt build reads besides the warehouse; target/, logs/ and dbt_packages/ are output.
PROJECT_INPUTS = ("models", "seeds", "macros", "snapshots", "tests", "analyses")
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml")


def project_fingerprint() -> str:
    """Changes when any file dbt builds from, or a rule parameter it receives, changes."""
    digest = hashlib.sha256(json.dumps(rule_parameters(), sort_keys=True).encode())
    paths = [DBT_PROJECT_DIR / name for name in PROJECT_FILES]
    for folder in PROJECT_INPUTS:
        paths += sorted(p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file())
    for path in paths:
        if path.is_file():
            digest.update(path.relative_to(DBT_PROJECT_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class BuildPlan:
    """``selection`` None means the whole job; ``reason`` says why, for the log."""

    selection: list[dg.AssetKey] | None
    reason: str
    full_refresh: bool = False


@dataclass(frozen=True)
class LastBuild:
    """The last successful build-check-publish run: what it was built from (its tags), when."""

    tags: dict[str, str]
    started: datetime

    def built_from(self, built_from: dict[str, str]) -> bool:
        """Whether it was built from exactly this (its publish is current)."""
        return all(self.tags.get(tag) == value for tag, value in built_from.items())

    @property
    def as_of(self) -> date | None:
        tag = self.tags.get(AS_OF_TAG)
        return date.fromisoformat(tag) if tag else None


def last_successful_build(instance: dg.DagsterInstance, job_name: str) -> LastBuild | None:
    """The one question of every planner (`yimei run`, `yimei report`): ``job_name`` is the
    build job's (orchestration/jobs.py build_and_publish_job.name)."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(job_name=job_name, statuses=[dg.DagsterRunStatus.SUCCESS]),
        limit=1,
    )
    if not records:
        return None
    started = datetime.fromtimestamp(records[0].start_time or 0, tz=UTC)
    return LastBuild(dict(records[0].dagster_run.tags), started)


def plan_build(
    asset_graph,
    job_keys: set[dg.AssetKey],
    last_build: LastBuild | None,
    built_from: dict[str, str],
    feeds_loaded_since,
    rebuild: bool = False,
    full_refresh: bool = False,
) -> BuildPlan:
    """``feeds_loaded_since(when)`` lists the feeds with a partition loaded after ``when``;
    ``rebuild`` and ``full_refresh`` are what the user asked for (``yimei run`` flags)."""
    if full_refresh:
        return BuildPlan(None, "a full refresh was asked for: everything, from scratch", True)
    if last_build is None:
        return BuildPlan(None, "no successful build yet: everything")
    tags = last_build.tags
    if tags.get(PROJECT_TAG) != built_from[PROJECT_TAG]:
        return BuildPlan(None, "the dbt project changed: everything, from scratch", True)
    if rebuild:
        return BuildPlan(None, "a rebuild was asked for: everything")
    feeds = sorted(feeds_loaded_since(last_build.started))
    roots = dg.AssetSelection.assets(
        *[dg.AssetKey(["raw", t.table]) for feed in feeds for t in FEEDS[feed]]
    ).downstream(include_self=False)
    reasons = [f"new deliveries of {', '.join(feeds)}"] if feeds else []
    if tags.get(AS_OF_TAG) != built_from[AS_OF_TAG]:
        roots |= dg.AssetSelection.tag(RUN_DATE_TAG, "").downstream()
        reasons.append(f"the run date moved to {built_from[AS_OF_TAG]}")
    if not reasons:  # same date, project and loads, yet no current serving database
        return BuildPlan(None, "nothing changed since the last build: everything")
    keys = roots.resolve(asset_graph) & job_keys
    return BuildPlan(sorted(keys), " and ".join(reasons) + f": {len(keys)} assets")
