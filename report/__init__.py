"""Blue-book reports: a Chinese industry report for a city and year, from the published marts.

``generate_report(serving_path, city, year, out_dir)`` reads only ``serving.duckdb`` and
writes an HTML report, its PDF (A4, CJK fonts embedded) and the facts behind every number.
"""

from report.data import ReportError, cities_by_gmv
from report.render import ReportResult, generate_report

__all__ = ["ReportError", "ReportResult", "cities_by_gmv", "generate_report"]
