"""A malformed line costs that line, never its file (feeds.md, "What real deliveries look
like"; docs/feeds.md, "Bad lines and bad files").

Each test copies one generated delivery into a fresh landing zone, breaks a few lines of
one file the way upstream systems do (an unquoted comma, an unbalanced quote on the last
line, bytes of the wrong encoding, a truncated JSON line), loads it with the real loader
and checks that every valid row loaded, numbered where it stood, and that every broken
line is in ``audit.quarantine`` with its line number, a reason and its raw text, personal
data masked.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.contract import FEEDS, TABLE_BY_NAME
from ingestion.duck import connect
from ingestion.loader import load_feed
from ingestion.pii import pii_hash
from ingestion.readers import CSV_LINE_READER
from tests.conftest import TEST_PII_KEY

KEY = TEST_PII_KEY.encode()
PHONE = "13912345678"  # planted in broken lines: must arrive hashed, never in clear
IP = "203.0.113.77"
PHONE_LIKE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def _first_partition(landing: Path, manifest: dict, feed: str, has: str) -> Path:
    """The first complete partition of a feed whose file ``has`` is a clean delivery of
    at least 8 lines."""
    bad = {b.get("file") for b in manifest["bad_deliveries"]}
    bad |= {b.get("partition") for b in manifest["bad_deliveries"]}
    return next(
        p
        for p in sorted((landing / feed).glob("dt=*"))
        if (p / has).exists()
        and (p / "_SUCCESS").exists()
        and f"{feed}/{p.name}/{has}" not in bad
        and f"{feed}/{p.name}" not in bad
        and (p / has).read_bytes().count(b"\n") >= 8
    )


def _copy_partition(source: Path, target_root: Path, feed: str) -> Path:
    target = target_root / feed / source.name
    shutil.copytree(source, target)
    return target


def _broken_csv(path: Path, encoding: str) -> dict[int, str]:
    """Break three lines of a CSV file in place; returns data row number -> kind.

    Line 3 gets an unquoted comma and a phone (one field too many), line 5 bytes that are
    valid in no encoding the file could be in, and a last line opens a quote it never
    closes (so it runs to the end of the file)."""
    lines = path.read_bytes().split(b"\n")
    header, rows = lines[0], [line for line in lines[1:] if line]
    assert len(rows) >= 6, path
    bad_bytes = b"\xff\xfe\x80" if encoding == "utf-8" else b"\x80\xff"
    rows[2] = rows[2] + f",含逗号的备注 {PHONE}".encode(encoding)
    fields = rows[4].split(b",")
    rows[4] = b",".join([fields[0], fields[1] + bad_bytes, *fields[2:]])
    fields = rows[-1].split(b",")
    rows.append(b",".join([fields[0], b'"' + fields[1], *fields[2:]]) + f",{IP}".encode())
    path.write_bytes(b"\n".join([header, *rows]) + b"\n")
    return {3: "too many columns", 5: "invalid encoding", len(rows): "unquoted value"}


def _valid_rows_in_file(path: Path, encoding: str, broken: dict[int, str]) -> list[list[str]]:
    lines = path.read_bytes().split(b"\n")[1:]
    return [
        line.decode(encoding).split(",")
        for number, line in enumerate(lines, start=1)
        if line and number not in broken
    ]


def _quarantined(con, table: str) -> dict[int, tuple[str, str | None, str | None]]:
    return {
        row: (reason, raw, record)
        for row, reason, raw, record in con.execute(
            "select row_number, reason, raw_line, record from audit.quarantine "
            "where table_name = ? and row_number is not null",
            [table],
        ).fetchall()
    }


def _check_masked(raw: str) -> None:
    assert not PHONE_LIKE.search(raw), raw
    assert IP not in raw, raw


CSV_CASES = [
    ("clinics", "clinics", "clinics.csv", "utf-8"),
    ("clinics", "doctors", "doctors.csv", "utf-8"),
    ("registry", "institutions", "institutions.csv", "gbk"),
    ("registry", "practitioners", "practitioners.csv", "gbk"),
    ("registry", "products", "products.csv", "gbk"),
]


@pytest.mark.parametrize(("feed", "table", "file_name", "encoding"), CSV_CASES)
def test_csv_loads_every_valid_row_and_quarantines_each_broken_line(
    tmp_path, small_landing, feed, table, file_name, encoding
):
    source, manifest = small_landing
    partition = _copy_partition(
        _first_partition(source, manifest, feed, file_name), tmp_path / "landing", feed
    )
    path = partition / file_name
    broken = _broken_csv(path, encoding)
    valid = _valid_rows_in_file(path, encoding, broken)
    con = connect(tmp_path / "warehouse.duckdb")
    load_feed(con, str(tmp_path / "landing"), feed, KEY, "run-1")

    key = TABLE_BY_NAME[table].columns[0].name
    loaded = dict(con.execute(f"select {key}, _row_number from raw.{table}").fetchall())
    assert len(loaded) == len(valid), "every valid row loads"
    quarantined = _quarantined(con, table)
    assert set(quarantined) == set(broken), "each broken line is one quarantine row"
    for number, kind in broken.items():
        reason, raw, record = quarantined[number]
        assert reason.startswith("malformed CSV line") and kind in reason, reason
        assert raw, "the raw text of the line is kept"
        assert record is None
        _check_masked(raw)
    assert pii_hash(PHONE, KEY) in quarantined[3][1], "the phone is replaced by its hash"
    assert pii_hash(IP, KEY) in quarantined[max(broken)][1]
    # valid rows keep the number of the line they stood on
    lines = path.read_bytes().split(b"\n")[1:]
    for number, line in enumerate(lines, start=1):
        if line and number not in broken:
            first_field = line.decode(encoding).split(",")[0]
            assert loaded[first_field] == number, (first_field, number)
    status = con.execute(
        "select file_status, rows_read, rows_loaded, rows_quarantined from audit.load_audit "
        "where source_file = ?",
        [f"{feed}/{partition.name}/{file_name}"],
    ).fetchone()
    assert status == ("partly_quarantined", len(valid) + 3, len(valid), 3)
    con.close()


def test_orders_csv_loads_every_valid_row(tmp_path, small_landing):
    """Orders arrive as CSV too; one line with an unquoted comma inside ``fee_items`` used
    to cost the whole day."""
    source, manifest = small_landing
    landing = tmp_path / "landing"
    for crm in sorted((source / "clinics").glob("dt=*")):
        _copy_partition(crm, landing, "clinics")
    partition = _first_partition(source, manifest, "orders", "part-0000.parquet")
    target = landing / "orders" / partition.name
    target.mkdir(parents=True)
    (target / "_SUCCESS").touch()
    frame = pl.read_parquet(partition / "part-0000.parquet").head(50)
    path = target / "part-0000.csv"
    frame.write_csv(path)
    lines = path.read_bytes().split(b"\n")
    header, rows = lines[0], [line for line in lines[1:] if line]
    # fee_items is JSON with commas: quoted in the CSV. Drop the quotes of line 4's.
    rows[3] = rows[3].replace(b'"{', b"{").replace(b'}"', b"}").replace(b'""', b'"')
    rows[9] = rows[9] + b"\xff"
    path.write_bytes(b"\n".join([header, *rows]) + b"\n")
    con = connect(tmp_path / "warehouse.duckdb")
    for feed in ("clinics", "orders"):
        load_feed(con, str(landing), feed, KEY, "run-1")
    loaded = con.execute("select count(*) from raw.orders").fetchone()[0]
    quarantined = _quarantined(con, "orders")
    assert set(quarantined) == {4, 10}
    assert (
        loaded
        + con.execute(
            "select count(*) from audit.quarantine where table_name = 'orders' "
            "and row_number not in (4, 10)"
        ).fetchone()[0]
        == len(rows) - 2
    ), "every other line loads (or fails a rule of its own)"
    for reason, raw, _ in quarantined.values():
        assert reason.startswith("malformed CSV line")
        _check_masked(raw)
    phones = [p for p in frame["buyer_phone"].to_list() if p]
    raw_text = " ".join(raw for _, raw, _ in quarantined.values())
    assert not any(p in raw_text for p in phones), "buyer phones are masked in the raw text"
    con.close()


def test_jsonl_loads_every_valid_line_and_keeps_broken_ones(tmp_path, small_landing):
    source, manifest = small_landing
    partition = _copy_partition(
        _first_partition(source, manifest, "reviews", "part-0000.jsonl"),
        tmp_path / "landing",
        "reviews",
    )
    path = partition / "part-0000.jsonl"
    lines = [line for line in path.read_bytes().split(b"\n") if line]
    assert len(lines) >= 6
    lines[1] = lines[1][: len(lines[1]) // 2]  # truncated mid-object
    lines[3] = f"not json at all, call {PHONE} from {IP}".encode()
    lines[4] = lines[4].replace(b'"text":"', b'"text":"\xff\xfe')  # invalid UTF-8
    path.write_bytes(b"\n".join(lines) + b"\n")
    con = connect(tmp_path / "warehouse.duckdb")
    load_feed(con, str(tmp_path / "landing"), "reviews", KEY, "run-1")

    loaded = con.execute("select count(*) from raw.reviews").fetchone()[0]
    quarantined = _quarantined(con, "reviews")
    assert set(quarantined) == {2, 4, 5}
    assert loaded == len(lines) - 3
    assert "not valid UTF-8" in quarantined[5][0]
    for reason, raw, record in quarantined.values():
        assert reason.startswith("broken JSON line"), reason
        assert raw and record is None
        _check_masked(raw)
    assert pii_hash(PHONE, KEY) in quarantined[4][1]
    # ip and device_id of the truncated line, if they survived the cut, are hashed
    assert '"ip":"' not in quarantined[2][1] or IP not in quarantined[2][1]
    con.close()


def test_all_feeds_declare_their_files():
    """The cases above cover every CSV table of the contract."""
    csv_tables = {
        c.table for tables in FEEDS.values() for c in tables if c.file_format in ("csv", "gbk_csv")
    }
    assert csv_tables == {table for _, table, _, _ in CSV_CASES}


# ---- property: any one line replaced by anything costs only that line ----------------------

HYPOTHESIS = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,  # the same examples every run: the suite is not flaky
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# What breaks CSV readers: quotes (stray, doubled, unbalanced), delimiters, JSON punctuation,
# NUL, a carriage return inside the line, Chinese text, and bytes valid in no encoding.
CSV_TROUBLE = st.lists(
    st.sampled_from(
        [
            '"',
            '""',
            ",",
            "{",
            "}",
            ":",
            "\x00",
            "\r",
            "\t",
            " ",
            "a",
            "9",
            "诊所",
            "\\",
            "'",
            "13912345678",
        ]
    ),
    max_size=40,
).map("".join)


@st.composite
def _replacement(draw, original: bytes, encoding: str) -> bytes:
    """A line in place of ``original``: arbitrary trouble, or the original damaged the way
    upstream systems damage lines (a quote added or removed, a JSON value unquoted, a field
    dropped), with invalid bytes sometimes."""
    text = original.decode(encoding)
    kind = draw(st.sampled_from(["trouble", "quote", "unquote", "drop_field"]))
    if kind == "trouble":
        line = draw(CSV_TROUBLE)
    elif kind == "quote":
        at = draw(st.integers(0, len(text)))
        line = text[:at] + draw(st.sampled_from(['"', '"{"a":1,', ',"'])) + text[at:]
    elif kind == "unquote":
        line = text.replace('""', '"').replace('"', "") + ',{"fee":1,"x":"y"}'
    else:
        fields = text.split(",")
        line = ",".join(fields[:-1] if len(fields) > 1 else [*fields, "extra"])
    data = line.encode(encoding, errors="replace")
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + (b"\xff\xfe\x80" if encoding == "utf-8" else b"\x80\xff") + data[at:]
    return data


def _outcome(con, table: str) -> dict[int, tuple]:
    """Per data line: ('raw', the row as loaded) or ('quarantine', reason)."""
    columns = [
        c
        for (c,) in con.execute(
            "select column_name from duckdb_columns() where schema_name = 'raw' "
            "and table_name = ? and column_name not in ('_run_id', '_loaded_at', '_row_number') "
            "order by column_index",
            [table],
        ).fetchall()
    ]
    outcome: dict[int, list] = {}
    for number, *values in con.execute(
        f"select _row_number, {', '.join(columns)} from raw.{table}"
    ).fetchall():
        outcome.setdefault(number, []).append(("raw", tuple(values)))
    for number, reason in con.execute(
        "select row_number, reason from audit.quarantine where table_name = ? "
        "and row_number is not null",
        [table],
    ).fetchall():
        outcome.setdefault(number, []).append(("quarantine", reason))
    return {number: tuple(sorted(o, key=repr)) for number, o in outcome.items()}


class _CsvDelivery:
    """One clean CSV delivery of a table, loaded once as it came (the baseline)."""

    def __init__(self, root: Path, source: Path, manifest: dict, table: str) -> None:
        self.root, self.table = root, table
        self.landing = root / "landing"
        if table == "orders":  # orders come as CSV too; they resolve against the CRM
            self.feeds = ("clinics", "orders")
            for crm in sorted((source / "clinics").glob("dt=*")):
                _copy_partition(crm, self.landing, "clinics")
            partition = _first_partition(source, manifest, "orders", "part-0000.parquet")
            target = self.landing / "orders" / partition.name
            target.mkdir(parents=True)
            (target / "_SUCCESS").touch()
            self.path = target / "part-0000.csv"
            pl.read_parquet(partition / "part-0000.parquet").head(40).write_csv(self.path)
            self.encoding = "utf-8"
        else:
            feed, _, file_name, self.encoding = next(c for c in CSV_CASES if c[1] == table)
            self.feeds = (feed,)
            partition = _first_partition(source, manifest, feed, file_name)
            self.path = _copy_partition(partition, self.landing, feed) / file_name
        self.clean = self.path.read_bytes()
        self.baseline = self.load()

    def load(self) -> dict[int, tuple]:
        path = self.root / f"w{len(list(self.root.glob('w*.duckdb')))}.duckdb"
        con = connect(path)
        try:
            for feed in self.feeds:
                load_feed(con, str(self.landing), feed, KEY, "run-1")
            return _outcome(con, self.table)
        finally:
            con.close()
            path.unlink()

    def lines(self) -> list[bytes]:
        return self.clean.rstrip(b"\n").split(b"\n")


CSV_TABLES = [table for _, table, _, _ in CSV_CASES] + ["orders"]
_DELIVERIES: dict[str, _CsvDelivery] = {}


@pytest.fixture(params=CSV_TABLES)
def csv_delivery(request, tmp_path_factory, small_landing) -> _CsvDelivery:
    table = request.param
    if table not in _DELIVERIES:
        source, manifest = small_landing
        _DELIVERIES[table] = _CsvDelivery(tmp_path_factory.mktemp(table), source, manifest, table)
    return _DELIVERIES[table]


@HYPOTHESIS
@given(data=st.data())
def test_any_line_replaced_by_anything_costs_only_that_line(csv_delivery, data):
    """Every CSV table: one data line replaced by arbitrary text (stray or unbalanced quotes,
    unquoted JSON, delimiters, NUL, a carriage return, invalid UTF-8 or GBK bytes) leaves every
    other line's outcome exactly as in the clean delivery (loaded with the same values, or
    quarantined for the same reason), and that line is loaded or quarantined, never lost."""
    delivery = csv_delivery
    lines = delivery.lines()
    number = data.draw(st.integers(1, len(lines) - 1), label="line")
    replacement = data.draw(_replacement(lines[number], delivery.encoding), label="replacement")
    broken = [*lines[:number], replacement, *lines[number + 1 :]]
    delivery.path.write_bytes(b"\n".join(broken) + b"\n")
    try:
        outcome = delivery.load()
    finally:
        delivery.path.write_bytes(delivery.clean)
    others = {n: o for n, o in outcome.items() if n != number}
    expected = {n: o for n, o in delivery.baseline.items() if n != number}
    assert others == expected, "every other line as in the clean delivery"
    if replacement.strip(b" \t\r"):
        assert number in outcome, "the replaced line is loaded or quarantined, never lost"
        assert len(outcome[number]) == 1
    else:
        assert number not in outcome  # an empty line is no record


def test_a_file_duckdb_cannot_read_is_read_line_by_line(tmp_path, small_landing):
    """A carriage return inside a field stops DuckDB's parser, and a line that is only a
    quote swallows every line after it: the file is read again line by line, the audit says
    so, and every valid row loads."""
    source, manifest = small_landing
    partition = _copy_partition(
        _first_partition(source, manifest, "clinics", "clinics.csv"),
        tmp_path / "landing",
        "clinics",
    )
    lines = (partition / "clinics.csv").read_bytes().rstrip(b"\n").split(b"\n")
    lines[2] = b"C-x,\xe8\xaf\x8a\rx," + PHONE.encode()
    (partition / "clinics.csv").write_bytes(b"\n".join(lines) + b"\n")
    doctors = (partition / "doctors.csv").read_bytes().rstrip(b"\n").split(b"\n")
    doctors.insert(3, b'"')
    (partition / "doctors.csv").write_bytes(b"\n".join(doctors) + b"\n")
    con = connect(tmp_path / "warehouse.duckdb")
    load_feed(con, str(tmp_path / "landing"), "clinics", KEY, "run-1")
    audit = dict(
        con.execute(
            "select table_name, (reader, rows_read, rows_loaded, rows_quarantined) "
            "from audit.load_audit"
        ).fetchall()
    )
    assert audit["clinics"] == (CSV_LINE_READER, len(lines) - 1, len(lines) - 2, 1)
    assert audit["doctors"] == (CSV_LINE_READER, len(doctors) - 1, len(doctors) - 2, 1)
    quarantined = _quarantined(con, "clinics")
    reason, raw, _ = quarantined[2]
    assert reason.startswith("malformed CSV line: unquoted value"), reason
    _check_masked(raw)
    assert pii_hash(PHONE, KEY) in raw
    assert _quarantined(con, "doctors")[3][0].startswith("malformed CSV line: unquoted value")
    con.close()
