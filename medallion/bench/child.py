"""One benchmark stage in a process of its own, so that its peak memory is its own.

`python -m medallion.bench.child <stage> <request.json> <result.json>` runs generate, floor,
pipeline or drift as the request says and writes what it measured, with the process's peak
resident memory, to the result file (stdout and stderr are left to logs).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from dataclasses import asdict, replace
from datetime import date
from pathlib import Path
from typing import Any

STAGES = ("generate", "floor", "pipeline", "drift")


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far.

    On Linux this is VmHWM of /proc/self/status, not `ru_maxrss`: the kernel carries
    `ru_maxrss` over from the image before exec, so a child spawned by a large parent
    (pytest, a notebook) would report at least the parent's size.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def cpu_seconds() -> float:
    """User plus system CPU time of this process so far: steadier than wall time on a
    machine shared with other work."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _generate(request: dict[str, Any]) -> dict[str, Any]:
    from medallion.generate.product import run_generator
    from medallion.spec import load_spec

    started = time.perf_counter()
    rows = run_generator(
        load_spec(Path(request["spec"])),
        Path(request["landing"]),
        seed=request["seed"],
        days=request["days"],
        rows=request["rows"],
        deliver_days=request.get("deliver_days"),
        **({"start": date.fromisoformat(request["start"])} if request.get("start") else {}),
    )
    return {"seconds": time.perf_counter() - started, "rows": rows}


def _floor(request: dict[str, Any]) -> dict[str, Any]:
    from medallion.bench.floor import SourceLayout, load_floor
    from medallion.spec import load_spec

    sources = {name: SourceLayout(**layout) for name, layout in request["sources"].items()}
    landing = load_spec(Path(request["spec"])).landing(Path(request["landing"]))
    result = load_floor(landing, sources, Path(request["database"]))
    return {"seconds": result.seconds, "rows": result.rows}


def process_started_at() -> float | None:
    """When this process was created (epoch seconds), from /proc; None elsewhere."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime")
        )
    except (OSError, IndexError, ValueError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def _pipeline(request: dict[str, Any]) -> dict[str, Any]:
    # A zone run's steps fork from a server that imported the zones' libraries once
    # (medallion.preload_zones); import them before the clock starts and report the time
    # apart (not medallion.definitions: the run builds the Definitions of this product only).
    started = time.perf_counter()
    import dagster  # noqa: F401
    import duckdb  # noqa: F401
    import polars  # noqa: F401
    import pyarrow  # noqa: F401

    import medallion.build  # noqa: F401

    startup_s = time.perf_counter() - started
    from medallion.bench.pipeline import run_pipeline
    from medallion.settings import PACKAGE_PRODUCTS, Settings
    from medallion.spec import load_spec

    home = Path(request["home"])
    settings = replace(
        Settings.from_env(),
        home=home,
        data=home / "data",
        warehouse=Path(request["database"]),
        landing=Path(request["landing"]),
        products=(PACKAGE_PRODUCTS,),
    )
    result = run_pipeline(
        load_spec(Path(request["spec"])), settings, full_refresh=request.get("full_refresh", False)
    )
    born = process_started_at()
    zones = {
        name: {**asdict(zone), "overhead_s": zone.overhead_s} for name, zone in result.zones.items()
    }
    return {
        "seconds": result.seconds,
        "startup_s": startup_s,
        # process start to the first step of the run, where the first SQL is sent
        "first_step_s": None
        if born is None or not result.first_step_at
        else result.first_step_at - born,
        "heavy_modules": sorted({m.split(".")[0] for m in sys.modules} & {"mlflow", "sklearn"}),
        "duckdb": settings.duckdb_config(),
        "success": result.success,
        "failures": result.failures,
        "zones": zones,
    }


def _drift(request: dict[str, Any]) -> dict[str, Any]:
    from medallion.bench.monitoring import run_drift
    from medallion.settings import Settings
    from medallion.spec import load_spec

    config = Settings.from_env().duckdb_config()
    return run_drift(load_spec(Path(request["spec"])), Path(request["database"]), config)


RUNNERS = {"generate": _generate, "floor": _floor, "pipeline": _pipeline, "drift": _drift}


def main(argv: list[str]) -> int:
    stage, request_file, result_file = argv
    request = json.loads(Path(request_file).read_text(encoding="utf-8"))
    load_before = os.getloadavg()[0]
    measured = RUNNERS[stage](request)
    result = {
        "stage": stage,
        "peak_rss_bytes": peak_rss_bytes(),
        "cpu_s": cpu_seconds(),
        "load_1min": [load_before, os.getloadavg()[0]],
        **measured,
    }
    Path(result_file).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
