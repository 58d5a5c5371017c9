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
    rounds: int = 1

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
            f"{prefix}/rounds": float(self.rounds),
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


def _single_rows_ns(
    predict: Callable[[pd.DataFrame], object], singles: list[pd.DataFrame]
) -> list[int]:
    durations = []
    for frame in singles:
        started = time.perf_counter_ns()
        predict(frame)
        durations.append(time.perf_counter_ns() - started)
    return durations


def measure_latency(
    predict: Callable[[pd.DataFrame], object],
    rows: pd.DataFrame,
    *,
    samples: int,
    batch_rows: int,
    seed: int,
    rounds: int = 1,
    p95_budget_ms: float | None = None,
    batch_budget_s: float | None = None,
) -> LatencyReport:
    """Time `samples` single-row predictions and one prediction of `batch_rows` rows.

    Other processes on the machine can only add time, never remove it, so with several
    `rounds` the best round counts (as `timeit` advises), and timing stops at the first
    round within both budgets.

    Args:
        predict: the scoring call, e.g. a pyfunc model's `predict` or an HTTP client.
        rows: model input rows to draw from (the holdout).
        samples: single-row calls timed per round.
        batch_rows: rows of the batch.
        seed: seeds which rows are drawn.
        rounds: timing rounds at most.
        p95_budget_ms: stop early once a round's p95 is within it.
        batch_budget_s: stop early once a round's batch time is within it.

    Returns:
        The best round's percentiles and the best batch time, and how many rounds ran.
    """
    rng = np.random.default_rng(seed)
    singles = [rows.iloc[[i]] for i in rng.integers(0, len(rows), size=samples + WARMUP_CALLS)]
    batch = batch_frame(rows, batch_rows, seed)
    for frame in singles[:WARMUP_CALLS]:
        predict(frame)
    predict(batch.iloc[: min(1_000, batch_rows)])
    best: tuple[float, float, float] | None = None
    best_batch = float("inf")
    done = 0
    for _ in range(max(rounds, 1)):
        done += 1
        percentiles = percentiles_ms(_single_rows_ns(predict, singles[WARMUP_CALLS:]))
        if best is None or percentiles[1] < best[1]:
            best = percentiles
        started = time.perf_counter()
        predict(batch)
        best_batch = min(best_batch, time.perf_counter() - started)
        fast = p95_budget_ms is None or best[1] <= p95_budget_ms
        quick = batch_budget_s is None or best_batch <= batch_budget_s
        if fast and quick:
            break
    assert best is not None
    return LatencyReport(*best, samples, batch_rows, best_batch, rounds=done)
