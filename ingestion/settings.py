"""Run settings, read once from the environment (marts.md, "Run interface").

One place decides where the warehouse lives: the Dagster resources, the dbt
profile (through ``YIMEI_DATA_DIR``) and the CLI all take their paths from here.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"

# A development key lets `make run` work out of the box; it is announced loudly
# because hashes made with it are not secret.
DEVELOPMENT_PII_KEY = "yimei-development-key-not-secret"

# Where the transformations and the rules run: DuckDB on this machine (the default), or Apache
# Spark, reading raw Parquet from the lake (docs/scaling.md). Chosen here, once.
ENGINES = ("duckdb", "spark")
ENGINE_ENV = "YIMEI_ENGINE"
# The Spark engine's cluster: unset, Spark runs inside the dbt process (local[*]); a
# spark://host:port master makes dbt build through that cluster's Thrift server and the
# suites run on it (spark_engine/cluster.py, `yimei spark-cluster`).
SPARK_MASTER_ENV = "YIMEI_SPARK_MASTER"
LAKE_DIR_ENV = "YIMEI_LAKE_DIR"


class EngineMismatch(ValueError):
    """A run asked for another engine than the one its data directory was built with."""


def today_in_shanghai() -> date:
    return datetime.now(SHANGHAI).date()


@dataclass(frozen=True)
class Settings:
    landing_dir: str
    data_dir: Path
    as_of: date
    pii_key: bytes = field(repr=False)
    engine: str = "duckdb"
    spark_master: str | None = None

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def serving_path(self) -> Path:
        return self.data_dir / "serving.duckdb"

    @property
    def dbt_target_dir(self) -> Path:
        """dbt's target folder for this warehouse: its artifacts stay beside it."""
        return self.data_dir / "dbt_target"

    @property
    def quality_dir(self) -> Path:
        return self.data_dir / "quality"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def on_spark(self) -> bool:
        return self.engine == "spark"

    @property
    def lake_dir(self) -> Path:
        """The Spark engine's raw tables (Parquet, `dt=` partitions) and audit tables."""
        return Path(os.environ.get(LAKE_DIR_ENV) or self.data_dir / "lake")

    @property
    def spark_dir(self) -> Path:
        """The Spark engine's catalog (metastore_db) and managed tables (warehouse)."""
        return self.data_dir / "spark"

    @property
    def dbt_target(self) -> str | None:
        """The profiles.yml target of the engine; None: the profile's default (DuckDB). Not
        named when it is the default: dbt keeps a partial parse only for the same command-line
        target, and the project's parse on load (orchestration/transform/project.py), from
        which every new warehouse starts (keep_partial_parse), names none."""
        if not self.on_spark:
            return None
        return "spark_thrift" if self.on_spark_cluster else "spark"

    @property
    def on_spark_cluster(self) -> bool:
        return self.on_spark and (self.spark_master or "").startswith("spark://")

    @property
    def landing_is_remote(self) -> bool:
        return "://" in self.landing_dir

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        key = os.environ.get("YIMEI_PII_KEY")
        if not key:
            warnings.warn(
                "YIMEI_PII_KEY is not set: hashing personal data with the public "
                "development key. Set YIMEI_PII_KEY in production.",
                stacklevel=2,
            )
            key = DEVELOPMENT_PII_KEY
        as_of = os.environ.get("YIMEI_AS_OF")
        settings = cls(
            engine=os.environ.get(ENGINE_ENV) or "duckdb",
            spark_master=os.environ.get(SPARK_MASTER_ENV) or None,
            landing_dir=os.environ.get("YIMEI_LANDING_DIR", "data/landing"),
            data_dir=Path(os.environ.get("YIMEI_DATA_DIR", "data")),
            as_of=date.fromisoformat(as_of) if as_of else today_in_shanghai(),
            pii_key=key.encode("utf-8"),
        )
        settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
        if settings.engine not in ENGINES:
            raise ValueError(
                f"{ENGINE_ENV} (or --engine) must be one of {', '.join(ENGINES)}, "
                f"got {settings.engine!r}"
            )
        return settings.resolved()

    def resolved(self) -> Settings:
        landing = self.landing_dir
        if not self.landing_is_remote:
            landing = str(Path(landing).expanduser().resolve())
        data_dir = Path(self.data_dir).expanduser().resolve()
        return replace(self, landing_dir=landing, data_dir=data_dir)

    def claim_engine(self) -> None:
        """A data directory keeps the engine of its first run: the other engine would find
        every delivery loaded (the audit) and none of its rows (raw tables, or the lake)."""
        marker = self.data_dir / "engine"
        if not marker.exists():
            # a warehouse from before the Spark engine was built with DuckDB
            first = "duckdb" if self.warehouse_path.exists() else self.engine
            self.data_dir.mkdir(parents=True, exist_ok=True)
            marker.write_text(first + "\n", encoding="utf-8")
        recorded = marker.read_text(encoding="utf-8").strip()
        if recorded != self.engine:
            raise EngineMismatch(
                f"{self.data_dir} was built with the {recorded} engine; run it with "
                f"--engine {recorded}, or use another --data-dir for {self.engine}"
            )

    def export(self) -> None:
        """Publish the settings to the environment so dbt and Dagster code see the same."""
        os.environ["YIMEI_LANDING_DIR"] = self.landing_dir
        os.environ["YIMEI_DATA_DIR"] = str(self.data_dir)
        os.environ["YIMEI_AS_OF"] = self.as_of.isoformat()
        os.environ[ENGINE_ENV] = self.engine
        # set, empty without a cluster: Dagster's resource reads every one of them
        os.environ[SPARK_MASTER_ENV] = self.spark_master or ""
        # Spark's log configuration for dbt's session (profiles.yml): errors only
        os.environ.setdefault(
            "YIMEI_SPARK_LOG_CONFIG", str(DBT_PROJECT_DIR / "spark_log4j2.properties")
        )
        os.environ.setdefault("YIMEI_PII_KEY", self.pii_key.decode("utf-8"))
        # DuckDB's memory bound and spill folder (ingestion/duck.py), resolved once so that
        # the dbt profile sets the same on its connections.
        from ingestion import duck

        os.environ[duck.MEMORY_LIMIT_ENV] = duck.memory_limit()
        os.environ[duck.TEMP_DIR_ENV] = duck.temp_directory()
