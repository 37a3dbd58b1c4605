"""Files that change under the loader: deleted or grown while a chunk is read, and a
``_SUCCESS`` marker that arrives before its file is complete.

The loader stands at the named point ``ingest:checked`` (every file read and judged, the
transaction not begun) while the test changes a file; the chunk then rolls back whole
with an error naming the file, and the next load takes the delivery as it now is.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ingestion.duck import connect
from ingestion.loader import DeliveryChanged, load_feed
from tests.conftest import TEST_PII_KEY
from tests.reliability.conftest import FIGURES, wait_for

KEY = TEST_PII_KEY.encode()


def _orders_landing(source: Path, target: Path) -> Path:
    """The CRM and the first orders partition with two Parquet parts."""
    shutil.copytree(source / "clinics", target / "clinics")
    partition = next(
        p
        for p in sorted((source / "orders").glob("dt=*"))
        if (p / "_SUCCESS").exists()
        and len(list(p.glob("part-*.parquet"))) >= 1
        and all(_readable(f) for f in p.glob("part-*"))
    )
    shutil.copytree(partition, target / "orders" / partition.name)
    first = next((target / "orders" / partition.name).glob("part-*.parquet"))
    shutil.copy(first, first.with_name("part-0099.parquet"))
    return target / "orders" / partition.name


def _readable(path: Path) -> bool:
    try:
        pq.read_metadata(path)
        return True
    except Exception:  # noqa: BLE001 - a truncated delivery of the sample
        return False


def _orders(con) -> int:
    return con.execute("select count(*) from raw.orders").fetchone()[0]


@pytest.mark.parametrize("change", ["delete", "grow"])
def test_a_file_changed_mid_load_rolls_the_chunk_back(tmp_path, tiny_landing, monkeypatch, change):
    landing = tmp_path / "landing"
    partition = _orders_landing(tiny_landing[0], landing)
    victim = partition / "part-0099.parquet"
    release = tmp_path / "release"
    con = connect(tmp_path / "warehouse.duckdb")
    load_feed(con, str(landing), "clinics", KEY, "crm")
    monkeypatch.setenv("YIMEI_FAULTS", f"ingest:checked=wait:{release}")
    failure: list[BaseException] = []

    def load():
        try:
            load_feed(con, str(landing), "orders", KEY, "run-1")
        except BaseException as error:  # noqa: BLE001 - asserted below
            failure.append(error)

    loader = threading.Thread(target=load)
    loader.start()
    wait_for(lambda: release.with_name("release.reached").exists(), "the loader at ingest:checked")
    if change == "delete":
        victim.unlink()
    else:
        with victim.open("ab") as handle:
            handle.write(b"\0" * 1024)
    release.touch()
    loader.join(timeout=120)
    FIGURES["faults injected"] += 1
    assert failure and isinstance(failure[0], DeliveryChanged), failure
    assert "part-0099.parquet" in str(failure[0])
    assert _orders(con) == 0, "nothing of the chunk was written"
    monkeypatch.delenv("YIMEI_FAULTS")
    load_feed(con, str(landing), "orders", KEY, "run-2")
    statuses = dict(
        con.execute(
            "select source_file, file_status from audit.load_audit where run_id = 'run-2'"
        ).fetchall()
    )
    assert _orders(con) > 0
    if change == "grow":  # its footer is gone: the grown file is quarantined, its twin loads
        assert statuses[f"orders/{partition.name}/part-0099.parquet"] == "quarantined"
    else:
        assert not any("part-0099" in name for name in statuses)
    con.close()


def test_success_before_the_file_is_complete(tmp_path, tiny_landing):
    landing = tmp_path / "landing"
    partition = _orders_landing(tiny_landing[0], landing)
    complete = (partition / "part-0099.parquet").read_bytes()
    (partition / "part-0099.parquet").write_bytes(complete[: len(complete) // 2])  # still writing
    con = connect(tmp_path / "warehouse.duckdb")
    load_feed(con, str(landing), "clinics", KEY, "crm")
    load_feed(con, str(landing), "orders", KEY, "run-1")
    half = con.execute(
        "select reason from audit.quarantine where source_file like '%part-0099.parquet' "
        "and row_number is null"
    ).fetchone()
    assert half and "Parquet" in half[0], "the half-written file is quarantined, the rest loads"
    loaded_first = _orders(con)
    assert loaded_first > 0
    (partition / "part-0099.parquet").write_bytes(complete)  # the writer finishes
    load_feed(con, str(landing), "orders", KEY, "run-2")
    assert _orders(con) > loaded_first, "the completed file loads as a re-send of that dt"
    assert not con.execute(
        "select count(*) from audit.quarantine where source_file like '%part-0099.parquet'"
    ).fetchone()[0]
    con.close()
