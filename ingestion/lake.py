"""The lake: raw tables as Parquet files, for the Spark engine.

``<lake>/raw/<table>/dt=YYYY-MM-DD/part-*.parquet`` holds the rows of one delivery partition
that passed the contract, with the same columns (``_dt``, ``_source_file``, ``_row_number``,
``_run_id``, ``_loaded_at`` included) and the same hashing as the DuckDB ``raw`` tables;
quarantine and audit stay in the warehouse's ``audit`` schema, where the loader writes them in
its transaction. Spark reads the folders as external tables partitioned by ``dt``
(dbt_project/macros/lake.sql).

A chunk's partitions are written into a staging folder first (``<lake>/raw/.staging-…``:
Spark skips names that start with a dot), then each ``dt`` folder is swapped in by rename
just before the audit commits: a reader sees a partition's old files or its new ones, never a
mix. A crash after a swap and before the commit leaves the audit naming the earlier delivery:
the next run loads that partition again and swaps it again, which changes nothing.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import date
from pathlib import Path

import duckdb

from ingestion.duck import sql_literal

AUDIT_TABLES = ("partition_loads",)


def table_dir(lake_dir: Path, table: str) -> Path:
    return lake_dir / "raw" / table


def partition_dir(lake_dir: Path, table: str, dt: date) -> Path:
    return table_dir(lake_dir, table) / f"dt={dt.isoformat()}"


def raw_relation(lake_dir: Path, table: str) -> str | None:
    """The lake's rows of a raw table as a DuckDB relation, or None while it has none."""
    if not any(table_dir(lake_dir, table).glob("dt=*/*.parquet")):
        return None
    pattern = str(table_dir(lake_dir, table) / "dt=*" / "*.parquet")
    return f"read_parquet({sql_literal(pattern)}, hive_partitioning = false, union_by_name = true)"


class LakeChunk:
    """The partitions one loader transaction writes to the lake."""

    def __init__(self, lake_dir: Path, tables: list[str], dts: list[date]) -> None:
        self.lake_dir = lake_dir
        self.tables = tables
        self.dts = dts
        self.staging = lake_dir / "raw" / f".staging-{uuid.uuid4().hex}"
        self._groups = 0

    def write(self, con: duckdb.DuckDBPyConnection, table: str, select_sql: str) -> None:
        """Write the rows of ``select_sql`` (with ``_dt``) under the staging folder, one ``dt=``
        folder per delivery date; several groups of a table share the folders."""
        self._groups += 1
        target = self.staging / table
        target.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"""
            copy (select *, _dt as dt from ({select_sql})) to {sql_literal(str(target))}
            (format parquet, partition_by (dt), compression zstd,
             filename_pattern 'part-g{self._groups}-{{i}}', overwrite_or_ignore true)
            """
        )

    def swap_in(self) -> None:
        """Each partition of the chunk becomes its staged files, or none when all its rows were
        quarantined: the earlier delivery of that ``dt`` is gone either way."""
        trash = self.staging / ".replaced"
        for table in self.tables:
            for dt in self.dts:
                live = partition_dir(self.lake_dir, table, dt)
                staged = self.staging / table / live.name
                if live.exists():
                    trash.mkdir(parents=True, exist_ok=True)
                    live.rename(trash / f"{table}-{live.name}")
                if staged.exists():
                    live.parent.mkdir(parents=True, exist_ok=True)
                    staged.rename(live)

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def export_audit(con: duckdb.DuckDBPyConnection, lake_dir: Path) -> None:
    """The audit tables dbt judges on Spark (GOV-12's partition_loads), copied from the
    warehouse into ``<lake>/audit/<table>/`` and swapped in by rename: small tables, written
    whole before every build, so they are never behind the warehouse."""
    for table in AUDIT_TABLES:
        live = lake_dir / "audit" / table
        staged = live.with_name(f".{table}-{uuid.uuid4().hex}")
        staged.mkdir(parents=True)
        con.execute(
            f"copy audit.{table} to {sql_literal(str(staged / 'part-0.parquet'))} (format parquet)"
        )
        old = live.with_name(f".{table}-old-{uuid.uuid4().hex}")
        if live.exists():
            live.rename(old)
        staged.rename(live)
        shutil.rmtree(old, ignore_errors=True)
