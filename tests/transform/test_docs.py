"""The dbt docs site builds, and describes every published table and column."""

from __future__ import annotations

import json
import shutil

import pytest

from quality import published
from tests.conftest import REPO
from tests.transform.dbt_helpers import run_dbt

pytestmark = pytest.mark.pipeline

PUBLISHED_MARTS = set(published.PUBLISHED_MART_MODELS)
GOVERNANCE_FACTS = {
    "int_order_compliance",
    "int_review_verification",
    "int_clinic_licence_verification",
    "int_complaint_response",
}


@pytest.fixture(scope="module")
def docs(published, tmp_path_factory) -> dict:
    result = published["result"]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    target = tmp_path_factory.mktemp("docs")
    # a copy: dbt opens the warehouse for writing, the other tests read the original
    data_dir = target / "data"
    data_dir.mkdir()
    shutil.copy(published["data_dir"] / "warehouse.duckdb", data_dir / "warehouse.duckdb")
    run_dbt(
        data_dir,
        target,
        *("docs", "generate", "--static"),
        as_of="2026-11-23",
    )
    return {
        "target": target,
        "manifest": json.loads((target / "manifest.json").read_text(encoding="utf-8")),
        "catalog": json.loads((target / "catalog.json").read_text(encoding="utf-8")),
    }


def _models(docs: dict, names: set[str]) -> dict[str, dict]:
    return {
        node["name"]: node
        for node in docs["manifest"]["nodes"].values()
        if node["resource_type"] == "model" and node["name"] in names
    }


def test_the_static_site_is_generated(docs):
    # static_index.html embeds the manifest and the catalog: it opens from the file system
    page = (docs["target"] / "static_index.html").read_text(encoding="utf-8")
    assert "market_monthly" in page
    assert (docs["target"] / "index.html").exists()


@pytest.mark.parametrize("names", [PUBLISHED_MARTS, GOVERNANCE_FACTS], ids=["marts", "facts"])
def test_every_table_and_column_is_described(docs, names):
    models = _models(docs, names)
    assert set(models) == names
    for name, node in models.items():
        assert node["description"].strip(), f"{name} has no description"
        built = docs["catalog"]["nodes"][node["unique_id"]]["columns"]
        described = {c for c, meta in node["columns"].items() if meta["description"].strip()}
        missing = sorted(set(built) - described)
        assert not missing, f"{name}: columns without description {missing}"


def test_the_docs_site_shows_every_published_mart_and_column_in_chinese(docs):
    """dbt docs shows each model's and column's meta: the Chinese label and description of
    every column the mart built (dbt's catalog), as the data dictionary states them."""
    dictionary = published.published_descriptions()
    for name, node in _models(docs, PUBLISHED_MARTS).items():
        table = dictionary[f"{published.MARTS_SCHEMA}.{name}"]
        assert node["config"]["meta"]["label_zh"] == table.label_zh, name
        built = docs["catalog"]["nodes"][node["unique_id"]]["columns"]
        for column in built:
            meta = node["columns"][column]["config"]["meta"]
            assert meta["description_zh"].strip() and meta["label_zh"].strip(), (name, column)
            assert " ".join(meta["description_zh"].split()) == table.columns[column].description_zh


def test_the_data_dictionary_is_in_step_with_the_models():
    for table, described in published.published_descriptions().items():
        entries = {table: described, **{f"{table}.{c}": d for c, d in described.columns.items()}}
        for name, entry in entries.items():
            assert entry.label_zh and entry.description_zh and entry.description, (
                f"{name}: a description, and config.meta label_zh and description_zh, are needed"
            )
    page = (REPO / "docs" / "data_dictionary.md").read_text(encoding="utf-8")
    assert page == published.data_dictionary_markdown(), (
        "run `python -m quality.published > docs/data_dictionary.md`"
    )


def test_exposures_cover_the_report_bi_and_the_verification_pages(docs):
    exposures = {e["name"]: e for e in docs["manifest"]["exposures"].values()}
    assert {"blue_book_report", "bi_serving_connection", "verification_pages"} <= set(exposures)
    depends = {
        name: {n.split(".")[-1] for n in exposure["depends_on"]["nodes"]}
        for name, exposure in exposures.items()
    }
    # the serving exposure is the list of published tables (quality/published.py): every
    # model dbt builds into the marts schema is in it, and each surface reads published marts
    marts = {
        node["name"]
        for node in docs["manifest"]["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == published.MARTS_SCHEMA
    }
    assert depends["bi_serving_connection"] == PUBLISHED_MARTS == marts
    assert all(nodes <= PUBLISHED_MARTS for nodes in depends.values()), depends
    assert {"market_monthly", "clinic_scorecard", "travel_flows"} <= depends["blue_book_report"]
    assert {"clinic_scorecard", "clinic_verification", "product_registry"} <= depends[
        "verification_pages"
    ]
