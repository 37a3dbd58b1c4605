"""The dbt project, defined once for the whole code location."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from ingestion.settings import DBT_PROJECT_DIR

# dagster-dbt runs the `dbt` found on PATH. dbt is installed beside this interpreter
# (`.venv/bin`), which is not on PATH when `.venv/bin/yimei` is called directly.
_interpreter_bin = str(Path(sys.executable).parent)
if _interpreter_bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _interpreter_bin + os.pathsep + os.environ.get("PATH", "")

yimei_dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def ensure_manifest() -> None:
    """Parse the project when its manifest is missing or older than the models.

    dagster-dbt needs ``target/manifest.json`` to build the asset graph; parsing
    takes seconds and needs no database, so it runs on load instead of being a
    separate setup step a user could forget.
    """
    manifest = yimei_dbt_project.manifest_path
    sources = [
        p
        for folder in ("models", "seeds", "macros", "snapshots", "tests")
        for p in (DBT_PROJECT_DIR / folder).rglob("*")
        if p.is_file()
    ] + [DBT_PROJECT_DIR / "dbt_project.yml"]
    newest = max(p.stat().st_mtime for p in sources)
    if not manifest.exists() or manifest.stat().st_mtime < newest:
        yimei_dbt_project.preparer.prepare(yimei_dbt_project)
