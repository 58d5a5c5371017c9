"""Stage 3 of the benchmark: drift evaluation of the latest gold window against a reference,
and scoring latency of the champion model when there is one.

Drift is timed with the monitoring zone's own statistics (`medallion.monitoring.drift`) on
the warehouse the pipeline stage just built: the latest `window_days` of the model's gold
table against the `reference_days` before it. The benchmark trains no model (the ML zone is
not part of the pipeline's cost), so its scratch registry never holds a champion: scoring
latency is reported as skipped, with the reason, until a champion can be brought in.
"""

from __future__ import annotations

import importlib.util
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from medallion.resources.warehouse import connect
from medallion.spec import ProductSpec
from medallion.zones.sql import quote

MONITORING_MODULE = "medallion.monitoring"
NO_CHAMPION = "no champion: the benchmark trains no model, its scratch registry is empty"


def stage3_missing(spec: ProductSpec) -> str | None:
    """Why stage 3 cannot run for this product, or None when it can."""
    if importlib.util.find_spec(MONITORING_MODULE) is None:
        return f"{MONITORING_MODULE} does not exist: no drift evaluation to time"
    if spec.model is None:
        return f"product {spec.name!r} declares no model: nothing to monitor"
    return None


def skipped(reason: str) -> dict[str, Any]:
    """The report entry of a stage 3 that did not run."""
    return {"status": "skipped", "reason": reason, "drift_s": None, "scoring": skipped_scoring()}


def skipped_scoring(reason: str = NO_CHAMPION) -> dict[str, Any]:
    return {"status": "skipped", "reason": reason, "p50_ms": None, "p95_ms": None}


def run_drift(spec: ProductSpec, warehouse: Path, config: dict[str, Any]) -> dict[str, Any]:
    """Time one drift evaluation: read both windows of gold, then every feature's statistics.

    Args:
        spec: the product; its model names the gold table, features and time column.
        warehouse: the DuckDB file the pipeline stage built.
        config: DuckDB settings of the warehouse connection.

    Returns:
        Seconds to read and to compute, rows on each side, and the verdict.
    """
    from medallion.monitoring.drift import compare, split_kinds, summarize
    from medallion.monitoring.windows import reference_filter, trailing_window

    assert spec.model is not None
    model, monitoring = spec.model, spec.monitoring
    table = spec.table("gold", model.table)
    day = f"CAST({quote(model.time_column)} AS DATE)"
    columns = ", ".join(quote(c) for c in dict.fromkeys([model.time_column, *model.features]))
    started = time.perf_counter()
    with connect(warehouse, read_only=True, config=config) as con:
        latest = con.execute(f"SELECT max({day}) FROM {table}").fetchone()[0]
        if latest is None:
            return skipped(f"{table} is empty")
        window = trailing_window(latest, monitoring.window_days)
        reference_end = window.start - timedelta(days=1)
        first = reference_end - timedelta(days=monitoring.reference_days - 1)
        read = f"SELECT {columns} FROM {table} WHERE {day} BETWEEN ? AND ?"
        reference = con.execute(read, [first, reference_end]).pl()
        current = con.execute(read, [window.start, window.end]).pl()
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    reference = reference.filter(
        reference_filter(model.time_column, reference_end, window, monitoring)
    )
    if reference.is_empty() or current.is_empty():
        return skipped(f"{table} has too few days for a window and its reference")
    numeric, categorical = split_kinds(reference.schema, model.features)
    statistics = compare(reference, current, numeric, categorical, monitoring)
    verdict = summarize(statistics, window.start, window.end, monitoring)
    drift_s = time.perf_counter() - started
    return {
        "status": "ok",
        "reason": None,
        "read_s": read_s,
        "drift_s": drift_s,
        "reference_rows": reference.height,
        "current_rows": current.height,
        "features": len(numeric) + len(categorical),
        "window": [window.start.isoformat(), window.end.isoformat()],
        "drifted_share": verdict.drifted_share,
        "scoring": skipped_scoring(),
    }
