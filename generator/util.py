"""Small vectorised helpers shared by the generator modules.

Determinism rules used throughout: every random stream comes from
`rng_for(seed, name)` (so adding a draw in one module never shifts another),
per-entity derived values (phones, IPs, device ids) come from a counter-based
hash of the entity index, and every sort is stable or on a unique key.
"""

from __future__ import annotations

import zlib

import numpy as np
import polars as pl
import pyarrow as pa

from generator.config import UTC_OFFSET


def rng_for(seed: int, name: str) -> np.random.Generator:
    """An independent, reproducible random stream per concern."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode("utf-8"))])


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def splitmix64(x: np.ndarray, salt: int) -> np.ndarray:
    """Counter-based hash: uint64 in, well-mixed uint64 out (vectorised, wraps mod 2**64)."""
    offset = np.uint64(((salt + 1) * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)
    z = x.astype(np.uint64) + offset
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def salt_for(seed: int, name: str) -> int:
    return (int(seed) * 1_000_003 + zlib.crc32(name.encode("utf-8"))) & 0xFFFFFFFF


# --- formatting -------------------------------------------------------------------------

def ts_strings(local_s: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    """ISO 8601 with the +08:00 offset, e.g. 2025-03-01T14:05:00+08:00 (None where null)."""
    values = pl.Series("t", np.asarray(local_s, dtype=np.int64))
    if null is not None:
        values = values.scatter(np.flatnonzero(null), None)
    return pl.from_epoch(values, time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%S+08:00")


def date_strings(days: np.ndarray) -> pl.Series:
    return pl.Series("d", np.asarray(days, dtype=np.int32)).cast(pl.Date).dt.strftime("%Y-%m-%d")


def money_strings(cents: np.ndarray) -> pl.Series:
    """Cents to "1234.50" (two decimals, no thousands separator; non-negative input)."""
    df = pl.DataFrame({"c": np.asarray(cents, dtype=np.int64)})
    return df.select(
        pl.concat_str(
            [(pl.col("c") // 100).cast(pl.String), pl.lit("."),
             (pl.col("c") % 100).cast(pl.String).str.zfill(2)]
        )
    ).to_series()


def decimal_array(cents: np.ndarray) -> pa.Array:
    """decimal128(12,2) Arrow array from integer cents, built from the unscaled values."""
    cents = np.asarray(cents, dtype=np.int64)
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = np.where(cents < 0, -1, 0)
    return pa.Array.from_buffers(
        pa.decimal128(12, 2), len(cents), [None, pa.py_buffer(words.tobytes())]
    )


def timestamp_array(local_s: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """timestamp(us, tz=Asia/Shanghai) from local wall-clock seconds."""
    local_s = np.asarray(local_s, dtype=np.int64)
    micros = (local_s - UTC_OFFSET) * 1_000_000
    if null is not None and null.any():
        micros = np.where(null, 0, micros)
        return pa.array(micros, type=pa.timestamp("us", tz="Asia/Shanghai"), mask=null)
    return pa.array(micros, type=pa.timestamp("us", tz="Asia/Shanghai"))


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def uuid_strings(hi: np.ndarray, lo: np.ndarray) -> pl.Series:
    """Version-4 style UUID strings (8-4-4-4-12 lower-case hex) from two uint64 arrays."""
    hi = np.asarray(hi, dtype=np.uint64)
    lo = np.asarray(lo, dtype=np.uint64)
    # Set the version (4) and variant (10xx) bits so the ids look like uuid4().
    hi = (hi & np.uint64(0xFFFFFFFFFFFF0FFF)) | np.uint64(0x0000000000004000)
    lo = (lo & np.uint64(0x3FFFFFFFFFFFFFFF)) | np.uint64(0x8000000000000000)
    raw = np.empty((len(hi), 16), dtype=np.uint8)
    raw[:, :8] = hi.astype(">u8").view(np.uint8).reshape(-1, 8)
    raw[:, 8:] = lo.astype(">u8").view(np.uint8).reshape(-1, 8)
    nibbles = np.empty((len(hi), 32), dtype=np.uint8)
    nibbles[:, 0::2] = raw >> 4
    nibbles[:, 1::2] = raw & 15
    chars = _HEX[nibbles]
    out = np.full((len(hi), 36), ord("-"), dtype=np.uint8)
    for dst, (a, b) in zip((0, 9, 14, 19, 24), ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32)),
                           strict=True):
        out[:, dst:dst + (b - a)] = chars[:, a:b]
    return pl.Series("u", out.view("S36").ravel()).cast(pl.String)


def ipv4_strings(h: np.ndarray, first_octets: tuple[int, ...]) -> pl.Series:
    """Public-looking IPv4 strings from a hash."""
    h = np.asarray(h, dtype=np.uint64)
    first = np.asarray(first_octets, dtype=np.int64)[(h % np.uint64(len(first_octets))).astype(
        np.int64)]
    b = ((h >> np.uint64(8)) & np.uint64(255)).astype(np.int64)
    c = ((h >> np.uint64(16)) & np.uint64(255)).astype(np.int64)
    d = ((h >> np.uint64(24)) % np.uint64(253)).astype(np.int64) + 1
    df = pl.DataFrame({"a": first, "b": b, "c": c, "d": d})
    return df.select(
        pl.concat_str([pl.col("a"), pl.col("b"), pl.col("c"), pl.col("d")], separator=".")
    ).to_series()


def zero_pad(values: np.ndarray, width: int, prefix: str = "") -> pl.Series:
    """Integers to zero-padded strings with a prefix, e.g. ("C", 6): 12 -> C000012."""
    df = pl.DataFrame({"v": np.asarray(values, dtype=np.int64)})
    return df.select(
        pl.concat_str([pl.lit(prefix), pl.col("v").cast(pl.String).str.zfill(width)])
    ).to_series()


# --- sampling ---------------------------------------------------------------------------

def weighted_sample(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """k distinct indices drawn with probability proportional to weights (Efraimidis-Spirakis),
    returned in ascending order. O(n); fine for millions of candidates."""
    weights = np.asarray(weights, dtype=np.float64)
    n = len(weights)
    if k >= n:
        return np.arange(n)
    u = rng.random(n)
    keys = np.where(weights > 0, np.log(np.maximum(u, 1e-300)) / np.maximum(weights, 1e-300),
                    -np.inf)
    top = np.argpartition(-keys, k - 1)[:k]
    return np.sort(top)


def largest_remainder(total: int, weights: np.ndarray, minimum: int = 0) -> np.ndarray:
    """Split an integer total proportionally to weights, each share >= minimum."""
    weights = np.asarray(weights, dtype=np.float64)
    base = np.full(len(weights), minimum, dtype=np.int64)
    rest = total - base.sum()
    if rest <= 0:
        return base
    exact = weights / weights.sum() * rest
    floor = np.floor(exact).astype(np.int64)
    short = rest - floor.sum()
    order = np.argsort(-(exact - floor), kind="stable")
    floor[order[:short]] += 1
    return base + floor


def categorical_sample(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of a (n, k) probability matrix (rows need not be normalised)."""
    probs = np.asarray(probs, dtype=np.float64)
    cdf = np.cumsum(probs, axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random(len(probs))[:, None]
    return np.minimum((u > cdf).sum(axis=1), probs.shape[1] - 1)


_VOCAB_CACHE: dict[tuple[int, int], tuple[list, pl.Series]] = {}


def lookup(vocab: list, idx: np.ndarray) -> pl.Series:
    """vocab[idx] as a String Series; idx -1 gives null. Vocabularies are cached by identity
    and length (they only ever grow by appending)."""
    key = (id(vocab), len(vocab))
    cached = _VOCAB_CACHE.get(key)
    if cached is None or cached[0] is not vocab:
        cached = (vocab, pl.Series("v", list(vocab) + [None], dtype=pl.String))
        _VOCAB_CACHE[key] = cached
    idx = np.asarray(idx, dtype=np.int64)
    return cached[1].gather(np.where(idx < 0, len(vocab), idx))
