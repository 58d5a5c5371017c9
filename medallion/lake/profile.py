"""The lake profile's configuration: which catalog, data path, Dagster and MLflow stores.

Read from the environment by `Settings.from_env`; `provision` starts (or reaches) the
PostgreSQL server, creates the databases and the catalog, and returns the environment every
process of the installation needs (the demo applies it to itself; a deployment sets it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROFILE_ENV = "MEDALLION_PROFILE"
CATALOG_ENV = "MEDALLION_LAKE_CATALOG"
DATA_PATH_ENV = "MEDALLION_LAKE_DATA_PATH"
TRACKING_URI_ENV = "MEDALLION_TRACKING_URI"
ARTIFACT_ROOT_ENV = "MEDALLION_ARTIFACT_ROOT"
DAGSTER_PG_ENV = "MEDALLION_DAGSTER_PG_URL"
PG_URL_ENV_NAME = "MEDALLION_PG_URL"

MLFLOW_DRIVER = "postgresql+psycopg2"
"""MLflow takes `postgresql+psycopg://` too, but psycopg 3's pipeline mode logs "pipeline
aborted" on every model registration; psycopg2 is what dagster-postgres needs anyway."""

CATALOG_DATABASE = "medallion_lake"
DAGSTER_DATABASE = "medallion_dagster"
MLFLOW_DATABASE = "medallion_mlflow"


def lake_settings(env: Mapping[str, str], data: Path) -> dict[str, str | None]:
    """The Settings fields of the profile: profile, catalog target (and the variable holding
    it, when one does), data path and the MLflow artifact root. A catalog derived from
    MEDALLION_PG_URL is written into the resource's config: keep its password in ~/.pgpass or
    PGPASSWORD (libpq reads both), or set MEDALLION_LAKE_CATALOG."""
    from medallion.lake.catalog import postgres_target
    from medallion.lake.postgres import from_url

    profile = env.get(PROFILE_ENV) or "local"
    if profile not in ("local", "lake"):
        raise ValueError(f"{PROFILE_ENV}={profile!r}: choose 'local' or 'lake'")
    catalog = env.get(CATALOG_ENV)
    if not catalog and env.get(PG_URL_ENV_NAME):
        catalog = postgres_target(from_url(env[PG_URL_ENV_NAME]).conninfo(CATALOG_DATABASE))
    return {
        "profile": profile,
        "lake_catalog": catalog,
        "lake_catalog_env": CATALOG_ENV if env.get(CATALOG_ENV) else None,
        "lake_data_path": env.get(DATA_PATH_ENV) or str(data / "lake"),
        "artifact_root": env.get(ARTIFACT_ROOT_ENV) or None,
    }


def artifact_root(data_path: str) -> str:
    """MLflow artifacts under the data path (a folder, or the same bucket)."""
    return f"{data_path.rstrip('/')}/mlflow-artifacts"


@dataclass(frozen=True)
class LakeInstallation:
    """A provisioned lake profile: the server and the environment that points at it."""

    server: object
    environment: dict[str, str]

    @property
    def server_data(self) -> Path | None:
        return getattr(self.server, "data_dir", None)


def provision(
    data: Path, dagster_home: Path, environ: Mapping[str, str] | None = None
) -> LakeInstallation:
    """Start or reach PostgreSQL, create the catalog, Dagster and MLflow databases and the
    catalog with its data path, write the lake `dagster.yaml` in `dagster_home`."""
    from medallion.lake import catalog, postgres
    from medallion.lake.instance import write_instance_yaml

    env = dict(os.environ if environ is None else environ)
    server = postgres.from_env_or_start(postgres.server_folder(data / "postgres"), env)
    for name in (CATALOG_DATABASE, DAGSTER_DATABASE, MLFLOW_DATABASE):
        server.create_database(name)
    data_path = env.get(DATA_PATH_ENV) or str(data / "lake")
    target = env.get(CATALOG_ENV) or catalog.postgres_target(server.conninfo(CATALOG_DATABASE))
    catalog.create(target, data_path)
    dagster_url = server.url(DAGSTER_DATABASE, driver="postgresql+psycopg2")
    write_instance_yaml(dagster_home, data)
    environment = {
        PROFILE_ENV: "lake",
        PG_URL_ENV_NAME: server.url(),
        CATALOG_ENV: target,
        DATA_PATH_ENV: data_path,
        TRACKING_URI_ENV: server.url(MLFLOW_DATABASE, driver=MLFLOW_DRIVER),
        ARTIFACT_ROOT_ENV: artifact_root(data_path),
        DAGSTER_PG_ENV: dagster_url,
        "DAGSTER_HOME": str(dagster_home),
    }
    return LakeInstallation(server=server, environment=environment)


@contextmanager
def lake_session(data: Path) -> Iterator[LakeInstallation]:
    """Provision the lake profile for this process (its environment applied to os.environ),
    and stop the server at the end if we started it; its data stays for the next session."""
    from medallion.lake import postgres

    installation = provision(data, data / "dagster-lake")
    previous = {name: os.environ.get(name) for name in installation.environment}
    os.environ.update(installation.environment)
    try:
        yield installation
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        postgres.stop(installation.server)


def describe(installation: LakeInstallation) -> str:
    """Where the lake profile's parts live, for the demo and the UI."""
    env = installation.environment
    server = installation.server
    where = (
        f"PostgreSQL {server.host}:{server.port} (started here; its data in "
        f"{installation.server_data}, stopped at the end)"
        if installation.server_data
        else f"PostgreSQL {server.host}:{server.port} (from {PG_URL_ENV_NAME})"
    )
    return (
        f"lake profile: {where}\n"
        f"  DuckLake catalog in database {CATALOG_DATABASE}, data under {env[DATA_PATH_ENV]}\n"
        f"  Dagster storage in database {DAGSTER_DATABASE} (DAGSTER_HOME={env['DAGSTER_HOME']})\n"
        f"  MLflow in database {MLFLOW_DATABASE}, artifacts under {env[ARTIFACT_ROOT_ENV]}"
    )
