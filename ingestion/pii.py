"""Keyed hashing of personal data (phone, IP, device id).

HMAC-SHA256 with the key from ``YIMEI_PII_KEY``. The same value always gives the
same digest, so repeat-buyer and shared-IP logic keep working on hashes, while
nobody without the key can confirm a guessed phone number.

The hash is computed inside DuckDB (``pii_hash_sql``) so that ingestion hashes
millions of rows vectorised instead of row by row in Python; ``pii_hash`` is the
plain-Python reference the tests compare it against.
"""

from __future__ import annotations

import hashlib
import hmac

_BLOCK = 64  # SHA-256 block size in bytes


def pii_hash(value: str | None, key: bytes) -> str | None:
    if value is None:
        return None
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def _pads(key: bytes) -> tuple[str, str]:
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = bytes(b ^ 0x36 for b in key)
    outer = bytes(b ^ 0x5C for b in key)
    return inner.hex(), outer.hex()


def pii_hash_sql(expr: str, key: bytes) -> str:
    """SQL expression computing HMAC-SHA256(key, expr) as lower-case hex (NULL stays NULL)."""
    inner, outer = _pads(key)
    return (
        f"case when ({expr}) is null then null else "
        f"sha256(unhex('{outer}') || unhex(sha256(unhex('{inner}') || encode({expr})))) end"
    )


# What personal data looks like in a line that could not be parsed into fields: an 11-digit
# mainland mobile number (optionally +86), an IPv4 address, a UUID-shaped device id, and any
# value of a personal JSON key. Matched on the raw text, each is replaced by its keyed hash,
# the same digest its parsed field would get, so an owner can still join it.
_DIGIT_RUN = r"[0-9]+"
_PHONE = r"(86)?1[3-9][0-9]{9}"
_IPV4 = r"[0-9]{1,3}(\.[0-9]{1,3}){3}"
_UUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_PII_KEYS = r'"(buyer_phone|phone|ip|device_id)"\s*:\s*"([^"]*)"'
RAW_TEXT_LIMIT = 10_000  # characters of a rejected line kept, after masking


def mask_pii_sql(expr: str, key: bytes) -> str:
    """SQL expression: the text ``expr`` with every personal value found by pattern
    replaced by its HMAC (``pii_hash_sql``), cut to ``RAW_TEXT_LIMIT`` characters after
    masking (so no cut leaves half a number in clear)."""
    found = (
        f"list_distinct(flatten(["
        f"regexp_extract_all({expr}, '{_PII_KEYS}', 2), "
        f"regexp_extract_all({expr}, '{_UUID}'), "
        f"regexp_extract_all({expr}, '{_IPV4}'), "
        f"list_filter(regexp_extract_all({expr}, '{_DIGIT_RUN}'), "
        f"d -> regexp_full_match(d, '{_PHONE}'))]))"
    )
    masked = (
        f"list_reduce(list_filter({found}, m -> m <> ''), "
        f"(acc, m) -> replace(acc, m, {pii_hash_sql('m', key)}), {expr})"
    )
    return f"left({masked}, {RAW_TEXT_LIMIT})"
