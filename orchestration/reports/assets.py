"""Blue-book reports: after a publish, one report per configured city for the last
complete year before the run date, in a run of their own (orchestration/jobs.py:
`yimei report`, or the daily_path automation sensor after each publish).

A report is rendered again only when its year's published data changed (the digest of the
year's rows in the month-grain marts, ``report.data.year_data_digest``): a new day of the
current year leaves last year's report as it is, and rendering one costs 6-10 s. A report is
an annual publication: its clinic and persona chapters are as of the day it was last
rendered. ``force: true`` in the run config (``yimei report --force``) renders anyway.

``YIMEI_REPORT_CITIES`` (comma-separated, e.g. ``成都,上海``) names the cities; unset, the
city with the largest GMV that year is reported. A city or year without data is skipped
with a warning, never failing the run: the serving database is already published.
"""

import json
import os
import re

import dagster as dg

from orchestration.automation import AFTER_UPSTREAM_UPDATES
from orchestration.jobs import REPORTS_GROUP
from orchestration.resources import WarehouseResource
from orchestration.serving.assets import SERVING

REPORTS = dg.AssetKey(["reports", "blue_book"])
CITIES_ENV = "YIMEI_REPORT_CITIES"


RENDERED_FILE = "rendered.json"  # report stem -> digest of the data it was rendered from


class ReportsConfig(dg.Config):
    force: bool = False  # render even when the year's published data did not change


def configured_cities() -> list[str]:
    raw = os.environ.get(CITIES_ENV, "")
    return [c for c in (part.strip() for part in re.split(r"[,，、;\s]+", raw)) if c]


@dg.asset(
    key=REPORTS,
    deps=[SERVING],
    group_name=REPORTS_GROUP,
    kinds={"html", "pdf"},
    automation_condition=AFTER_UPSTREAM_UPDATES,
)
def blue_book_reports(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, config: ReportsConfig
) -> dg.MaterializeResult:
    """Chinese industry reports (HTML + PDF) in <data dir>/reports/, from serving.duckdb."""
    # imported here: matplotlib and WeasyPrint need not load with the definitions
    from report.data import ReportError, cities_by_gmv, report_stem, year_data_digest

    settings = warehouse.settings()
    year = settings.as_of.year - 1
    digest = year_data_digest(settings.serving_path, year)
    rendered_path = settings.reports_dir / RENDERED_FILE
    rendered = json.loads(rendered_path.read_text()) if rendered_path.exists() else {}
    ranked = cities_by_gmv(settings.serving_path, year)
    cities = configured_cities() or ranked[:1]
    if not cities:
        context.log.info(f"no blue-book report: the serving database has no data in {year}")
        return dg.MaterializeResult(metadata={"year": year, "reports": 0, "skipped": "no data"})
    written, skipped, current = [], [], []
    for city in cities:
        stem = report_stem(city, year)
        files = [settings.reports_dir / f"{stem}.{ext}" for ext in ("html", "pdf")]
        if not config.force and rendered.get(stem) == digest and all(f.exists() for f in files):
            context.log.info(f"blue-book report {stem}: {year}'s published data unchanged")
            current.append(str(files[1]))
            continue
        from report.render import generate_report

        try:
            result = generate_report(
                settings.serving_path, city, year, settings.reports_dir, as_of=settings.as_of
            )
        except ReportError as exc:
            context.log.warning(f"blue-book report for {city} {year} skipped: {exc}")
            skipped.append(city)
            continue
        context.log.info(f"blue-book report {result.pdf_path} ({result.seconds:.1f} s)")
        written.append(str(result.pdf_path))
        rendered[stem] = digest
        rendered_path.write_text(json.dumps(rendered, ensure_ascii=False, indent=1))
    return dg.MaterializeResult(
        metadata={
            "year": year,
            "reports": len(written),
            "unchanged": "\n".join(current),
            "paths": "\n".join(written),
            "skipped": ", ".join(skipped),
            "directory": str(settings.reports_dir),
        }
    )
