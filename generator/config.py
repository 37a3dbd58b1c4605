"""Generator configuration, its command-line form, and the timeline derived from it."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from generator.reference import CITIES

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _today_in_shanghai() -> date:
    # The only wall-clock read of the generator: the default run date. Pass
    # `as_of` explicitly for reproducible output.
    return datetime.now(SHANGHAI).date()


def since_last_new_year(as_of: date) -> int:
    """The default history, in days: from 1 January of the year before ``as_of``, so that the
    sample holds the last full calendar year (a blue-book year of twelve months) and the
    current year to date."""
    return (as_of - date(as_of.year - 1, 1, 1)).days


@dataclass
class SampleConfig:
    """Everything that shapes a generated landing zone. Same config, same bytes.

    `as_of` may be set to None (the CLI does so to fill it in from its own
    settings); `generate` then uses today's date in Asia/Shanghai.
    """

    seed: int = 42
    as_of: date | None = field(default_factory=_today_in_shanghai)
    cities: int = 12
    clinics: int = 200
    doctors_per_clinic: int = 5
    days: int | None = None  # None: since_last_new_year(as_of)
    orders: int = 40_000
    reviews: int = 12_000
    snapshot_interval_days: int = 30
    violation_rate: float = 0.02
    bad_delivery: bool = True
    inject_stale_feed: bool = False
    inject_volume_drop: bool = False
    inject_pii_leak: bool = False
    manifest_path: Path | None = None

    def __post_init__(self) -> None:
        self._normalise()
        self.validate()

    def _normalise(self) -> None:
        if isinstance(self.as_of, datetime):
            self.as_of = self.as_of.date()
        elif isinstance(self.as_of, str):
            self.as_of = date.fromisoformat(self.as_of)
        if isinstance(self.manifest_path, str):
            self.manifest_path = Path(self.manifest_path)
        if self.days is None and self.as_of is not None:
            self.days = since_last_new_year(self.as_of)

    def validate(self) -> None:
        problems = []
        if not 1 <= self.cities <= len(CITIES):
            problems.append(f"cities must be 1..{len(CITIES)}")
        if self.clinics < 20:
            problems.append("clinics must be >= 20 (every violation kind needs its own clinics)")
        if self.doctors_per_clinic < 1:
            problems.append("doctors_per_clinic must be >= 1")
        if self.days is not None and self.days < 60:
            problems.append("days must be >= 60 (snapshots, rule windows, bad deliveries)")
        if self.orders < 1000:
            problems.append("orders must be >= 1000")
        if self.reviews < 200:
            problems.append("reviews must be >= 200")
        if self.snapshot_interval_days < 1:
            problems.append("snapshot_interval_days must be >= 1")
        if not 0 <= self.violation_rate <= 0.5:
            problems.append("violation_rate must be within 0..0.5")
        if problems:
            raise ValueError("invalid SampleConfig: " + "; ".join(problems))

    def resolved(self) -> SampleConfig:
        """A validated copy with as_of filled in (fields may have been assigned since)."""
        copy = dataclasses.replace(self)
        if copy.as_of is None:
            copy.as_of = _today_in_shanghai()
        if copy.days is None:
            copy.days = since_last_new_year(copy.as_of)
        return copy

    def as_dict(self) -> dict:
        """JSON-ready view of every field (dates ISO, paths as strings)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, Path):
                value = str(value)
            out[f.name] = value
        return out


_HELP = {
    "seed": "random seed; the same config and seed give byte-identical files",
    "as_of": "run date (Asia/Shanghai), YYYY-MM-DD; default today",
    "cities": f"number of cities with clinics (max {len(CITIES)})",
    "clinics": "number of clinics listed on the platform",
    "doctors_per_clinic": "average number of doctors per clinic",
    "days": "history length in days (first order day = as_of - days); default from 1 January "
    "of the year before as_of: the last full calendar year and this year to date",
    "orders": "number of distinct orders",
    "reviews": "approximate number of distinct reviews",
    "snapshot_interval_days": "CRM/registry snapshot every N days (plus the last 3 days)",
    "violation_rate": "share of entities given each governance violation (GOV-01..09)",
    "bad_delivery": "inject every kind of bad delivery (quarantine, dedupe, ...)",
    "inject_stale_feed": "blocking scenario: the reviews feed stops 5 days before as_of (GOV-12)",
    "inject_volume_drop": "blocking scenario: the newest orders partition has ~20%% of its "
    "normal rows (GOV-12)",
    "inject_pii_leak": "blocking scenario: a clear-text mobile number in a clinic's district "
    "(GOV-10)",
    "manifest_path": "write the manifest JSON here (never inside the landing dir)",
}


# Extra option strings per field. `--manifest` is what the yimei CLI reads (args.manifest).
_ALIASES = {"manifest_path": ("--manifest",)}
_DESTS = {"manifest_path": "manifest"}


def cli_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add one `--flag` per SampleConfig field (booleans get `--no-flag` too).

    Unset flags are None and keep the dataclass default. A flag the parser already
    has (the yimei CLI defines its own `--as-of`) is left alone: `config_from_args`
    reads the value under the same name. The manifest path is `--manifest-path`
    (alias `--manifest`), stored as `args.manifest`.
    """
    taken = set(parser._option_string_actions)  # argparse has no public accessor
    for f in dataclasses.fields(SampleConfig):
        flag = "--" + f.name.replace("_", "-")
        strings = [s for s in (flag, *_ALIASES.get(f.name, ())) if s not in taken]
        if flag not in strings:
            continue
        default = f.default if f.default is not dataclasses.MISSING else None
        help_text = _HELP.get(f.name, f.name)
        if default is not None:
            help_text += f" (default {default})"
        dest = _DESTS.get(f.name, f.name)
        if f.type in ("bool", bool):
            parser.add_argument(*strings, dest=dest, action=argparse.BooleanOptionalAction,
                                default=None, help=help_text)
            continue
        kind = {"int": int, "int | None": int, "float": float}.get(str(f.type))
        if f.name == "as_of":
            kind = date.fromisoformat
        elif f.name == "manifest_path":
            kind = Path
        parser.add_argument(*strings, dest=dest, type=kind or str, default=None, help=help_text)
    return parser


def config_from_args(args: argparse.Namespace) -> SampleConfig:
    """A SampleConfig from parsed `cli_args` flags (None = keep the default).

    `as_of` stays None when no date was given, so a caller can fill it in from its
    own settings; `generate` falls back to today (Asia/Shanghai).
    """
    given = {}
    for f in dataclasses.fields(SampleConfig):
        value = getattr(args, _DESTS.get(f.name, f.name), getattr(args, f.name, None))
        if value is not None:
            given[f.name] = value
    given.setdefault("as_of", None)
    return SampleConfig(**given)


EPOCH = date(1970, 1, 1)
DAY = 86_400
UTC_OFFSET = 8 * 3600  # Asia/Shanghai has been UTC+8 without DST since 1991


def day_number(d: date) -> int:
    """Days since 1970-01-01; times are kept as Asia/Shanghai wall-clock seconds."""
    return (d - EPOCH).days


def date_of(day: int) -> date:
    return EPOCH + timedelta(days=int(day))


@dataclass(frozen=True)
class Timeline:
    """Day numbers that every module agrees on.

    All instants are int64 "local seconds": seconds since 1970-01-01 00:00 on the
    Asia/Shanghai wall clock, so the local date of an instant is `s // DAY`.
    """

    start: int  # first order day (as_of - days)
    as_of: int
    snapshots: tuple[int, ...]  # CRM and registry snapshot days, ascending
    reviews_last: int  # last day the reviews feed delivers (as_of, or as_of - 5 when stale)

    @classmethod
    def from_config(cls, cfg: SampleConfig) -> Timeline:
        a = day_number(cfg.as_of)
        start = a - cfg.days
        regular = range(start, a - 3, cfg.snapshot_interval_days)
        snapshots = tuple(sorted(set(regular) | {a - 3, a - 2, a - 1}))
        reviews_last = a - 5 if cfg.inject_stale_feed else a
        return cls(start=start, as_of=a, snapshots=snapshots, reviews_last=reviews_last)

    @property
    def end(self) -> int:
        """End of the run date: nothing may happen at or after this instant."""
        return (self.as_of + 1) * DAY

    @property
    def loaded_end(self) -> int:
        """End of the last complete orders partition (as_of - 1)."""
        return self.as_of * DAY

    @property
    def reviews_loaded_end(self) -> int:
        """End of the last complete reviews partition."""
        return min(self.reviews_last, self.as_of - 1) * DAY + DAY

    @property
    def reviews_written_end(self) -> int:
        """End of the last reviews partition written (complete or not)."""
        return self.reviews_last * DAY + DAY

    @property
    def n_days(self) -> int:
        return self.as_of - self.start + 1
