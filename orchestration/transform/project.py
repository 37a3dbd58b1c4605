"""The dbt project, defined once for the whole code location."""

from __future__ import annotations

import hashlib
import json
import os
import pprint
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from dagster_dbt import DbtProject

from ingestion.contract import COMPLAINT_TYPES, FEEDS
from ingestion.settings import DBT_PROJECT_DIR
from quality.published import PUBLISHED_MART_MODELS
from quality.rules import rule_parameters

# dagster-dbt runs the `dbt` found on PATH. dbt is installed beside this interpreter
# (`.venv/bin`), which is not on PATH when `.venv/bin/yimei` is called directly.
_interpreter_bin = str(Path(sys.executable).parent)
if _interpreter_bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _interpreter_bin + os.pathsep + os.environ.get("PATH", "")


def project_vars(**extra: Any) -> dict[str, Any]:
    """dbt's vars: every rule's parameters from the catalogue (quality/rules.py), read in SQL
    through the ``rule_parameter`` macro, the feeds and complaint types of the contract and
    the published marts that GOV-11 guards (quality/published.py) (``project_var``).
    They are the same on every run, so dbt keeps its partial parse; the run date travels as
    YIMEI_AS_OF for the same reason."""
    return {
        "rule_parameters": rule_parameters(),
        "feeds": list(FEEDS),
        "complaint_types": list(COMPLAINT_TYPES),
        "published_marts": list(PUBLISHED_MART_MODELS),
        **extra,
    }


def dbt_args(command: str, *args: str, target: str | None = None, **extra_vars: Any) -> list[str]:
    """The one place that builds a dbt command line: the pipeline, the parse on load, the
    tests and the SQL linter (``python -m orchestration.transform.project``) go through it.
    ``target`` is the engine's profiles.yml target (Settings.dbt_target); none: the default."""
    targeted = ["--target", target] if target else []
    vars_json = json.dumps(project_vars(**extra_vars), sort_keys=True)
    return [command, *args, *targeted, "--vars", vars_json]


yimei_dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    prepare_project_cli_args=dbt_args("parse", "--quiet"),
)


def ensure_manifest() -> None:
    """Parse the project when its manifest is missing or older than the models.

    dagster-dbt needs ``target/manifest.json`` to build the asset graph; parsing
    takes seconds and needs no database, so it runs on load instead of being a
    separate setup step a user could forget.
    """
    manifest = yimei_dbt_project.manifest_path
    sources = [
        p
        for folder in ("models", "seeds", "macros", "snapshots", "tests")
        for p in (DBT_PROJECT_DIR / folder).rglob("*")
        if p.is_file()
    ] + [DBT_PROJECT_DIR / "dbt_project.yml"]
    newest = max(p.stat().st_mtime for p in sources)
    if not manifest.exists() or manifest.stat().st_mtime < newest:
        yimei_dbt_project.preparer.prepare(yimei_dbt_project)


PARTIAL_PARSE = "partial_parse.msgpack"


def profile_hash(target: str | None) -> str:
    """dbt's hash of the profile's connection info for ``target`` under this process's
    environment: the one ``dbt build`` will compute (ManifestLoader.build_manifest_state_check
    in dbt-core 1.11: the sorted (key, value) pairs of ``credentials.connection_info()``)."""
    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt.contracts.files import FileHash
    from dbt_common.context import set_invocation_context

    set_invocation_context(os.environ)
    raw = read_profile(str(DBT_PROJECT_DIR))["yimei"]
    target_name, rendered = Profile.render_profile(raw, "yimei", target, ProfileRenderer({}))
    credentials = Profile._credentials_from_profile(rendered, "yimei", target_name)
    connection = sorted(credentials.connection_info())
    return FileHash.from_contents(pprint.pformat(connection)).checksum


# The environment variables the profile reads: its connection info, hence dbt's profile hash.
PROFILE_ENV = re.compile(r"env_var\('([A-Za-z0-9_]+)'")


def _keyed_stamp(saved: Path, target: str | None) -> str:
    """What the profile hash of ``saved`` was last checked against: the file as it was then,
    the target, the profile and the values of the variables it reads."""
    profile = (DBT_PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8")
    env = [(name, os.environ.get(name)) for name in sorted(set(PROFILE_ENV.findall(profile)))]
    stat = saved.stat()
    key = (stat.st_mtime_ns, stat.st_size, str(saved.resolve()), target, profile, env)
    return hashlib.sha256(repr(key).encode("utf-8")).hexdigest()


def keep_partial_parse(target_dir: Path, target: str | None) -> None:
    """Let dbt reuse the project's parse in a warehouse's own target folder.

    dbt keeps a partial parse only for the same profile hash, and the hash covers the values
    of the connection info: the warehouse's path and temp directory. So the first build of
    every new data directory (each `yimei run` of the test suite, a restored backup) parsed the
    whole project again: 3.6 s of CPU of a tiny run's 25 s (py-spy, stop 33). Those values are
    read when dbt connects, never while it parses (no model, macro or config reads
    ``target.path``; the schema, the one connection value the project reads, is the same
    everywhere), so the parse of the project (or the folder's own, if it moved) is re-keyed
    to this warehouse's profile hash. dbt still checks everything else (its version, the vars,
    the target, every file's checksum) and parses again what changed."""
    saved = target_dir / PARTIAL_PARSE
    if not saved.exists():
        source = yimei_dbt_project.project_dir / yimei_dbt_project.target_path / PARTIAL_PARSE
        if not source.exists():
            return
        target_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, saved)
    # A day's build finds the parse its last build left, checked then: reading it and
    # computing the hash again cost 0.3 s of an S day (py-spy). A wrong stamp costs only a
    # full parse, never a wrong build: dbt checks the hash itself.
    stamp = saved.with_suffix(".keyed")
    if stamp.exists() and stamp.read_text(encoding="utf-8") == _keyed_stamp(saved, target):
        return
    import msgpack

    try:
        state = msgpack.unpackb(saved.read_bytes(), raw=False, strict_map_key=False)
    except (ValueError, msgpack.UnpackException):  # cut short: dbt would not read it either
        saved.unlink()
        return
    check = state.get("state_check", {}).get("profile_hash", {})
    current = profile_hash(target)
    if check.get("checksum") not in (None, current):
        check["checksum"] = current
        staged = saved.with_suffix(".rekeyed")
        staged.write_bytes(msgpack.packb(state, use_bin_type=True))
        staged.replace(saved)
    note_partial_parse(target_dir, target)


def note_partial_parse(target_dir: Path, target: str | None) -> None:
    """After a dbt invocation: the parse it left is keyed to this profile (dbt wrote it, or
    keep_partial_parse checked it), so the next build need not read it again."""
    saved = target_dir / PARTIAL_PARSE
    if saved.exists():
        saved.with_suffix(".keyed").write_text(_keyed_stamp(saved, target), encoding="utf-8")


def sqlfluff_config() -> str:
    """sqlfluff's dbt templater gets dbt's vars from its ``context`` section; nested values
    travel as JSON text, which the ``rule_parameter`` macro decodes."""
    lines = ["[sqlfluff:templater:dbt:context]"]
    lines += [
        f"{name} = {json.dumps(value, ensure_ascii=False)}"
        for name, value in project_vars().items()
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(sqlfluff_config(), end="")
