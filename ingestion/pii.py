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
