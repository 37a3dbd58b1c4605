"""A landing zone on object storage: a real S3-compatible server on 127.0.0.1 (moto's
server mode), the same generated deliveries, the same result as a local folder."""

from __future__ import annotations

import time

import boto3
import pytest
from moto.server import ThreadedMotoServer

from ingestion.contract import FEEDS
from ingestion.duck import connect
from ingestion.loader import load_feed
from tests.conftest import TEST_PII_KEY, free_port

BUCKET = "yimei-landing"
PREFIX = "deliveries"


@pytest.fixture(scope="module")
def s3_server():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_landing(s3_server, small_landing, monkeypatch, tmp_path):
    landing, manifest = small_landing
    for name, value in {
        "AWS_ENDPOINT_URL": s3_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "YIMEI_DATA_DIR": str(tmp_path / "data"),
    }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    for path in sorted(p for p in landing.rglob("*") if p.is_file()):
        client.put_object(
            Bucket=BUCKET,
            Key=f"{PREFIX}/{path.relative_to(landing).as_posix()}",
            Body=path.read_bytes(),
        )
    yield f"s3://{BUCKET}/{PREFIX}", client, manifest
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _load_all(con, landing: str, run_id: str) -> dict:
    return {feed: load_feed(con, landing, feed, TEST_PII_KEY.encode(), run_id) for feed in FEEDS}


def test_s3_landing_loads_like_a_local_folder(s3_landing, tmp_path):
    landing, client, manifest = s3_landing
    con = connect(tmp_path / "warehouse.duckdb")
    try:
        _load_all(con, landing, "s3-1")
        for table, expected in manifest["expected_rows"].items():
            assert con.execute(f"select count(*) from raw.{table}").fetchone()[0] == expected
        quarantined_files = {
            r[0]
            for r in con.execute(
                "select source_file from audit.quarantine where row_number is null"
            ).fetchall()
        }
        expected_files = {
            b["file"] for b in manifest["bad_deliveries"] if b["expect"] == "quarantine_file"
        }
        assert expected_files <= quarantined_files

        # Loading again reads nothing: S3 sizes and modification times identify deliveries.
        again = _load_all(con, landing, "s3-2")
        assert all(not r.partitions_loaded and not r.partitions_replaced for r in again.values())

        # A re-send (new file, new _SUCCESS) replaces that delivery date exactly.
        dt = manifest["partitions"]["clinics"][-1]
        key = f"{PREFIX}/clinics/dt={dt}/clinics.csv"
        body = client.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode("utf-8")
        header, *rows = body.splitlines()
        time.sleep(1.1)  # S3 modification times have one-second resolution
        client.put_object(Bucket=BUCKET, Key=key, Body=("\n".join([header, *rows[:5]]) + "\n"))
        client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/clinics/dt={dt}/_SUCCESS", Body=b"")
        resent = load_feed(con, landing, "clinics", TEST_PII_KEY.encode(), "s3-3")
        assert [str(d) for d in resent.partitions_replaced] == [dt]
        assert (
            con.execute("select count(*) from raw.clinics where _dt = ?", [dt]).fetchone()[0] == 5
        )
    finally:
        con.close()
