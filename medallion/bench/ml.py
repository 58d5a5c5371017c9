"""The ML benchmark: parallel against sequential training, the latency gate quiet and under
load, and the champion over HTTP.

    medallion bench-ml [--customers 2000] [--days 120] [--out data/bench]

In a scratch home: churn landing data, gold, one snapshot. Then

- the three variants trained one after another in this process, and side by side in three
  forked processes (each mode on an MLflow store of its own, so neither reuses the other's
  versions), with each variant's phase seconds;
- the candidates timed as the promotion step times them, quiet and with two busy-looping
  processes (bounded in time, killed by PID): CPU and wall percentiles;
- the best variant served by `medallion serve`'s scoring server on 127.0.0.1 with one worker
  per core: single-row and 1,000-row latency percentiles, and the throughput of 10 clients
  for a few seconds (a bounded load generator).

Every figure is a ratio or a percentile measured in this one run; the machine is printed.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from medallion.spec import ProductSpec

CLIENTS = 10
"""Concurrent HTTP clients of the throughput run."""
LOAD_SECONDS = 5.0
"""How long the load generator runs."""


@dataclass(frozen=True)
class World:
    """A scratch home with gold built and one snapshot exported."""

    home: Path
    spec: ProductSpec
    snapshot: Path
    data_version: str


def build_world(spec: ProductSpec, home: Path, customers: int, days: int, seed: int) -> World:
    """Churn landing files, every zone up to gold, and the model's snapshot."""
    import dagster as dg

    from medallion.demo import materialize_all
    from medallion.generate.product import run_generator
    from medallion.ml.snapshot import export_snapshot
    from medallion.resources.tracking import TrackingResource
    from medallion.resources.warehouse import connect
    from medallion.settings import PACKAGE_PRODUCTS, Settings

    settings = Settings(
        home=home,
        data=home / "data",
        warehouse=home / "data" / "warehouse.duckdb",
        landing=home / "landing",
        products=(PACKAGE_PRODUCTS,),
    )
    run_generator(spec, settings.landing, seed=seed, days=days, customers=customers)
    with dg.instance_for_test() as instance:
        if not materialize_all([spec], settings, instance).success:
            raise RuntimeError("building gold for the ML benchmark failed")
    tracking = TrackingResource.for_data(settings.data)
    with connect(settings.warehouse, read_only=True) as con:
        snapshot = export_snapshot(con, spec, tracking.snapshots())
    return World(home, spec, snapshot.path, snapshot.data_version)


def _tracking(world: World, name: str):
    from medallion.resources.tracking import TrackingResource

    return TrackingResource.for_data(world.home / name)


def _train_one(world: World, store: str, variant: str, baseline, queue) -> None:
    from medallion.ml.workflow import run_variant

    result = run_variant(
        world.spec, variant, world.snapshot, world.data_version, baseline, _tracking(world, store)
    )
    queue.put((variant, result.phase_seconds, result.model_version, result.record()))


def _noop() -> None:
    """Starts the fork server before the clock does."""


def training(world: World) -> dict[str, Any]:
    """Wall seconds of the three variants one after another and side by side."""
    from medallion.ml.workflow import run_baseline

    assert world.spec.model is not None
    variants = list(world.spec.model.variants)
    modes: dict[str, Any] = {}
    # Forked from a clean server that imported the ML modules once, as the multiprocess
    # executor's steps are (medallion.preload): no tracking connection of this process is
    # inherited, and the imports are not part of the measured time.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["medallion.ml.workflow", "medallion.ml.promotion"])
    warm = context.Process(target=_noop)
    warm.start()
    warm.join()
    for mode in ("sequential", "parallel"):
        tracking = _tracking(world, mode)
        baseline = run_baseline(world.spec, world.snapshot, world.data_version, tracking)
        queue = context.Queue()
        started = time.perf_counter()
        if mode == "sequential":
            for variant in variants:
                _train_one(world, mode, variant, baseline, queue)
        else:
            workers = [
                context.Process(target=_train_one, args=(world, mode, v, baseline, queue))
                for v in variants
            ]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
        wall = time.perf_counter() - started
        results = [queue.get(timeout=60) for _ in variants]
        modes[mode] = {
            "wall_s": wall,
            "phases": {v: phases for v, phases, _, _ in results},
            "records": {v: record for v, _, _, record in results},
        }
    ratio = modes["parallel"]["wall_s"] / modes["sequential"]["wall_s"]
    return {"modes": modes, "parallel_over_sequential": ratio}


def responsiveness(world: World, records: dict) -> dict[str, Any]:
    """The candidates timed as the promotion step does, quiet and under two CPU hogs."""
    from medallion.ml.promotion import measure_versions
    from medallion.ml.workflow import prepare

    rows = prepare(world.spec, world.snapshot).x_holdout
    tracking = _tracking(world, "sequential")
    versions = {variant: record.version for variant, record in records.items()}
    quiet = measure_versions(world.spec, rows, list(versions.values()), tracking)
    with cpu_hogs(2):
        loaded = measure_versions(world.spec, rows, list(versions.values()), tracking)
    return {
        variant: {"quiet": asdict(quiet[version]), "hogs": asdict(loaded[version])}
        for variant, version in versions.items()
    }


HOG = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


class cpu_hogs:
    """`count` busy-looping processes that end by themselves after `seconds`; killed by PID
    on exit."""

    def __init__(self, count: int, seconds: float = 300.0):
        self.count, self.seconds = count, seconds
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> list[int]:
        code = HOG.format(seconds=self.seconds)
        self.processes = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(self.count)]
        return [p.pid for p in self.processes]

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _percentiles(seconds: list[float]) -> dict[str, float]:
    p50, p95, p99 = np.percentile(np.asarray(seconds) * 1000, [50, 95, 99])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99)}


def _timed_calls(predict, frames) -> list[float]:
    durations = []
    for frame in frames:
        started = time.perf_counter()
        predict(frame)
        durations.append(time.perf_counter() - started)
    return durations


def _throughput(url: str, frames, clients: int, seconds: float) -> dict[str, float]:
    """Requests per second of `clients` threads, each on its own kept-alive connection,
    posting single rows for `seconds`."""
    from medallion.ml.serving import http_predict

    counts = [0] * clients
    deadline = time.perf_counter() + seconds

    def client(index: int) -> None:
        predict = http_predict(url)
        while time.perf_counter() < deadline:
            predict(frames[(index + counts[index]) % len(frames)])
            counts[index] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {"clients": clients, "seconds": wall, "requests": sum(counts), "rps": sum(counts) / wall}


def http(world: World, version: str, workers: int) -> dict[str, Any]:
    """Latency and throughput of the scoring server `medallion serve` starts, on 127.0.0.1."""
    from medallion.ml.serving import http_predict, serve_command, serving_env, wait_until_ready
    from medallion.ml.workflow import prepare

    assert world.spec.model is not None
    tracking = _tracking(world, "sequential")
    rows = prepare(world.spec, world.snapshot).x_holdout
    port = _free_port()
    command = serve_command(f"models:/{world.spec.name}/{version}", "127.0.0.1", port, workers)
    env = serving_env(dict(os.environ), tracking, world.spec.model.threads)
    server = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, timeout_s=180)
        rng = np.random.default_rng(world.spec.model.seed)
        singles = [rows.iloc[[i]] for i in rng.integers(0, len(rows), size=320)]
        batches = [rows.sample(1_000, replace=True, random_state=i) for i in range(40)]
        predict = http_predict(url)
        _timed_calls(predict, singles[:20] + batches[:2])
        return {
            "workers": workers,
            "single_row": _percentiles(_timed_calls(predict, singles[20:])),
            "rows_1000": _percentiles(_timed_calls(predict, batches[2:])),
            "throughput": _throughput(url, singles, CLIENTS, LOAD_SECONDS),
        }
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait(timeout=30)


def run_ml_bench(
    spec: ProductSpec, out: Path, customers: int = 2000, days: int = 120, seed: int = 42
) -> dict[str, Any]:
    """The whole ML benchmark in a scratch home (removed afterwards); writes
    `out/ml-<timestamp>.json` and `out/ml-latest.json` and returns the report."""
    home = Path(tempfile.mkdtemp(prefix="medallion-bench-ml-"))
    try:
        world = build_world(spec, home, customers, days, seed)
        trained = training(world)
        records = trained["modes"]["sequential"]["records"]
        timing = responsiveness(world, records)
        best = max(records.values(), key=lambda r: r.score)
        served = http(world, best.version, os.cpu_count() or 1)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    for mode in trained["modes"].values():
        mode["records"] = {v: r.version for v, r in mode["records"].items()}
    report = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_1min": os.getloadavg()[0]},
        "config": {"product": spec.name, "customers": customers, "days": days, "seed": seed},
        "training": trained,
        "responsiveness": timing,
        "http": served | {"variant": best.variant, "version": best.version},
    }
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, default=str) + "\n"
    stamp = report["created_at"].replace(":", "").replace("-", "")[:15]
    (out / f"ml-{stamp}.json").write_text(text, encoding="utf-8")
    (out / "ml-latest.json").write_text(text, encoding="utf-8")
    print(format_report(report))
    return report


def format_report(report: dict[str, Any]) -> str:
    """The figures as lines of text."""
    trained, served = report["training"], report["http"]
    lines = [
        f"medallion bench-ml: {report['config']}, {report['machine']['cpus']} CPUs",
        f"training: sequential {trained['modes']['sequential']['wall_s']:.1f} s, parallel "
        f"{trained['modes']['parallel']['wall_s']:.1f} s: "
        f"{trained['parallel_over_sequential']:.2f}x (target <= 0.65x)",
    ]
    for mode, values in trained["modes"].items():
        for variant, phases in values["phases"].items():
            shown = ", ".join(f"{k} {v:.2f}" for k, v in phases.items())
            lines.append(f"  {mode:<10} {variant:<24} {shown}")
    for variant, pair in report["responsiveness"].items():
        quiet, hogs = pair["quiet"], pair["hogs"]
        lines.append(
            f"latency {variant:<24} CPU p95 {quiet['cpu_p95_ms']:.2f} -> {hogs['cpu_p95_ms']:.2f} "
            f"ms under 2 hogs; wall p95 {quiet['p95_ms']:.2f} -> {hogs['p95_ms']:.2f} ms; "
            f"{quiet['batch_rows']:,} rows {quiet['batch_cpu_seconds']:.2f} CPU s"
        )
    single, batch, load = served["single_row"], served["rows_1000"], served["throughput"]
    lines += [
        f"HTTP ({served['workers']} workers, {served['variant']} v{served['version']}): "
        f"single row p50/p95/p99 {single['p50_ms']:.1f}/{single['p95_ms']:.1f}/"
        f"{single['p99_ms']:.1f} ms; 1,000 rows {batch['p50_ms']:.1f}/{batch['p95_ms']:.1f}/"
        f"{batch['p99_ms']:.1f} ms; {load['rps']:.0f} req/s at {load['clients']} clients",
    ]
    return "\n".join(lines)
