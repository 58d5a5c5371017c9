"""The DuckDB warehouse: one file holding every zone's tables.

Extends dagster-duckdb's resource so that a connection is closed even when the asset
body raises (the upstream context manager leaks it, keeping the file locked), so that only
lock conflicts are retried, with a bounded backoff, so that running out of DuckDB's
memory limit says which setting to raise, and so that on the lake a step whose commit
conflicted with another writer's is run again (its transaction rolled back whole).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import Field

from medallion.lake.catalog import is_conflict, is_lake_target, open_lake

SESSION_TIME_ZONE = "UTC"
LOCK_ERROR_MARKERS = ("Could not set lock", "Conflicting lock", "database is locked")
MAX_LOCK_POLL_S = 0.25
"""The longest pause between attempts to open a file another process holds: steps of two
products running side by side hold it for fractions of a second, so a longer pause is
mostly time the file lies free."""


def is_lock_error(error: BaseException) -> bool:
    """True for the error DuckDB raises when another process holds the file."""
    return any(marker in str(error) for marker in LOCK_ERROR_MARKERS)


def connect(
    database: str | Path,
    *,
    read_only: bool = False,
    config: dict | None = None,
    lock_timeout_s: float = 120.0,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, waiting with exponential backoff while another process holds it.

    The session time zone is fixed to UTC, so no result depends on the machine's zone.
    A `ducklake:` target opens the lake profile's catalog instead of a file (medallion.lake).
    """
    if is_lake_target(database):
        connection = open_lake(str(database), read_only=read_only, config=config)
        connection.execute(f"SET TimeZone = '{SESSION_TIME_ZONE}'")
        return connection
    if str(database) != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + lock_timeout_s
    delay = 0.05
    while True:
        try:
            connection = duckdb.connect(str(database), read_only=read_only, config=config or {})
            connection.execute(f"SET TimeZone = '{SESSION_TIME_ZONE}'")
            return connection
        except duckdb.IOException as error:
            if not is_lock_error(error) or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, MAX_LOCK_POLL_S)


class WarehouseResource(DuckDBResource):
    """Every zone of every product, one schema per product and zone: a DuckDB file, or in the
    lake profile a DuckLake catalog (`database` = `ducklake:postgres:<conninfo>`)."""

    lock_timeout_s: float = Field(
        default=120.0, description="How long to wait for another writer before failing."
    )
    conflict_retries: int = Field(
        default=5,
        description="Lake profile: how often a step whose commit conflicted with another "
        "writer's is run again (after a random pause of up to conflict_wait_s).",
    )
    conflict_wait_s: float = Field(default=3.0)
    files_beside: str | None = Field(
        default=None,
        description="The path published snapshots and the prediction log sit beside (their "
        "folder's parent): the DuckDB file, or in the lake profile where it would be.",
    )

    @property
    def anchor(self) -> str:
        """The path files kept beside the warehouse are placed relative to."""
        return self.files_beside or self.database

    @contextmanager
    def get_connection(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        conn = connect(
            self.database,
            read_only=read_only,
            config=dict(self.connection_config),
            lock_timeout_s=self.lock_timeout_s,
        )
        try:
            yield conn
        except duckdb.TransactionException as error:
            if not is_conflict(error):
                raise
            raise dg.RetryRequested(
                max_retries=self.conflict_retries,
                seconds_to_wait=random.uniform(0.2, self.conflict_wait_s),
            ) from error
        except duckdb.OutOfMemoryException as error:
            limit = dict(self.connection_config).get("memory_limit", "DuckDB's default")
            raise WarehouseMemoryError(
                f"DuckDB ran out of its memory limit ({limit}) in {self.database}: raise "
                "MEDALLION_DUCKDB_MEMORY_LIMIT (e.g. 2GB; the machine's RAM bounds it) or "
                f"lower MEDALLION_DUCKDB_THREADS. DuckDB said: {error}"
            ) from error
        finally:
            conn.close()


class WarehouseMemoryError(RuntimeError):
    """A warehouse query needed more memory than the configured limit allows."""
