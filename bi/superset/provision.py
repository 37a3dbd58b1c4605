"""Import yimei's starter bundle into Superset: run by Superset's own interpreter.

`yimei superset` runs this inside ``bi/superset/.venv`` (Superset's environment, not the
warehouse's) after ``superset db upgrade`` and ``superset init``. It makes sure the admin user
exists with the password yimei keeps, then imports the bundle in ``bundle/`` with Superset's
own import commands, each with ``overwrite``: the database (with the reader's real password
and the endpoint's host and port), the datasets, the charts, the dashboard. Importing the
dashboard alone would leave charts and datasets of an earlier import as they were.

Secrets arrive in the environment, never on a command line (which ``ps`` shows):
``YIMEI_SUPERSET_ADMIN_PASSWORD`` and ``YIMEI_SUPERSET_DATABASE_URL`` (the reader's connection
string, password included).

The datasets' descriptions and their columns' verbose names and descriptions are not in the
bundle: they come from the published tables' data dictionary (``dictionary.json`` in Superset's
home, written by serving/superset.py from quality/published.py), Chinese first.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import yaml

BUNDLE = Path(__file__).resolve().parent / "bundle"
DATABASE_FILE = "databases/yimei.yaml"
METADATA_FILE = "metadata.yaml"
ADMIN = "admin"


def bundle_contents(database_url: str, dictionary: dict | None = None) -> dict[str, str]:
    """The bundle as Superset's importers take it: path inside the bundle -> YAML text; each
    physical dataset described from ``dictionary`` (``dictionary.json``)."""
    contents = {
        path.relative_to(BUNDLE).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(BUNDLE.rglob("*.yaml"))
    }
    database = yaml.safe_load(contents[DATABASE_FILE])
    database["sqlalchemy_uri"] = _masked(database_url)
    contents[DATABASE_FILE] = yaml.safe_dump(database, allow_unicode=True, sort_keys=False)
    for path, text in contents.items():
        if path.startswith("datasets/") and dictionary:
            dataset = yaml.safe_load(text)
            described = dictionary.get(f"{dataset['schema']}.{dataset['table_name']}")
            if described and not dataset.get("sql"):
                contents[path] = yaml.safe_dump(
                    describe_dataset(dataset, described), allow_unicode=True, sort_keys=False
                )
    return contents


def describe_dataset(dataset: dict, described: dict) -> dict:
    """The dataset's description, and each column's verbose name (its Chinese label) and
    description, from the data dictionary."""
    columns = described["columns"]
    return {
        **dataset,
        "description": described["description"],
        "columns": [
            {
                **column,
                "verbose_name": columns[column["column_name"]]["label"],
                "description": columns[column["column_name"]]["description"],
            }
            if column["column_name"] in columns
            else column
            for column in dataset["columns"]
        ],
    }


def read_dictionary() -> dict:
    """dictionary.json in Superset's home (``YIMEI_SUPERSET_HOME``); none, none described."""
    path = Path(os.environ.get("YIMEI_SUPERSET_HOME", ".")) / "dictionary.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _masked(url: str) -> str:
    """The URL with its password replaced by Superset's mask; the password goes separately."""
    from sqlalchemy.engine.url import make_url

    parsed = make_url(url)
    return str(parsed.set(password="XXXXXXXXXX")) if parsed.password else str(parsed)


def _password(url: str) -> str | None:
    from sqlalchemy.engine.url import make_url

    return make_url(url).password


def ensure_admin(password: str):
    from superset import security_manager
    from superset.extensions import db

    user = security_manager.find_user(username=ADMIN)
    if user is None:
        role = security_manager.find_role("Admin")
        user = security_manager.add_user(
            ADMIN, "yimei", "admin", "admin@localhost", role, password=password
        )
        if not user:
            raise SystemExit("provision: could not create Superset's admin user")
    else:
        security_manager.reset_password(user.id, password)
    db.session.commit()
    return user


def import_bundle(database_url: str) -> None:
    from superset.commands.chart.importers.v1 import ImportChartsCommand
    from superset.commands.dashboard.importers.v1 import ImportDashboardsCommand
    from superset.commands.database.importers.v1 import ImportDatabasesCommand
    from superset.commands.dataset.importers.v1 import ImportDatasetsCommand

    contents = bundle_contents(database_url, read_dictionary())
    metadata = yaml.safe_load(contents[METADATA_FILE])
    passwords = {DATABASE_FILE: _password(database_url) or ""}
    for command, model in (
        (ImportDatabasesCommand, "Database"),
        (ImportDatasetsCommand, "SqlaTable"),
        (ImportChartsCommand, "Slice"),
        (ImportDashboardsCommand, "Dashboard"),
    ):
        # Each importer checks that metadata.yaml declares its own type of export.
        typed = {**contents, METADATA_FILE: yaml.safe_dump({**metadata, "type": model})}
        command(typed, overwrite=True, passwords=passwords).run()


def main() -> int:
    admin_password = os.environ["YIMEI_SUPERSET_ADMIN_PASSWORD"]
    database_url = os.environ["YIMEI_SUPERSET_DATABASE_URL"]

    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset.utils.core import override_user

        admin = ensure_admin(admin_password)
        with override_user(admin):
            import_bundle(database_url)
    print(f"provision: imported {BUNDLE.name}/ into Superset", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
