"""Blue-book reports: after each publish, one report per configured city for the last
complete year before the run date.

``YIMEI_REPORT_CITIES`` (comma-separated, e.g. ``成都,上海``) names the cities; unset, the
city with the largest GMV that year is reported. A city or year without data is skipped
with a warning, never failing the run: the serving database is already published.
"""

import os
import re

import dagster as dg

from orchestration.resources import WarehouseResource

SERVING = dg.AssetKey(["serving", "database"])
REPORTS = dg.AssetKey(["reports", "blue_book"])
CITIES_ENV = "YIMEI_REPORT_CITIES"


def configured_cities() -> list[str]:
    raw = os.environ.get(CITIES_ENV, "")
    return [c for c in (part.strip() for part in re.split(r"[,，、;\s]+", raw)) if c]


@dg.asset(key=REPORTS, deps=[SERVING], group_name="reports", kinds={"html", "pdf"})
def blue_book_reports(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Chinese industry reports (HTML + PDF) in <data dir>/reports/, from serving.duckdb."""
    # imported here: matplotlib and WeasyPrint need not load with the definitions
    from report import ReportError, cities_by_gmv, generate_report

    settings = warehouse.settings()
    year = settings.as_of.year - 1
    ranked = cities_by_gmv(settings.serving_path, year)
    cities = configured_cities() or ranked[:1]
    if not cities:
        context.log.info(f"no blue-book report: the serving database has no data in {year}")
        return dg.MaterializeResult(metadata={"year": year, "reports": 0, "skipped": "no data"})
    written, skipped = [], []
    for city in cities:
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
    return dg.MaterializeResult(
        metadata={
            "year": year,
            "reports": len(written),
            "paths": "\n".join(written),
            "skipped": ", ".join(skipped),
            "directory": str(settings.reports_dir),
        }
    )
