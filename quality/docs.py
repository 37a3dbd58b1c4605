"""Great Expectations Data Docs of one run, under ``<data dir>/quality/gx/``.

The runner validates with GX's ``COMPLETE`` result format, because findings
need every failing row's id (``unexpected_index_list``). Those lists are as long
as the failures: at 10M orders a single batch result can hold hundreds of
thousands of ids, and GX's renderer would list them all. So what Data Docs store
and render is the same result cut down to GX's ``SUMMARY`` format (counts,
percentages, and GX's sample of 20 unexpected values and row ids), one result
per validated batch. Row-level detail lives in ``governance.findings``.

Values that GOV-10 reports as unexpected *are* the leaked personal data, so its
samples are redacted before they are stored: the quality site never shows a
phone number, IP address or device id in clear.

Each run renders into a new folder and then repoints the ``gx`` symlink to it
in one rename, so a reader sees the previous site or the new one, never half a
site. The previous build is kept until the next run, for readers still on it.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # before GX is imported
import great_expectations as gx  # noqa: E402
from great_expectations.core.expectation_validation_result import (  # noqa: E402
    ExpectationSuiteValidationResult,
    ExpectationValidationResult,
)
from great_expectations.core.run_identifier import RunIdentifier  # noqa: E402
from great_expectations.data_context.types.resource_identifiers import (  # noqa: E402
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)

from quality.rules import RULE_BY_ID  # noqa: E402

log = logging.getLogger(__name__)

SITE_NAME = "yimei_quality"
SITE_DIR = "gx"  # <quality dir>/gx: a symlink to the current build
BUILDS_DIR = ".gx-builds"  # <quality dir>/.gx-builds/<build>: the rendered sites
KEEP_BUILDS = 2  # the current build and the one before it

# Keys GX adds to a result only in COMPLETE format; without them a result is SUMMARY.
COMPLETE_ONLY = ("unexpected_list", "unexpected_index_list", "unexpected_index_query")
REDACTED_RULES = frozenset({"GOV-10"})
REDACTED = "[redacted: personal data]"


@dataclass
class DocPage:
    """One stored validation result: a batch of a validated table against a suite."""

    name: str  # what was validated, e.g. int_order_compliance, personal_data
    suite: str
    batch: int  # 1-based, in the order batches were streamed
    rows: int
    success: bool
    failed_expectations: int
    rules: tuple[str, ...]  # every rule the suite enforces
    failing_rules: tuple[str, ...]
    key: ValidationResultIdentifier
    href: str = ""  # relative to the quality dir, once built


@dataclass
class DocsSite:
    """What the summary page links to: the Data Docs index and every result page."""

    index_href: str | None
    pages: list[DocPage] = field(default_factory=list)
    suite_hrefs: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def summary_result(result: ExpectationSuiteValidationResult) -> ExpectationSuiteValidationResult:
    """``result`` in GX's SUMMARY format, personal data redacted (see the module doc)."""
    items = []
    for item in result.results:
        kept = {k: v for k, v in (item.result or {}).items() if k not in COMPLETE_ONLY}
        rule_id = (item.expectation_config.meta or {}).get("rule_id")
        if rule_id in REDACTED_RULES and kept.get("unexpected_count"):
            kept["partial_unexpected_list"] = [REDACTED] * len(
                kept.get("partial_unexpected_list") or []
            )
            kept["partial_unexpected_counts"] = [
                {"value": REDACTED, "count": kept["unexpected_count"]}
            ]
        items.append(
            ExpectationValidationResult(
                success=item.success,
                expectation_config=item.expectation_config,
                result=kept,
                meta=item.meta,
                exception_info=item.exception_info,
            )
        )
    return ExpectationSuiteValidationResult(
        success=result.success,
        results=items,
        suite_name=result.suite_name,
        suite_parameters=result.suite_parameters,
        statistics=result.statistics,
        meta=dict(result.meta),
        batch_id=result.batch_id,
    )


def _docs_suite(suite: gx.ExpectationSuite) -> gx.ExpectationSuite:
    """A copy of ``suite`` for the suite store (the runner's suite is left unbound), with
    notes naming the rules, owners and severities it enforces."""
    rules = sorted({e.meta["rule_id"] for e in suite.expectations if "rule_id" in e.meta})
    notes = [
        f"**{r}** ({RULE_BY_ID[r].severity}, owner {RULE_BY_ID[r].owner}): {RULE_BY_ID[r].title}"
        for r in rules
    ]
    return gx.ExpectationSuite(
        name=suite.name,
        expectations=[e.configuration.to_domain_obj() for e in suite.expectations],
        notes=notes or None,
    )


class DataDocs:
    """Collects one run's validation results in a GX context and renders them."""

    def __init__(self, context, run_name: str) -> None:
        self.context = context
        self.run_id = RunIdentifier(run_name=run_name, run_time=datetime.now(UTC))
        self.pages: list[DocPage] = []
        self._batches: Counter[str] = Counter()

    def record(
        self,
        name: str,
        suite: gx.ExpectationSuite,
        result: ExpectationSuiteValidationResult,
        rows: int,
    ) -> None:
        self._add_suite(suite)
        self._batches[name] += 1
        batch = self._batches[name]
        stored = summary_result(result)
        stored.meta.update(
            run_id=self.run_id,
            validation_time=self.run_id.run_time,
            # the data docs show batch_spec's data_asset_name as the page's "Data asset"
            batch_spec={**dict(stored.meta.get("batch_spec") or {}), "data_asset_name": name},
            batch_parameters={"validated": name, "batch": batch, "rows": rows},
        )
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
            run_id=self.run_id,
            batch_identifier=f"{name}-{batch:03d}",
        )
        self.context.validation_results_store.set(key, stored)
        failed = [i for i in result.results if not i.success]
        self.pages.append(
            DocPage(
                name=name,
                suite=suite.name,
                batch=batch,
                rows=rows,
                success=bool(result.success),
                failed_expectations=len(failed),
                rules=tuple(sorted({e.meta.get("rule_id", "") for e in suite.expectations})),
                failing_rules=tuple(
                    sorted({i.expectation_config.meta.get("rule_id", "") for i in failed})
                ),
                key=key,
            )
        )

    def _add_suite(self, suite: gx.ExpectationSuite) -> None:
        try:
            self.context.suites.get(suite.name)
        except Exception:  # not stored yet (GX raises DataContextError)
            self.context.suites.add(_docs_suite(suite))

    def build(self, quality_dir: Path) -> DocsSite:
        """Render this run's site into a new build folder and point ``gx`` at it."""
        builds = quality_dir / BUILDS_DIR
        builds.mkdir(parents=True, exist_ok=True)
        build = f"{self.run_id.run_time:%Y%m%dT%H%M%S}-{self.run_id.run_name[:8]}"
        staging = builds / f".{build}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        for site in list(self.context.list_data_docs_sites()):
            self.context.delete_data_docs_site(site)
        self.context.add_data_docs_site(
            SITE_NAME,
            {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(staging),
                },
                "site_index_builder": {
                    "class_name": "DefaultSiteIndexBuilder",
                    "show_cta_footer": False,
                },
            },
        )
        self.context.build_data_docs(site_names=[SITE_NAME])
        for page in self.pages:
            page.href = f"{SITE_DIR}/{self._relative(page.key, staging)}"
        suite_hrefs = {
            name: f"{SITE_DIR}/{self._relative(ExpectationSuiteIdentifier(name=name), staging)}"
            for name in dict.fromkeys(p.suite for p in self.pages)
        }
        staging.rename(builds / build)
        _point(quality_dir / SITE_DIR, f"{BUILDS_DIR}/{build}")
        _prune(builds, keep=build)
        return DocsSite(f"{SITE_DIR}/index.html", list(self.pages), suite_hrefs)

    def _relative(self, identifier, root: Path) -> str:
        url = self.context.get_docs_sites_urls(
            resource_identifier=identifier, site_name=SITE_NAME, only_if_exists=False
        )[0]["site_url"]
        return Path(unquote(urlparse(url).path)).relative_to(root).as_posix()


def _point(link: Path, target: str) -> None:
    """Make ``link`` a symlink to ``target`` (relative) with one atomic rename."""
    if link.exists() and not link.is_symlink():
        # A real folder: a data dir copied without its symlinks. Move it aside first.
        aside = link.with_name(f".{link.name}.replaced")
        shutil.rmtree(aside, ignore_errors=True)
        link.rename(aside)
        shutil.rmtree(aside, ignore_errors=True)
    new_link = link.with_name(f".{link.name}.{os.getpid()}.link")
    new_link.unlink(missing_ok=True)
    new_link.symlink_to(target, target_is_directory=True)
    os.replace(new_link, link)


def _prune(builds: Path, keep: str) -> None:
    """Remove every build but ``keep`` and the newest ``KEEP_BUILDS - 1`` before it, and any
    staging folder a killed run left behind."""
    older = sorted(
        (p.name for p in builds.iterdir() if not p.name.startswith(".") and p.name != keep),
        reverse=True,
    )
    survivors = {keep, *older[: KEEP_BUILDS - 1]}
    for path in builds.iterdir():
        if path.name not in survivors:
            shutil.rmtree(path, ignore_errors=True)
