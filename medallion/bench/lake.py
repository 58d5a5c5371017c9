"""What the lake profile's parallel runs buy on this machine: the full build of both shipped
products' zones and a 30-day backfill of deliveries' gold, local profile (one run after
another: one writer) against lake profile (two runs at once), every run a real
`dagster asset materialize` with the multiprocess executor.

`python -m medallion.bench.lake [folder]` prints the wall times with the 1-minute load average
before and after each (other work on the machine skews them); figures go to the README.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from medallion.generate.product import run_generator
from medallion.lake import catalog, postgres
from medallion.lake.instance import write_instance_yaml
from medallion.settings import PACKAGE_PRODUCTS
from medallion.spec import load_spec

PRODUCTS = ("churn", "deliveries")
GOLD = "deliveries/gold/hub_daily,deliveries/gold/delivery_features"
BACKFILL_DAYS = 30
"""The full build is bronze, silver and unpartitioned gold (the CLI refuses partitioned assets
without a partition); the backfill is deliveries' two daily-partitioned gold tables."""


def _run(env: dict[str, str], selection: str, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "dagster", "asset", "materialize", "-m"]
    command += ["medallion.definitions", "--select", selection, *extra]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _timed(env: dict[str, str], batches: list[list[tuple[str, ...]]]) -> float:
    """Run each batch's runs at once, batches one after another; seconds in all."""
    started = time.perf_counter()
    for batch in batches:
        processes = [_run(env, *run) for run in batch]
        for process in processes:
            error = process.communicate()[1].decode()
            if process.returncode != 0:
                raise RuntimeError(error[-3000:])
    return time.perf_counter() - started


def _zones(spec) -> str:
    """Bronze, silver and the unpartitioned gold of a product, for --select."""
    keys = [
        f"{spec.name}/{zone}/{source}" for zone in ("bronze", "silver") for source in spec.sources
    ]
    keys += [
        f"{spec.name}/gold/{name}"
        for name, gold in spec.gold.items()
        if not gold.retired and not gold.incremental
    ]
    return ",".join(keys)


def _initialize_pools(env: dict[str, str]) -> None:
    """Every pool's limit created before two runs race to create it (medallion.lake.instance)."""
    import dagster as dg

    from medallion.build import build_definitions
    from medallion.lake.instance import initialize_pools
    from medallion.settings import Settings

    os.environ["MEDALLION_DAGSTER_PG_URL"] = env["MEDALLION_DAGSTER_PG_URL"]
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        initialize_pools(instance, build_definitions(settings=Settings.from_env(env)))


def main(folder: Path) -> dict[str, float]:
    specs = [load_spec(PACKAGE_PRODUCTS / name / "product.yaml") for name in PRODUCTS]
    landing = folder / "landing"
    for spec in specs:
        run_generator(spec, landing, seed=42)
    start = specs[1].partitions_start
    halves = [
        (start, start + timedelta(days=BACKFILL_DAYS // 2 - 1)),
        (start + timedelta(days=BACKFILL_DAYS // 2), start + timedelta(days=BACKFILL_DAYS - 1)),
    ]
    whole = f"{halves[0][0].isoformat()}...{halves[1][1].isoformat()}"
    server_home = Path(tempfile.mkdtemp(prefix="medallion-bench-pg-"))
    server_home.chmod(0o711)
    server = postgres.start(server_home / "server")
    try:
        base = dict(os.environ) | {"MEDALLION_LANDING": str(landing), "MEDALLION_PII_KEY": "b" * 32}
        local = base | {"MEDALLION_HOME": str(folder / "local"), "DAGSTER_HOME": str(folder / "dl")}
        (folder / "dl").mkdir(parents=True, exist_ok=True)
        target = catalog.postgres_target(server.conninfo(server.create_database("bench_lake")))
        catalog.create(target, str(folder / "lake" / "data"))
        write_instance_yaml(folder / "dk", folder / "lake")
        lake = base | {
            "MEDALLION_HOME": str(folder / "lake"),
            "MEDALLION_PROFILE": "lake",
            "MEDALLION_LAKE_CATALOG": target,
            "DAGSTER_HOME": str(folder / "dk"),
            "MEDALLION_DAGSTER_PG_URL": server.url(
                server.create_database("bench_dagster"), driver="postgresql+psycopg2"
            ),
        }
        _initialize_pools(lake)
        zones = [(_zones(spec),) for spec in specs]
        ranges = [
            (GOLD, "--partition-range", f"{a.isoformat()}...{b.isoformat()}") for a, b in halves
        ]
        plan = {
            "full build, local (2 runs one after another)": (local, [[z] for z in zones]),
            "full build, lake (2 runs at once)": (lake, [zones]),
            f"{BACKFILL_DAYS}-day gold backfill, local (1 run)": (
                local,
                [[(GOLD, "--partition-range", whole)]],
            ),
            f"{BACKFILL_DAYS}-day gold backfill, lake (2 runs of 15 days at once)": (
                lake,
                [ranges],
            ),
        }
        figures = {}
        for name, (env, batches) in plan.items():
            before = os.getloadavg()[0]
            figures[name] = _timed(env, batches)
            load = f"load average {before:.1f} before, {os.getloadavg()[0]:.1f} after"
            print(f"{name:<66} {figures[name]:7.1f} s  ({load})", flush=True)
    finally:
        postgres.stop(server)
    return figures


if __name__ == "__main__":
    main(
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(tempfile.mkdtemp(prefix="medallion-bench-"))
    )
