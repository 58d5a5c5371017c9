"""Shared fixtures: a clean environment for every test, a tiny product spec, its landing folder
and a warehouse, all in tmp_path."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import polars as pl
import pytest

from medallion.resources.warehouse import connect
from medallion.settings import PACKAGE_PRODUCTS, Settings
from medallion.spec import ProductSpec, load_spec
from medallion_tests.records import assert_every_record_landed
from medallion_tests.worlds import World, build_world


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding `slow` tests first, each group still in pytest-randomly's order.

    xdist (`--dist loadfile`) hands files to the workers in this order, one as a worker runs
    short of tests: long files first and short ones last let both workers finish together,
    instead of one running a minutes-long test alone at the end of the run.
    """
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: keeps the shuffle


TINY_SPEC = """
name: shop
description: A tiny shop used by unit tests.
sources:
  customers:
    format: json
    quiet_seconds: 0
    key: [customer_id]
    version_column: updated_at
    columns:
      customer_id: {type: BIGINT, required: true}
      email: {type: VARCHAR, pii: true, required: true, clean: "lower(email)"}
      birth_date: {type: DATE, pii: true}
      country: {type: VARCHAR, required: true, allowed: [NL, DE, BE, FR]}
      updated_at: {type: TIMESTAMP, required: true}
    completeness:
      columns: [customer_id, email, country]
    derive:
      birth_decade: "CAST(floor(year(birth_date) / 10) * 10 AS INTEGER)"
  orders:
    format: csv
    quiet_seconds: 0
    key: [order_id]
    columns:
      order_id: {type: BIGINT, required: true}
      customer_id: {type: BIGINT, required: true, references: customers.customer_id}
      ordered_at: {type: TIMESTAMP, required: true, not_future: true}
      amount: {type: "DECIMAL(10,2)", required: true, min: 0}
      coupon: {type: VARCHAR, pattern: "[A-Z]+", severity: warn}
    completeness:
      columns: [order_id, customer_id, ordered_at, amount]
    rules:
      - name: no_giant_orders
        check: amount < 100000
        severity: fail
  refunds:
    format: parquet
    quiet_seconds: 0
    key: [refund_id]
    columns:
      refund_id: {type: BIGINT, required: true}
      order_id: {type: BIGINT, required: true}
      amount: {type: DOUBLE}
gold:
  revenue_by_country:
    grain: [country]
    sql: |
      SELECT c.country, sum(o.amount) AS revenue, count(*) AS orders
      FROM {{ silver.orders }} AS o JOIN {{ silver.customers }} AS c USING (customer_id)
      GROUP BY c.country
  orders_per_customer:
    grain: [customer_id]
    polars: medallion_tests.shop_transforms:orders_per_customer
    inputs: [silver.orders]
"""


ISOLATED_ENV_PREFIXES = ("MEDALLION_", "DAGSTER_HOME", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
"""Variables that would point a test at the developer's stores (MLflow, Dagster, warehouse)."""


def _clear_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(ISOLATED_ENV_PREFIXES):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session", autouse=True)
def isolated_session_environment():
    """The same for session and module fixtures (built before any test's own fixtures)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _clear_environment(monkeypatch)
        yield


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts without the developer's MEDALLION_*, DAGSTER_HOME and MLflow URI
    variables (and without what an earlier test set): it reaches a store only through the
    Settings it builds, or a variable it sets itself for a process it starts. The working
    directory is restored afterwards (the CLI's entry point changes it)."""
    _clear_environment(monkeypatch)
    monkeypatch.chdir(os.getcwd())


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def home_settings(home: Path) -> Settings:
    """Settings of a scratch home with landing files under `home/landing`."""
    return Settings(
        home=home,
        data=home / "data",
        warehouse=home / "data" / "warehouse.duckdb",
        landing=home / "landing",
        products=(PACKAGE_PRODUCTS,),
    )


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    return write(tmp_path / "products" / "shop" / "product.yaml", TINY_SPEC)


@pytest.fixture
def spec(spec_path: Path) -> ProductSpec:
    return load_spec(spec_path)


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    """The shop product's landing folder (below the landing root `tmp_path/landing`)."""
    root = tmp_path / "landing" / "shop"
    write(
        root / "orders" / "orders_2026-01-01.csv",
        """
        order_id,customer_id,ordered_at,amount,coupon
        1,10,2026-01-01 10:00:00,20.50,
        2,11,2026-01-01 11:00:00,5.00,WELCOME
        3,10,2026-01-01 12:00:00,7.25,
        """,
    )
    write(
        root / "customers" / "customers_2026-01-01.json",
        """
        {"customer_id": 10, "email": "Ann@Example.com", "birth_date": "1990-05-01", "country": "NL", "updated_at": "2026-01-01 09:00:00"}
        {"customer_id": 11, "email": "bob@example.com", "birth_date": null, "country": "DE", "updated_at": "2026-01-01 09:00:00"}
        """,
    )
    refunds = root / "refunds" / "refunds_2026-01-01.parquet"
    refunds.parent.mkdir(parents=True)
    pl.DataFrame({"refund_id": [1], "order_id": [2], "amount": [5.0]}).write_parquet(refunds)
    return root


@pytest.fixture
def con(tmp_path: Path, request: pytest.FixtureRequest):
    """The warehouse; afterwards every ingested file's records are checked against bronze,
    unless the test damages bronze on purpose (marker `bronze_tampered`)."""
    connection = connect(tmp_path / "warehouse.duckdb")
    yield connection
    connection.close()
    if request.node.get_closest_marker("bronze_tampered") is None:
        with connect(tmp_path / "warehouse.duckdb", read_only=True) as again:
            assert_every_record_landed(again)


@pytest.fixture
def settings(tmp_path: Path, spec_path: Path, landing: Path, request: pytest.FixtureRequest):
    """Settings of a scratch installation; afterwards every ingested file's records are
    checked against bronze (unless marked `bronze_tampered`)."""
    chosen = Settings(
        home=tmp_path,
        data=tmp_path / "data",
        warehouse=tmp_path / "data" / "warehouse.duckdb",
        landing=landing.parent,
        products=(spec_path.parent.parent,),
    )
    yield chosen
    if chosen.warehouse.exists() and request.node.get_closest_marker("bronze_tampered") is None:
        with connect(chosen.warehouse, read_only=True) as warehouse:
            assert_every_record_landed(warehouse)


@pytest.fixture(scope="session")
def built_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """Both shipped products through every zone in one warehouse, built once per test run;
    tests only read it (World.copy gives a warehouse of their own)."""
    return build_world(tmp_path_factory.mktemp("world"))
