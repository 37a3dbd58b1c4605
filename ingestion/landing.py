"""Discover delivery partitions in the landing zone (feeds.md, "Landing zone").

The landing root is a local folder or an object-store URL (``s3://bucket/prefix``).
Both are listed through pyarrow's filesystem layer; files of a remote landing zone
are fetched into a local cache only when they are read, so listing a year of
deliveries costs one listing, not a download. An S3-compatible endpoint other than
AWS is given by the standard ``AWS_ENDPOINT_URL`` variable, credentials by the
usual ``AWS_*`` variables.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow.fs as pafs

SUCCESS_MARKER = "_SUCCESS"
_PARTITION_DIR = re.compile(r"dt=(\d{4}-\d{2}-\d{2})")  # fullmatch: no trailing newline


def is_remote(landing_dir: str | Path) -> bool:
    return "://" in str(landing_dir)


def landing_filesystem(landing_dir: str | Path) -> tuple[pafs.FileSystem, str]:
    """The filesystem of a landing root (or of one file's URL) and the path inside it."""
    if not is_remote(landing_dir):
        return pafs.LocalFileSystem(), str(Path(landing_dir).resolve())
    url = str(landing_dir)
    if url.startswith("s3://"):
        return _s3(os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("AWS_DEFAULT_REGION")), url[
            len("s3://") :
        ].rstrip("/")
    return pafs.FileSystem.from_uri(url)


@functools.cache
def _s3(endpoint: str | None, region: str | None) -> pafs.S3FileSystem:
    options = {}
    if endpoint:
        scheme, _, host = endpoint.partition("://")
        options = {"endpoint_override": host, "scheme": scheme}
    return pafs.S3FileSystem(region=region or "us-east-1", **options)


def default_cache_dir() -> Path:
    return Path(os.environ.get("YIMEI_DATA_DIR", "data")) / "landing_cache"


@dataclass(frozen=True)
class LandedFile:
    path: Path  # where the file is read from: the file itself, or its local cached copy
    relative: str  # relative to the landing root, forward slashes
    size: int
    mtime_ns: int
    remote: str | None = None  # the object's URL when the landing zone is remote
    # A local file whose real path (links resolved) lies outside the landing root: it is
    # listed, so the audit shows it, but never opened.
    outside_root: bool = False

    def fetch(self) -> Path:
        """The file as a local path, copied from the object store once per version."""
        if self.remote is None:
            return self.path
        stamp = self.path.with_name(self.path.name + ".fetched")
        version = f"{self.size}:{self.mtime_ns}"
        if self.path.exists() and stamp.exists() and stamp.read_text() == version:
            return self.path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        filesystem, path = landing_filesystem(self.remote)
        with filesystem.open_input_stream(path) as source, partial.open("wb") as target:
            while chunk := source.read(1 << 20):
                target.write(chunk)
        partial.replace(self.path)
        stamp.write_text(version)
        return self.path

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
    files: tuple[LandedFile, ...]
    marker_mtime_ns: int | None  # the `_SUCCESS` marker's mtime; None while incomplete

    @property
    def complete(self) -> bool:
        return self.marker_mtime_ns is not None

    @property
    def key(self) -> str:
        return f"{self.feed}/dt={self.dt.isoformat()}"

    def quick_fingerprint(self) -> str:
        """Cheap identity of a delivery: names, sizes and mtimes, marker included.

        A re-send rewrites the files and the `_SUCCESS` marker, so this changes;
        when it does not, the partition is known and is not read again.
        """
        parts = [f"{f.relative}:{f.size}:{f.mtime_ns}" for f in self.files]
        parts.append(f"{SUCCESS_MARKER}:{self.marker_mtime_ns or 0}")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _inside(root: str, path: str) -> bool:
    """Whether ``path``, every link on the way resolved, lies under ``root`` (resolved)."""
    return os.path.realpath(path).startswith(root.rstrip("/") + "/")


def list_partitions(
    landing_dir: str | Path, feed: str, cache_dir: Path | None = None
) -> list[Partition]:
    """All `dt=` folders of a feed, oldest first, complete or not."""
    filesystem, root = landing_filesystem(landing_dir)
    remote = is_remote(landing_dir)
    scheme = str(landing_dir).split("://")[0]
    cache = (cache_dir or default_cache_dir()).resolve()
    feed_dir = f"{root}/{feed}"
    if filesystem.get_file_info(feed_dir).type != pafs.FileType.Directory:
        return []
    by_dt: dict[date, list[pafs.FileInfo]] = {}
    for info in filesystem.get_file_info(pafs.FileSelector(feed_dir, recursive=True)):
        parts = info.path[len(feed_dir) + 1 :].split("/")
        match = _PARTITION_DIR.fullmatch(parts[0])
        if match and len(parts) == 2 and info.type == pafs.FileType.File:
            by_dt.setdefault(date.fromisoformat(match.group(1)), []).append(info)
        elif match and len(parts) == 1:
            by_dt.setdefault(date.fromisoformat(match.group(1)), [])
    partitions = []
    for dt, infos in sorted(by_dt.items()):
        marker = next((i for i in infos if i.base_name == SUCCESS_MARKER), None)
        files = []
        for info in sorted(infos, key=lambda i: i.base_name):
            if info.base_name == SUCCESS_MARKER or info.base_name.startswith("."):
                continue
            relative = info.path[len(root) + 1 :]
            outside = not remote and not _inside(root, info.path)
            files.append(
                LandedFile(
                    path=(cache / relative) if remote else Path(info.path),
                    relative=relative,
                    size=info.size,
                    mtime_ns=info.mtime_ns or 0,
                    remote=f"{scheme}://{info.path}" if remote else None,
                    outside_root=outside,
                )
            )
        partitions.append(
            Partition(
                feed=feed,
                dt=dt,
                files=tuple(files),
                marker_mtime_ns=(marker.mtime_ns or 0) if marker else None,
            )
        )
    return partitions
