"""Where things live: every path comes from here, overridable by environment variables.

Defaults keep all state under `data/` of the project directory, so a fresh clone works
as is and tests point everything at a temporary directory by setting MEDALLION_HOME.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_PRODUCTS = Path(__file__).parent / "products"

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
    lake_data_path: str | None = None

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
        MEDALLION_DUCKDB_MEMORY_LIMIT (e.g. 2GB), MEDALLION_DUCKDB_THREADS, and for the lake
        profile MEDALLION_PROFILE, MEDALLION_LAKE_CATALOG, MEDALLION_PG_URL and
        MEDALLION_LAKE_DATA_PATH (medallion.lake.profile)."""
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
            **lake_settings(env, data),
        )
