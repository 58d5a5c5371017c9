"""The expensive world several test modules read: both shipped products generated and built
through every zone into one warehouse, once per test run (the `built_world` fixture of
conftest.py). Tests only read it; a test that runs the pipeline again works on a copy.
Worlds are built on `memory_instance()`, as is every in-process run whose Dagster instance
only that test process reads."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from medallion.demo import materialize_all
from medallion.products.churn.generator import generate as generate_churn
from medallion.products.deliveries.generator import generate as generate_deliveries
from medallion.settings import PACKAGE_PRODUCTS, Settings
from medallion.spec import ProductSpec, load_spec

CHURN = {"seed": 11, "customers": 300, "days": 80}
"""80 days of 300 customers: 21 days with a known 30-day label, enough for the ML zone."""
DELIVERIES = {"seed": 3, "shipments": 1000, "days": 28}


@contextmanager
def memory_instance() -> Iterator[dg.DagsterInstance]:
    """A Dagster instance whose runs and events live in memory (`DagsterInstance.ephemeral`),
    for in-process materializations whose runs only this process reads. A test instance on
    SQLite files opens a connection and commits for each of a run's hundreds of events: a
    quarter of the CPU of a zone run, and more of its time."""
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


@dataclass(frozen=True)
class World:
    """Settings of the built world, the specs, the rows generated per product and source,
    and the result of the run that built it."""

    settings: Settings
    specs: dict[str, ProductSpec]
    written: dict[str, dict[str, int]]
    result: dg.ExecuteInProcessResult

    def copy(self, folder: Path) -> Settings:
        """Settings of a copy of the warehouse under `folder`, reading the same landing
        files, for a test that runs the pipeline again."""
        data = folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.settings.warehouse, data / "warehouse.duckdb")
        return dataclasses.replace(
            self.settings, home=folder, data=data, warehouse=data / "warehouse.duckdb"
        )


def build_world(home: Path) -> World:
    landing = home / "landing"
    written = {
        "churn": generate_churn(landing / "churn", **CHURN),
        "deliveries": generate_deliveries(landing / "deliveries", **DELIVERIES),
    }
    settings = Settings(
        home=home,
        data=home / "data",
        warehouse=home / "data" / "warehouse.duckdb",
        landing=landing,
        products=(PACKAGE_PRODUCTS,),
    )
    specs = {name: load_spec(PACKAGE_PRODUCTS / name / "product.yaml") for name in written}
    with memory_instance() as instance:
        result = materialize_all(list(specs.values()), settings, instance)
    assert result.success
    return World(settings, specs, written, result)
