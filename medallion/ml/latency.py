"""Responsiveness of a model as it is served: single-row latency percentiles and batch time.

The same measurement runs on a pyfunc model loaded back from MLflow (in process) and on the
HTTP scoring server, so the two figures compare. Inputs are built before the clock starts;
only the prediction call is timed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

WARMUP_CALLS = 10
"""Untimed calls first: lazy imports and first-call caches are not scoring latency."""


@dataclass(frozen=True)
class LatencyReport:
    """Single-row latency percentiles and the time to score one batch."""

    p50_ms: float
    p95_ms: float
    p99_ms: float
    samples: int
    batch_rows: int
    batch_seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.batch_rows / self.batch_seconds if self.batch_seconds > 0 else float("inf")

    def as_metrics(self, prefix: str = "latency") -> dict[str, float]:
        return {
            f"{prefix}/p50_ms": self.p50_ms,
            f"{prefix}/p95_ms": self.p95_ms,
            f"{prefix}/p99_ms": self.p99_ms,
            f"{prefix}/batch_seconds": self.batch_seconds,
            f"{prefix}/batch_rows_per_second": self.rows_per_second,
        }


def percentiles_ms(durations_ns: list[int]) -> tuple[float, float, float]:
    """p50, p95 and p99 of durations in nanoseconds, in milliseconds."""
    values = np.asarray(durations_ns, dtype=np.float64) / 1e6
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return float(p50), float(p95), float(p99)


def batch_frame(rows: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """`size` rows drawn with replacement (seeded) from `rows`: a batch of realistic values."""
    picks = np.random.default_rng(seed).integers(0, len(rows), size=size)
    return rows.iloc[picks].reset_index(drop=True)


def measure_latency(
    predict: Callable[[pd.DataFrame], object],
    rows: pd.DataFrame,
    *,
    samples: int,
    batch_rows: int,
    seed: int,
) -> LatencyReport:
    """Time `samples` single-row predictions and one prediction of `batch_rows` rows.

    Args:
        predict: the scoring call, e.g. a pyfunc model's `predict` or an HTTP client.
        rows: model input rows to draw from (the holdout).
        samples: single-row calls timed.
        batch_rows: rows of the batch.
        seed: seeds which rows are drawn.

    Returns:
        The report; the batch is timed once, after a warm-up on a small slice.
    """
    rng = np.random.default_rng(seed)
    singles = [rows.iloc[[i]] for i in rng.integers(0, len(rows), size=samples + WARMUP_CALLS)]
    for frame in singles[:WARMUP_CALLS]:
        predict(frame)
    durations = []
    for frame in singles[WARMUP_CALLS:]:
        started = time.perf_counter_ns()
        predict(frame)
        durations.append(time.perf_counter_ns() - started)
    batch = batch_frame(rows, batch_rows, seed)
    predict(batch.iloc[: min(1_000, batch_rows)])
    started = time.perf_counter()
    predict(batch)
    batch_seconds = time.perf_counter() - started
    p50, p95, p99 = percentiles_ms(durations)
    return LatencyReport(p50, p95, p99, samples, batch_rows, batch_seconds)
