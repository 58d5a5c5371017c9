"""The daily scenario: what one more day of deliveries costs once history is built.

Per history length N (same daily volume): deliver days 0..N-2 and build them (untimed), then
deliver day N-1 and time the incremental run; then time a full build of the same N days in a
new warehouse. Every run is a fresh process, so its wall time includes process start and its
peak memory is its own. Targets (reported, not asserted): increment at most 15% of the full
build at 120 days, the increment at 360 days at most 1.2 times the one at 120 days, the
increment's peak memory under 700 MB, and at most 2 s from process start to the first SQL.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from medallion.bench.report import size_label
from medallion.bench.runner import BenchError, run_stage
from medallion.spec import ProductSpec

TARGET_RATIO = 0.15
TARGET_GROWTH = 1.2
TARGET_RSS_BYTES = 700 * 1024**2
TARGET_FIRST_SQL_S = 2.0


def _run(common: dict, workdir: Path, name: str, database: str, **extra: Any) -> dict[str, Any]:
    # One home per warehouse: its pseudonymization key must stay the same from run to run,
    # or silver rebuilds in full (a new key is a new fingerprint).
    home = workdir / f"home-{Path(database).stem}"
    request = {**common, "home": str(home), "database": database, **extra}
    result = run_stage("pipeline", request, workdir / name)
    if not result["success"]:
        raise BenchError(f"daily {name} run failed: {result['failures'][:3]}")
    return result


def _summary(run: dict[str, Any]) -> dict[str, Any]:
    zones = run["zones"]
    return {
        "wall_s": run["process_s"],
        "in_process_s": run["seconds"],
        "first_step_s": run.get("first_step_s"),
        "peak_rss_bytes": run["peak_rss_bytes"],
        "checks_s": sum(zone["checks_s"] for zone in zones.values()),
        "zones_s": {name: zone["steps_s"] for name, zone in zones.items()},
        "heavy_modules": run.get("heavy_modules", []),
    }


def run_history(
    spec: ProductSpec, rows_per_day: int, days: int, seed: int, workdir: Path
) -> dict[str, Any]:
    """Build `days - 1` days, then time the last day's increment and a full build."""
    landing = workdir / "landing"
    common = {"spec": str(spec.path), "landing": str(landing)}
    # The last day is yesterday: later days would be quarantined as lying in the future.
    start = date.today() - timedelta(days=days + 1)
    generate = {**common, "rows": rows_per_day * days, "days": days, "seed": seed}
    generate["start"] = start.isoformat()
    run_stage("generate", {**generate, "deliver_days": list(range(days - 1))}, workdir / "gen")
    database = str(workdir / "incremental.duckdb")
    _run(common, workdir, "history", database)
    run_stage("generate", {**generate, "deliver_days": [days - 1]}, workdir / "gen-last")
    increment = _summary(_run(common, workdir, "increment", database))
    full = _summary(_run(common, workdir, "full", str(workdir / "full.duckdb")))
    return {
        "days": days,
        "rows_per_day": rows_per_day,
        "increment": increment,
        "full": full,
        "increment_over_full": increment["wall_s"] / full["wall_s"],
    }


def run_daily(
    spec: ProductSpec, rows: int, histories: tuple[int, ...], seed: int, scratch: Path
) -> dict[str, Any]:
    """The daily scenario at each history length, the first one's daily volume for all:
    `rows` over `histories[0]` days."""
    rows_per_day = max(1, rows // histories[0])
    results = []
    for days in histories:
        print(f"[daily {size_label(rows)}] {days} days: building history, then the increment ...")
        results.append(run_history(spec, rows_per_day, days, seed, scratch / f"daily-{days}"))
    return daily_report(rows, results)


def daily_report(rows: int, results: list[dict[str, Any]]) -> dict[str, Any]:
    """The report of the histories run, shortest first, with each target's observed value:
    the shortest history's increment over its full build, the longest increment over the
    shortest, the largest increment's peak memory, the shortest's time to its first step."""
    first = results[0]["increment"]
    last = results[-1]["increment"]
    return {
        "rows": rows,
        "histories": results,
        "targets": {
            "increment_over_full": {
                "target": TARGET_RATIO,
                "observed": results[0]["increment_over_full"],
            },
            "growth": {"target": TARGET_GROWTH, "observed": last["wall_s"] / first["wall_s"]},
            "increment_peak_rss_bytes": {
                "target": TARGET_RSS_BYTES,
                "observed": max(r["increment"]["peak_rss_bytes"] for r in results),
            },
            "first_sql_s": {"target": TARGET_FIRST_SQL_S, "observed": first["first_step_s"]},
        },
    }


def format_daily(report: dict[str, Any]) -> str:
    """The daily scenario as a small text table."""
    lines = [f"daily scenario at {size_label(report['rows'])} rows over the first history"]
    lines.append(
        f"{'days':>5} {'increment s':>12} {'full s':>8} {'incr/full':>9} {'first step s':>12} "
        f"{'incr RSS MB':>11} {'checks s':>8}  zones s (increment)"
    )
    for entry in report["histories"]:
        inc, full = entry["increment"], entry["full"]
        zones = ", ".join(f"{k} {v:.1f}" for k, v in inc["zones_s"].items())
        first = inc["first_step_s"]
        lines.append(
            f"{entry['days']:>5} {inc['wall_s']:>12.2f} {full['wall_s']:>8.2f} "
            f"{entry['increment_over_full']:>9.1%} {first if first is None else round(first, 2)!s:>12} "
            f"{inc['peak_rss_bytes'] / 1024**2:>11.0f} {inc['checks_s']:>8.2f}  {zones}"
        )
    for name, target in report["targets"].items():
        lines.append(f"target {name}: observed {target['observed']}, target {target['target']}")
    return "\n".join(lines)
