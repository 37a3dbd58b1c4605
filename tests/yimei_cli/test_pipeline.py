"""`yimei run` with nothing new: no rebuild, serving.duckdb untouched."""

from __future__ import annotations

import hashlib
import shutil
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from ingestion.settings import Settings
from orchestration.jobs import build_and_publish_job
from orchestration.transform.selection import AS_OF_TAG, LOADS_TAG, last_successful_build
from tests.conftest import AS_OF, yimei_run
from yimei_cli.pipeline import loads_watermark

pytestmark = pytest.mark.pipeline


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def data_dir(published, tmp_path_factory) -> Path:
    """A copy of the published data directory: a run takes it for writing, while the other
    tests (in parallel, under xdist) read the original."""
    assert published["result"].returncode == 0, published["result"].stdout[-3000:]
    copy = tmp_path_factory.mktemp("nothing_new") / "data"
    shutil.copytree(published["data_dir"], copy)
    return copy


def test_a_run_with_nothing_new_keeps_the_published_database(published, data_dir):
    landing = published["landing"]
    serving = data_dir / "serving.duckdb"
    before = (serving.stat().st_mtime_ns, _digest(serving))

    result = yimei_run(landing, data_dir)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Nothing new since the last publish" in result.stdout
    assert (serving.stat().st_mtime_ns, _digest(serving)) == before


def test_a_new_run_date_or_new_loads_are_not_already_published(published, data_dir):
    settings = Settings.from_env(
        landing_dir=str(published["landing"]), data_dir=data_dir, as_of=AS_OF
    )
    watermark = loads_watermark(settings)
    assert watermark
    with dg.DagsterInstance.from_config(str(data_dir / "dagster")) as instance:
        last_build = last_successful_build(instance, build_and_publish_job.name)
    assert last_build and last_build.as_of == AS_OF
    built = {AS_OF_TAG: AS_OF.isoformat(), LOADS_TAG: watermark}
    assert last_build.built_from(built)
    next_day = {**built, AS_OF_TAG: (AS_OF + timedelta(days=1)).isoformat()}
    assert not last_build.built_from(next_day)
    assert not last_build.built_from({**built, LOADS_TAG: "x"})
