"""Where things live and which stores to use: the one module that reads medallion's environment.

Entry points (the CLI, `medallion.definitions`, served and benchmark processes) call
`Settings.from_env()`; everything below them receives the Settings as an argument, so a test
that builds its own Settings never sees the developer's MEDALLION_* variables. Defaults keep
all state under `data/` of the project directory, so a fresh clone works as is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_PRODUCTS = Path(__file__).parent / "products"
PII_KEY_ENV = "MEDALLION_PII_KEY"
TRACKING_URI_ENV = "MEDALLION_TRACKING_URI"

DUCKDB_MEMORY_LIMIT = "700MB"
"""DuckDB's own default is 80% of RAM; bounded, it spills to disk instead (the process also
holds Dagster, Great Expectations, scikit-learn and MLflow). A silver or gold build that runs
out is retried on one thread (medallion.zones.tables). Raise it for larger data."""


PROFILES = ("local", "lake")
"""`local`: one DuckDB file, Dagster and MLflow on SQLite. `lake`: DuckLake on PostgreSQL
(medallion.lake), Dagster and MLflow on PostgreSQL, writers in parallel."""


@dataclass(frozen=True)
class Settings:
    """Paths of one medallion installation."""

    home: Path
    data: Path
    warehouse: Path
    landing: Path
    products: tuple[Path, ...]
    duckdb_memory_limit: str = DUCKDB_MEMORY_LIMIT
    duckdb_threads: int | None = None
    profile: str = "local"
    lake_catalog: str | None = None
    lake_catalog_env: str | None = None
    """The variable holding the catalog target (its conninfo may hold a password): Dagster
    reads it when a run starts, so the UI shows its name, never the target."""
    lake_data_path: str | None = None
    artifact_root: str | None = None
    """Where MLflow artifacts of new experiments go on another tracking store (a folder or
    object-store URI, MEDALLION_ARTIFACT_ROOT); None leaves it to the server."""
    tracking_uri: str | None = field(default=None, repr=False)
    """MLflow tracking URI (may hold a password); None keeps runs under data/mlflow."""
    pii_key: str | None = field(default=None, repr=False)
    """The pseudonymization key itself; None with no pii_key_env: a development key in data/."""
    pii_key_env: str | None = None
    """The variable holding the key: Dagster reads it when a run starts (dg.EnvVar), so the
    UI shows its name, never the key."""

    @property
    def warehouse_target(self) -> str:
        """What the warehouse resource opens: the DuckDB file, or the DuckLake catalog."""
        if self.profile != "lake":
            return str(self.warehouse)
        if not self.lake_catalog:
            raise ValueError(
                "MEDALLION_PROFILE=lake needs MEDALLION_LAKE_CATALOG "
                "(ducklake:postgres:<conninfo>) or MEDALLION_PG_URL; "
                "`medallion demo --profile lake` starts a server and sets them"
            )
        return self.lake_catalog

    @property
    def dagster_home(self) -> Path:
        return self.data / "dagster"

    @property
    def pii_dev_key(self) -> Path:
        return self.data / "pii_dev.key"

    def duckdb_config(self) -> dict[str, str | int]:
        """Settings of every warehouse connection the pipeline opens."""
        config: dict[str, str | int] = {"memory_limit": self.duckdb_memory_limit}
        if self.duckdb_threads:
            config["threads"] = self.duckdb_threads
        return config

    def product_files(self) -> list[Path]:
        """Every product.yaml below the product directories, in a stable order."""
        files: list[Path] = []
        for folder in self.products:
            files.extend(sorted(folder.glob("*/product.yaml")))
        return files

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read MEDALLION_HOME, MEDALLION_DATA, MEDALLION_WAREHOUSE, MEDALLION_LANDING,
        MEDALLION_PRODUCTS (the product folders to load instead of the shipped demo products,
        separated by ':'),
        MEDALLION_DUCKDB_MEMORY_LIMIT (e.g. 2GB), MEDALLION_DUCKDB_THREADS,
        MEDALLION_TRACKING_URI, whether MEDALLION_PII_KEY is set, and for the lake profile
        MEDALLION_PROFILE, MEDALLION_LAKE_CATALOG, MEDALLION_PG_URL, MEDALLION_LAKE_DATA_PATH
        and MEDALLION_ARTIFACT_ROOT (medallion.lake.profile)."""
        from medallion.lake.profile import lake_settings

        env = os.environ if environ is None else environ
        home = Path(env.get("MEDALLION_HOME", os.getcwd())).resolve()
        data = Path(env.get("MEDALLION_DATA", home / "data")).resolve()
        chosen = [Path(p).resolve() for p in env.get("MEDALLION_PRODUCTS", "").split(":") if p]
        return cls(
            home=home,
            data=data,
            warehouse=Path(env.get("MEDALLION_WAREHOUSE", data / "warehouse.duckdb")).resolve(),
            landing=Path(env.get("MEDALLION_LANDING", data / "landing")).resolve(),
            products=tuple(chosen) or (PACKAGE_PRODUCTS,),
            duckdb_memory_limit=env.get("MEDALLION_DUCKDB_MEMORY_LIMIT") or DUCKDB_MEMORY_LIMIT,
            duckdb_threads=int(env["MEDALLION_DUCKDB_THREADS"])
            if env.get("MEDALLION_DUCKDB_THREADS")
            else None,
            tracking_uri=env.get(TRACKING_URI_ENV) or None,
            pii_key_env=PII_KEY_ENV if env.get(PII_KEY_ENV) else None,
            **lake_settings(env, data),
        )
