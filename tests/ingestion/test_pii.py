import duckdb
import pytest

from ingestion.pii import pii_hash, pii_hash_sql


@pytest.mark.parametrize("key", [b"k", b"a-much-longer-key-" * 8])
@pytest.mark.parametrize("value", ["13812345678", "203.0.113.7", "中文设备", ""])
def test_sql_hmac_equals_python_hmac(key, value):
    con = duckdb.connect()
    digest = con.execute(f"select {pii_hash_sql('v', key)} from (select ?::varchar as v)", [value])
    assert digest.fetchone()[0] == pii_hash(value, key)


def test_null_stays_null_and_key_matters():
    con = duckdb.connect()
    assert con.execute(f"select {pii_hash_sql('null::varchar', b'k')}").fetchone()[0] is None
    assert pii_hash("13812345678", b"a") != pii_hash("13812345678", b"b")
