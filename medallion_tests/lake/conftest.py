"""One PostgreSQL server per test run for the lake tests (or the one MEDALLION_PG_URL names),
and a fresh DuckLake catalog per test, its Parquet data under the test's tmp_path."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from medallion.lake import catalog, postgres


@pytest.fixture(scope="session")
def pg_server():
    """Started once, in a temporary folder the server's user can enter, stopped at the end."""
    folder = Path(tempfile.mkdtemp(prefix="medallion-pg-test-"))
    folder.chmod(0o711)
    server = postgres.from_env_or_start(folder / "server")
    yield server
    postgres.stop(server)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_database(pg_server: postgres.Postgres) -> str:
    """A new database of the test's own on the shared server."""
    return pg_server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def lake_target(pg_server: postgres.Postgres, pg_database: str, tmp_path: Path) -> str:
    """A new DuckLake catalog in the test's database, data under tmp_path/lake."""
    target = catalog.postgres_target(pg_server.conninfo(pg_database))
    catalog.create(target, str(tmp_path / "lake"))
    return target
