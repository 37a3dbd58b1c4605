"""Discover delivery partitions in the landing zone (feeds.md, "Landing zone")."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

SUCCESS_MARKER = "_SUCCESS"
_PARTITION_DIR = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class LandedFile:
    path: Path
    relative: str  # relative to the landing root, forward slashes
    size: int
    mtime_ns: int

    def sha256(self) -> str:
        digest = hashlib.sha256()
        with self.path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()


@dataclass(frozen=True)
class Partition:
    feed: str
    dt: date
    path: Path
    complete: bool
    files: tuple[LandedFile, ...]

    @property
    def key(self) -> str:
        return f"{self.feed}/dt={self.dt.isoformat()}"

    def quick_fingerprint(self) -> str:
        """Cheap identity of a delivery: names, sizes and mtimes, marker included.

        A re-send rewrites the files and the `_SUCCESS` marker, so this changes;
        when it does not, the partition is known and is not read again.
        """
        parts = [f"{f.relative}:{f.size}:{f.mtime_ns}" for f in self.files]
        marker = self.path / SUCCESS_MARKER
        parts.append(f"{SUCCESS_MARKER}:{marker.stat().st_mtime_ns if marker.exists() else 0}")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def list_partitions(landing_dir: str | Path, feed: str) -> list[Partition]:
    """All `dt=` folders of a feed, oldest first, complete or not."""
    root = Path(landing_dir)
    feed_dir = root / feed
    if not feed_dir.is_dir():
        return []
    partitions = []
    for child in sorted(feed_dir.iterdir()):
        match = _PARTITION_DIR.match(child.name)
        if not child.is_dir() or not match:
            continue
        files = tuple(
            LandedFile(
                path=f,
                relative=f.relative_to(root).as_posix(),
                size=f.stat().st_size,
                mtime_ns=f.stat().st_mtime_ns,
            )
            for f in sorted(child.iterdir())
            if f.is_file() and f.name != SUCCESS_MARKER and not f.name.startswith(".")
        )
        partitions.append(
            Partition(
                feed=feed,
                dt=date.fromisoformat(match.group(1)),
                path=child,
                complete=(child / SUCCESS_MARKER).is_file(),
                files=files,
            )
        )
    return partitions
