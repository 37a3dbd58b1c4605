"""Landing zones for the benchmark: generated once per scale and cached, then copied (hard
links) into a working landing zone from which the newest delivery is held back."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from bench.scales import scale_config
from generator import generate
from ingestion.landing import SUCCESS_MARKER, list_partitions

GENERATOR_DIR = Path(__file__).resolve().parent.parent / "generator"
# The feeds whose newest day is held back for the incremental run.
INCREMENTAL_FEEDS = ("orders", "reviews")


def generator_hash() -> str:
    """Hash of the generator's source: a changed generator means new landing zones."""
    digest = hashlib.sha256()
    for path in sorted(GENERATOR_DIR.rglob("*.py")):
        digest.update(path.relative_to(GENERATOR_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class CachedLanding:
    path: Path  # the cached landing zone (never modified once written)
    generation_s: float  # how long generating it took, when it was generated
    cached: bool  # True when this call reused it
    config: dict  # the generator configuration


def cached_landing(scale: str, cache_dir: Path) -> CachedLanding:
    """The landing zone of a scale, generated into `cache_dir` unless already there."""
    config = scale_config(scale)
    key = f"{scale}-seed{config.seed}-{config.as_of.isoformat()}-{generator_hash()}"
    entry = cache_dir / key
    meta_path = entry / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        return CachedLanding(entry / "landing", meta["generation_s"], True, meta["config"])
    if entry.exists():  # an interrupted generation
        shutil.rmtree(entry)
    entry.mkdir(parents=True)
    config.manifest_path = entry / "sample_manifest.json"
    started = time.perf_counter()
    generate(entry / "landing", config)
    elapsed = time.perf_counter() - started
    meta = {"scale": scale, "generation_s": elapsed, "config": config.as_dict()}
    meta_path.write_text(json.dumps(meta, indent=2))  # written last: the entry is complete
    return CachedLanding(entry / "landing", elapsed, False, meta["config"])


def working_copy(source: Path, target: Path) -> Path:
    """A copy of a landing zone made of hard links (cheap at any scale). Files are only ever
    moved or created in the copy, never rewritten in place, so the cache stays intact."""
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copytree(source, target, copy_function=os.link)
    except OSError:  # another filesystem: copy
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target)
    return target


@dataclass(frozen=True)
class HeldPartition:
    feed: str
    dt: str
    landing_dir: Path  # where it belongs
    held_dir: Path  # where it waits meanwhile
    files: int
    bytes: int


def hold_back_newest(landing: Path, held_root: Path) -> list[HeldPartition]:
    """Move the newest complete delivery of orders and reviews out of the landing zone."""
    held = []
    for feed in INCREMENTAL_FEEDS:
        complete = [p for p in list_partitions(landing, feed) if p.complete]
        if not complete:
            raise RuntimeError(f"no complete {feed} partition in {landing}")
        newest = complete[-1]
        source = landing / feed / f"dt={newest.dt.isoformat()}"
        target = held_root / feed / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        source.rename(target)
        held.append(
            HeldPartition(
                feed=feed,
                dt=newest.dt.isoformat(),
                landing_dir=source,
                held_dir=target,
                files=len(newest.files),
                bytes=sum(f.size for f in newest.files),
            )
        )
    return held


def deliver(held: list[HeldPartition]) -> float:
    """Put held partitions back as a new delivery: data files first, then each `_SUCCESS`
    marker written anew, last. Returns the time (epoch seconds) the last marker was written."""
    for part in held:
        part.landing_dir.mkdir(parents=True, exist_ok=True)
        for path in sorted(part.held_dir.iterdir()):
            if path.name != SUCCESS_MARKER:
                path.rename(part.landing_dir / path.name)
    written = 0.0
    for part in held:
        marker = part.held_dir / SUCCESS_MARKER
        if marker.exists():
            marker.unlink()  # a hard link into the cache: replaced, not rewritten
        (part.landing_dir / SUCCESS_MARKER).write_bytes(b"")
        written = time.time()
    return written
