"""The benchmark's report: numbers derived per size, targets judged, a table, and JSON.

Everything here is pure arithmetic on what the stages measured, so it is tested on its own;
the JSON is written with a timestamp (history) and as latest.json (the one to compare with).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from medallion.bench.pipeline import BOUNDARIES

GB = 1024**3
MB = 1024**2


@dataclass(frozen=True)
class Target:
    """A goal from the issue, judged per size."""

    name: str
    description: str
    limit: float
    at_rows: int | None = None
    """The size the goal is stated for; it is still shown for every size."""


TARGETS = (
    Target("pipeline_vs_floor", "pipeline wall ≤ 2.0× floor", 2.0, 10_000_000),
    Target("peak_memory_gb", "pipeline peak RSS ≤ 1.5 GB", 1.5, 10_000_000),
    Target("peak_growth", "pipeline peak ≤ 1.3× peak of smallest size", 1.3, 10_000_000),
    Target("check_share", "checks ≤ 20% of transform time", 0.20),
)


def size_label(rows: int) -> str:
    """1000000 → 1M, 2500000 → 2.5M, 100000 → 100k, 999 → 999."""
    for factor, suffix in ((1_000_000, "M"), (1_000, "k")):
        if rows >= factor:
            return f"{rows / factor:g}{suffix}"
    return str(rows)


def _rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else 0.0


def derive(entry: dict[str, Any]) -> dict[str, Any]:
    """Add rates, the check and overhead breakdown, and the pipeline / floor ratio to a size.

    Args:
        entry: one size as the runner collected it (landing, floor, pipeline).

    Returns:
        The same entry, with derived numbers added in place.
    """
    rows = entry["landing"]["rows_total"]
    floor, pipeline = entry["floor"], entry["pipeline"]
    floor["rows_per_s"] = _rate(rows, floor["seconds"])
    pipeline["rows_per_s"] = _rate(rows, pipeline["seconds"])
    zones = pipeline["zones"]
    pipeline["transform_s"] = sum(z["transform_s"] for z in zones.values())
    pipeline["checks_s"] = sum(z["checks_s"] for z in zones.values())
    pipeline["overhead_s"] = max(
        0.0, pipeline["seconds"] - pipeline["transform_s"] - pipeline["checks_s"]
    )
    pipeline["boundaries"] = {
        BOUNDARIES[zone]: {
            "checks_s": z["checks_s"],
            "checks": z["checks"],
            "untimed": z["untimed"],
            "failed": z["failed_checks"],
        }
        for zone, z in zones.items()
        if zone in BOUNDARIES
    }
    entry["ratio"] = pipeline["seconds"] / floor["seconds"] if floor["seconds"] > 0 else None
    transform = pipeline["transform_s"]
    entry["check_share"] = pipeline["checks_s"] / transform if transform > 0 else None
    return entry


def compare(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Peak memory relative to the smallest size, and every target judged, per size."""
    smallest = min(entries, key=lambda e: e["rows_requested"]) if entries else None
    for entry in entries:
        base = smallest["pipeline"]["peak_rss_bytes"] if smallest else 0
        floor_base = smallest["floor"]["peak_rss_bytes"] if smallest else 0
        entry["peak_ratio_vs_smallest"] = (
            entry["pipeline"]["peak_rss_bytes"] / base if base else None
        )
        entry["floor_peak_ratio_vs_smallest"] = (
            entry["floor"]["peak_rss_bytes"] / floor_base if floor_base else None
        )
        values = {
            "pipeline_vs_floor": entry["ratio"],
            "peak_memory_gb": entry["pipeline"]["peak_rss_bytes"] / GB,
            "peak_growth": entry["peak_ratio_vs_smallest"],
            "check_share": entry["check_share"],
        }
        entry["targets"] = {
            target.name: {
                "value": values[target.name],
                "limit": target.limit,
                "pass": values[target.name] is not None and values[target.name] <= target.limit,
                "stated_for_rows": target.at_rows,
            }
            for target in TARGETS
        }
    return entries


def build_report(
    entries: list[dict[str, Any]], config: dict[str, Any], machine: dict[str, Any]
) -> dict[str, Any]:
    """The whole report: when, where, with which settings, and every size."""
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "config": config,
        "targets": {t.name: {"description": t.description, "limit": t.limit} for t in TARGETS},
        "sizes": compare([derive(entry) for entry in entries]),
    }


def _seconds(value: float) -> str:
    return f"{value:.2f}"


def _rate_text(value: float) -> str:
    return f"{value / 1e6:.2f}M" if value >= 1e5 else f"{value:,.0f}"


def _mb(value: int) -> str:
    return f"{value / MB:,.0f} MB"


def _ratio(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}×"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _verdict(entry: dict[str, Any], name: str) -> str:
    return "pass" if entry["targets"][name]["pass"] else "MISS"


def _stage3_rows(stage3: dict[str, Any]) -> list[tuple[str, str]]:
    if stage3.get("status") != "ok":
        return [("drift evaluation", stage3.get("status", "n/a"))]
    scoring = stage3["scoring"]
    return [
        ("drift: read windows s", _seconds(stage3["read_s"])),
        ("drift: statistics s", _seconds(stage3["drift_s"])),
        (
            "  reference / current rows",
            f"{stage3['reference_rows']:,} / {stage3['current_rows']:,}",
        ),
        ("  peak RSS", _mb(stage3["peak_rss_bytes"])),
        (
            "champion scoring p50 ms",
            scoring["status"] if scoring["p50_ms"] is None else f"{scoring['p50_ms']:.1f}",
        ),
    ]


def table_rows(entry: dict[str, Any]) -> list[tuple[str, str]]:
    """The lines of one size's column, label first."""
    landing, floor, pipeline = entry["landing"], entry["floor"], entry["pipeline"]
    zones = pipeline["zones"]
    lines = [
        ("landing rows, total", f"{landing['rows_total']:,}"),
        (f"  largest source ({landing['largest_source']})", f"{landing['rows_largest']:,}"),
        ("  files / MB", f"{landing['files']:,} / {landing['bytes'] / MB:,.0f}"),
        ("floor wall s", _seconds(floor["seconds"])),
        ("floor rows/s", _rate_text(floor["rows_per_s"])),
        ("pipeline wall s", _seconds(pipeline["seconds"])),
        (
            "  imports before the run (once per run) s",
            _seconds(pipeline["startup_s"]) if "startup_s" in pipeline else "n/a",
        ),
    ]
    for zone, timing in zones.items():
        lines += [
            (f"  {zone} steps s", _seconds(timing["steps_s"])),
            (f"    {zone} transform s", _seconds(timing["transform_s"])),
            (f"    checks {BOUNDARIES[zone]} s", _seconds(timing["checks_s"])),
            (f"    {zone} overhead s", _seconds(timing["overhead_s"])),
            (f"    {zone} peak RSS", _mb(timing.get("peak_rss_bytes", 0))),
        ]
    lines += [
        (
            "  transform / checks / rest s",
            "/".join(_seconds(pipeline[k]) for k in ("transform_s", "checks_s", "overhead_s")),
        ),
        ("pipeline rows/s", _rate_text(pipeline["rows_per_s"])),
        ("pipeline / floor", _ratio(entry["ratio"], 1)),
        ("checks / transform", _share(entry["check_share"])),
        ("CPU s floor / pipeline process", f"{floor['cpu_s']:.1f} / {pipeline['cpu_s']:.1f}"),
        ("load avg (1 min) at pipeline start", f"{pipeline['load_1min'][0]:.1f}"),
        ("peak RSS floor", _mb(floor["peak_rss_bytes"])),
        ("peak RSS pipeline", _mb(pipeline["peak_rss_bytes"])),
        ("peak vs smallest size", _ratio(entry["peak_ratio_vs_smallest"])),
        ("pipeline succeeded", "yes" if pipeline["success"] else "NO"),
        *_stage3_rows(entry.get("stage3") or {}),
    ]
    lines += [(f"target: {target.description}", _verdict(entry, target.name)) for target in TARGETS]
    return lines


def format_table(report: dict[str, Any]) -> str:
    """Metrics down, sizes across; the targets' verdicts at the bottom."""
    entries = report["sizes"]
    columns = [dict(table_rows(entry)) for entry in entries]
    labels = list(dict.fromkeys(label for column in columns for label in column))
    width = max(map(len, labels), default=10)
    cell = max([len(v) for column in columns for v in column.values()] + [12])
    config, machine = report["config"], report["machine"]
    header = (
        f"medallion bench: {config['product']}, {config['days']} days, seed {config['seed']}; "
        f"{machine['cpus']} CPUs, {machine['memory_gb']:.0f} GB, duckdb {machine['duckdb']}, "
        f"dagster {machine['dagster']}"
    )
    duckdb = entries[0]["pipeline"].get("duckdb") if entries else None
    if duckdb:
        header += "\nwarehouse DuckDB settings: " + ", ".join(f"{k}={v}" for k, v in duckdb.items())
    lines = [header, f"{'':<{width}}  " + "  ".join(f"{e['label']:>{cell}}" for e in entries)]
    lines.append("-" * len(lines[-1]))
    for label in labels:
        values = "  ".join(f"{column.get(label, ''):>{cell}}" for column in columns)
        lines.append(f"{label:<{width}}  {values}")
    for entry in entries[:1]:
        stage3 = entry.get("stage3") or {}
        if stage3.get("reason"):
            lines.append(f"stage 3 skipped: {stage3['reason']}")
        elif stage3.get("scoring", {}).get("reason"):
            lines.append(f"champion scoring skipped: {stage3['scoring']['reason']}")
    for entry in entries:
        for failure in entry["pipeline"]["failures"]:
            lines.append(f"{entry['label']}: FAILED {failure}")
    return "\n".join(lines)


def write_report(report: dict[str, Any], out: Path) -> Path:
    """Write bench-<timestamp>.json and latest.json under `out`; returns the first."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(report["created_at"]).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    path = out / f"bench-{stamp}.json"
    path.write_text(text, encoding="utf-8")
    (out / "latest.json").write_text(text, encoding="utf-8")
    return path
