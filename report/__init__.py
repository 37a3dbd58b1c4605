"""Blue-book reports: a Chinese industry report for a city and year, from the published marts.

``generate_report(serving_path, city, year, out_dir)`` reads only ``serving.duckdb`` and
writes an HTML report, its PDF (A4, CJK fonts embedded) and the facts behind every number.

The names are loaded on first use: rendering pulls in matplotlib and WeasyPrint (about 2 s),
which a caller that only asks whether a report is current does not need.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ReportError": "report.data",
    "cities_by_gmv": "report.data",
    "ReportResult": "report.render",
    "generate_report": "report.render",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'report' has no attribute {name!r}")
