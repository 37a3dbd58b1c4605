"""Ingestion on a generated landing zone: contract, quarantine, audit, PII, re-runs."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import time

import polars as pl
import pyarrow.parquet as pq
import pytest

from ingestion.contract import FEEDS
from ingestion.duck import connect
from ingestion.landing import list_partitions
from ingestion.loader import DeliveryChanged, load_feed, load_feeds, load_partitions
from ingestion.pii import pii_hash
from tests.conftest import TEST_PII_KEY


def load_all(con, landing, run_id):
    return {
        feed: load_feed(con, str(landing), feed, TEST_PII_KEY.encode(), run_id) for feed in FEEDS
    }


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, small_landing):
    """The first load as the pipeline does it: two feeds at a time, a connection each."""
    landing, manifest = small_landing
    path = tmp_path_factory.mktemp("wh") / "warehouse.duckdb"
    con = connect(path)

    def load(own, feed):
        return load_feed(own, str(landing), feed, TEST_PII_KEY.encode(), "run-1")

    first = {r.feed: r for r in load_feeds(lambda: connect(path), list(FEEDS), load)}
    yield con, landing, manifest, first
    con.close()


def test_rows_land_as_the_manifest_expects(loaded):
    con, _, manifest, _ = loaded
    for table, expected in manifest["expected_rows"].items():
        actual = con.execute(f"select count(*) from raw.{table}").fetchone()[0]
        assert actual == expected, table


def test_every_bad_delivery_ends_as_expected(loaded):
    con, _, manifest, _ = loaded
    quarantined_rows = set(
        con.execute(
            "select source_file, row_number from audit.quarantine where row_number is not null"
        ).fetchall()
    )
    quarantined_files = dict(
        con.execute(
            "select source_file, reason from audit.quarantine where row_number is null"
        ).fetchall()
    )
    loaded_files = set(
        r[0] for r in con.execute("select distinct _source_file from raw.orders").fetchall()
    )
    audited_partitions = set(
        f"{feed}/dt={dt}"
        for feed, dt in con.execute("select feed, dt from audit.partition_loads").fetchall()
    )
    kinds = set()
    for bad in manifest["bad_deliveries"]:
        kinds.add(bad["kind"])
        expect = bad["expect"]
        if expect == "quarantine_row":
            assert (bad["file"], bad["row_number"]) in quarantined_rows, bad
        elif expect == "quarantine_file":
            assert bad["file"] in quarantined_files, bad
            assert quarantined_files[bad["file"]], "a file-level quarantine row says why"
        elif expect == "skip_partition":
            partition = bad.get("partition") or "/".join(bad["file"].split("/")[:2])
            assert partition not in audited_partitions, bad
        elif expect == "load":
            status, rows_loaded, encoding, extra = con.execute(
                "select file_status, rows_loaded, encoding, extra_columns "
                "from audit.load_audit where source_file = ?",
                [bad["file"]],
            ).fetchone()
            assert status == "loaded" and rows_loaded > 0, bad
            if bad["feed"] == "orders":
                assert bad["file"] in loaded_files, bad
            if bad["kind"] == "registry_bom":
                assert encoding == "utf-8-sig", bad
            if bad["kind"] == "registry_utf8":
                assert encoding == "utf-8", bad
            if bad["kind"] == "added_column":
                assert extra and "coupon_code" in extra, bad
    # the generator injects every kind of bad delivery that feeds.md lists
    assert {"truncated_parquet", "broken_json_line", "renamed_column", "empty_file"} <= kinds


def test_quarantine_says_why_and_audit_adds_up(loaded):
    con, _, _, _ = loaded
    assert (
        con.execute(
            "select count(*) from audit.quarantine where reason is null or reason = ''"
        ).fetchone()[0]
        == 0
    )
    mismatched = con.execute(
        "select source_file from audit.load_audit "
        "where file_status <> 'quarantined' and rows_read <> rows_loaded + rows_quarantined"
    ).fetchall()
    assert mismatched == []
    for table in ("orders", "reviews", "clinics"):
        audited = con.execute(
            "select coalesce(sum(rows_loaded), 0) from audit.load_audit where table_name = ?",
            [table],
        ).fetchone()[0]
        assert audited == con.execute(f"select count(*) from raw.{table}").fetchone()[0]


def delivered_order_phones(landing):
    """(file relative to the landing root, each row's buyer_phone) of every order file
    that can be read."""
    for path in sorted(landing.glob("orders/dt=*/part-*")):
        try:
            frame = (
                pl.read_parquet(path, columns=["buyer_phone"])
                if path.suffix == ".parquet"
                else pl.read_csv(path, columns=["buyer_phone"], infer_schema=False)
            )
        except Exception:  # a truncated or renamed-column delivery: quarantined whole
            continue
        yield path.relative_to(landing).as_posix(), frame["buyer_phone"].cast(pl.Utf8).to_list()


def delivered_personal_values(landing) -> set[str]:
    """Every clear-text phone, IP and device id the landing zone delivered."""
    values: set[str] = set()
    for _, phones in delivered_order_phones(landing):
        values.update(v for v in phones if v)
    for path in sorted(landing.glob("reviews/dt=*/part-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            values.update(str(record[k]) for k in ("ip", "device_id") if record.get(k))
    return values


def test_no_clear_text_personal_data_anywhere(loaded):
    """Scan every text column of the warehouse for every delivered phone, IP and device id."""
    con, landing, _, _ = loaded
    clear = delivered_personal_values(landing)
    assert len(clear) > 1000
    con.execute("create or replace temp table _clear (value varchar)")
    con.executemany("insert into _clear values (?)", [[v] for v in sorted(clear)])
    columns = con.execute(
        "select schema_name, table_name, column_name from duckdb_columns() "
        "where data_type = 'VARCHAR' and database_name = current_database() "
        "and not internal and schema_name <> 'temp'"
    ).fetchall()
    assert len(columns) > 20
    for schema, table, column in columns:
        leaked = con.execute(
            f'select d.v, c.value from (select distinct "{column}" as v from {schema}.{table}) d '
            "join _clear c on contains(d.v, c.value) limit 1"
        ).fetchall()
        assert not leaked, (schema, table, column, leaked)
    hashes = con.execute("select buyer_phone_hash from raw.orders limit 5").fetchall()
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for (h,) in hashes)


def _keyed(value) -> str | None:
    text = None if value is None else str(value).strip()
    return pii_hash(text, TEST_PII_KEY.encode()) if text else None


def test_each_stored_personal_value_is_the_keyed_hash_of_its_own(loaded):
    """Row by row, in every file layout of one load (Parquet and CSV orders, JSON Lines
    reviews): the stored hash is the HMAC of the value that row delivered."""
    con, landing, _, _ = loaded
    expected = {}
    for relative, phones in delivered_order_phones(landing):
        for number, phone in enumerate(phones, start=1):
            expected[(relative, number)] = (_keyed(phone),)
    for path in sorted(landing.glob("reviews/dt=*/part-*.jsonl")):
        relative = path.relative_to(landing).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                expected[(relative, number)] = (
                    _keyed(record.get("ip")),
                    _keyed(record.get("device_id")),
                )
    stored = {
        (f, n): tuple(hashes)
        for query in (
            "select _source_file, _row_number, buyer_phone_hash from raw.orders",
            "select _source_file, _row_number, ip_hash, device_id_hash from raw.reviews",
        )
        for f, n, *hashes in con.execute(query).fetchall()
    }
    assert {f.rsplit(".", 1)[1] for f, _ in stored} == {"parquet", "csv", "jsonl"}
    assert sum(h is not None for hashes in stored.values() for h in hashes) > 1000
    wrong = [key for key, hashes in stored.items() if expected.get(key) != hashes]
    assert not wrong, [(key, stored[key], expected.get(key)) for key in wrong[:3]]


def test_reload_is_a_no_op(loaded):
    con, landing, _, _ = loaded
    before = {
        t: con.execute(f"select count(*) from raw.{t}").fetchone()[0]
        for tables in FEEDS.values()
        for t in (c.table for c in tables)
    }
    quarantine_before = con.execute("select count(*) from audit.quarantine").fetchone()[0]
    again = load_all(con, landing, "run-2")
    assert all(not r.partitions_loaded and not r.partitions_replaced for r in again.values())
    after = {t: con.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in before}
    assert after == before
    assert con.execute("select count(*) from audit.quarantine").fetchone()[0] == quarantine_before


def _delivered_rows(path) -> int | None:
    """Data rows in one landed file, counted without the loader; None if unreadable."""
    try:
        if path.suffix == ".parquet":
            return pq.ParquetFile(path).metadata.num_rows
        if path.suffix == ".jsonl":
            return sum(1 for line in path.read_bytes().splitlines() if line.strip())
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig") if _is_utf8(raw) else raw.decode("gb18030")
        return max(sum(1 for _ in csv.reader(io.StringIO(text))) - 1, 0)
    except Exception:
        return None


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_loaded_plus_quarantined_rows_are_the_rows_delivered(loaded):
    con, landing, _, _ = loaded
    audited = con.execute(
        "select source_file, rows_loaded, rows_quarantined, file_status from audit.load_audit"
    ).fetchall()
    assert audited
    for source_file, rows_loaded, rows_quarantined, file_status in audited:
        delivered = _delivered_rows(landing / source_file)
        if file_status == "quarantined":
            # rejected whole: one quarantine row names the file, no row of it is loaded
            assert rows_loaded == 0
            continue
        assert delivered == rows_loaded + rows_quarantined, source_file


def _copy_landing(landing, target):
    shutil.copytree(landing, target)
    return target


def test_a_resent_partition_replaces_the_earlier_delivery(small_landing, tmp_path):
    landing = _copy_landing(small_landing[0], tmp_path / "landing")
    con = connect(tmp_path / "warehouse.duckdb")
    load_all(con, landing, "first")
    partition = sorted((landing / "reviews").glob("dt=*/_SUCCESS"))[-2].parent
    dt = partition.name[3:]
    part = partition / "part-0000.jsonl"
    lines = part.read_text(encoding="utf-8").splitlines()
    kept = lines[: len(lines) // 2]
    time.sleep(0.01)
    part.write_text("\n".join(kept) + "\n", encoding="utf-8")
    (partition / "_SUCCESS").write_bytes(b"")
    result = load_feed(con, str(landing), "reviews", TEST_PII_KEY.encode(), "resend")
    assert [str(d) for d in result.partitions_replaced] == [dt]
    assert not result.partitions_loaded
    rows = con.execute("select count(*) from raw.reviews where _dt = ?", [dt]).fetchone()[0]
    assert rows == len(kept)
    audit = con.execute(
        "select bool_and(replaced_earlier) from audit.load_audit where run_id = 'resend'"
    ).fetchone()[0]
    assert audit is True
    assert (
        con.execute(
            "select deliveries from audit.partition_loads where feed = 'reviews' and dt = ?", [dt]
        ).fetchone()[0]
        == 2
    )
    con.close()


def test_a_partition_resent_during_its_load_is_not_committed(small_landing, tmp_path):
    """Files are read twice (rejects, then valid rows): a re-send between listing and
    commit must not mix two deliveries, so the load stops and writes nothing."""
    landing = _copy_landing(small_landing[0], tmp_path / "landing")
    con = connect(tmp_path / "warehouse.duckdb")
    load_feed(con, str(landing), "clinics", TEST_PII_KEY.encode(), "crm")
    partitions = [p for p in list_partitions(str(landing), "orders") if p.complete][:3]
    rewritten = next(f.path for f in partitions[1].files if f.path.suffix == ".parquet")
    time.sleep(0.01)
    rewritten.write_bytes(rewritten.read_bytes())  # same content, new mtime: a re-send
    with pytest.raises(DeliveryChanged, match="changed while it was being loaded"):
        load_partitions(con, [(p, None) for p in partitions], TEST_PII_KEY.encode(), "mid")
    assert con.execute("select count(*) from raw.orders").fetchone()[0] == 0
    assert (
        con.execute("select count(*) from audit.quarantine where feed = 'orders'").fetchone()[0]
        == 0
    )
    # the next run sees the new delivery and loads it
    load_feed(con, str(landing), "orders", TEST_PII_KEY.encode(), "next")
    assert con.execute("select count(*) from raw.orders").fetchone()[0] > 0
    con.close()


def test_a_late_partition_for_an_old_day_is_loaded(small_landing, tmp_path):
    landing = _copy_landing(small_landing[0], tmp_path / "landing")
    late = sorted((landing / "orders").glob("dt=*/_SUCCESS"))[10].parent
    held_back = tmp_path / "held_back"
    shutil.move(late, held_back)
    con = connect(tmp_path / "warehouse.duckdb")
    load_all(con, landing, "before")
    before = con.execute("select count(*) from raw.orders").fetchone()[0]
    shutil.move(held_back, late)
    result = load_feed(con, str(landing), "orders", TEST_PII_KEY.encode(), "late")
    assert [str(d) for d in result.partitions_loaded] == [late.name[3:]]
    assert con.execute("select count(*) from raw.orders").fetchone()[0] > before
    assert (
        con.execute("select count(*) from raw.orders").fetchone()[0]
        == small_landing[1]["expected_rows"]["orders"]
    )
    con.close()


def test_a_partition_without_success_is_never_read(small_landing, tmp_path):
    landing = _copy_landing(small_landing[0], tmp_path / "landing")
    partition = sorted((landing / "orders").glob("dt=*/_SUCCESS"))[5].parent
    (partition / "_SUCCESS").unlink()
    con = connect(tmp_path / "warehouse.duckdb")
    result = load_feed(con, str(landing), "orders", TEST_PII_KEY.encode(), "no-marker")
    dt = partition.name[3:]
    assert dt in [str(d) for d in result.partitions_skipped_incomplete]
    assert con.execute("select count(*) from raw.orders where _dt = ?", [dt]).fetchone()[0] == 0
    assert (
        con.execute("select count(*) from audit.load_audit where dt = ?", [dt]).fetchone()[0] == 0
    )
    con.close()
