"""Responsiveness of a model as it is served: single-row latency percentiles and batch time,
each in CPU time (what the gate judges) and wall time (reported beside it).

Wall time on a shared machine measures the machine: two busy processes on two cores tripled
the single-row p95 of the same model. The CPU time this thread spends in the call is what
the model costs, and other processes barely change it, so the gate decides on CPU time and
reports wall percentiles for what a caller waits. Inputs are built before the clock starts;
only the prediction call is timed. The same measurement runs over HTTP (wall only: the
server's CPU is another process).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

WARMUP_CALLS = 10
"""Untimed calls first: lazy imports and first-call caches are not scoring latency."""


@dataclass(frozen=True)
class LatencyReport:
    """Single-row latency percentiles and the time to score one batch, CPU and wall."""

    p50_ms: float
    p95_ms: float
    p99_ms: float
    samples: int
    batch_rows: int
    batch_seconds: float
    rounds: int = 1
    cpu_p50_ms: float = float("nan")
    cpu_p95_ms: float = float("nan")
    cpu_p99_ms: float = float("nan")
    batch_cpu_seconds: float = float("nan")

    @property
    def rows_per_second(self) -> float:
        return self.batch_rows / self.batch_seconds if self.batch_seconds > 0 else float("inf")

    def as_metrics(self, prefix: str = "latency") -> dict[str, float]:
        values = {
            f"{prefix}/p50_ms": self.p50_ms,
            f"{prefix}/p95_ms": self.p95_ms,
            f"{prefix}/p99_ms": self.p99_ms,
            f"{prefix}/cpu_p50_ms": self.cpu_p50_ms,
            f"{prefix}/cpu_p95_ms": self.cpu_p95_ms,
            f"{prefix}/cpu_p99_ms": self.cpu_p99_ms,
            f"{prefix}/batch_seconds": self.batch_seconds,
            f"{prefix}/batch_cpu_seconds": self.batch_cpu_seconds,
            f"{prefix}/batch_rows_per_second": self.rows_per_second,
            f"{prefix}/rounds": float(self.rounds),
        }
        return {k: v for k, v in values.items() if v == v}


def percentiles_ms(durations_ns: list[int]) -> tuple[float, float, float]:
    """p50, p95 and p99 of durations in nanoseconds, in milliseconds."""
    values = np.asarray(durations_ns, dtype=np.float64) / 1e6
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return float(p50), float(p95), float(p99)


def batch_frame(rows: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """`size` rows drawn with replacement (seeded) from `rows`: a batch of realistic values."""
    picks = np.random.default_rng(seed).integers(0, len(rows), size=size)
    return rows.iloc[picks].reset_index(drop=True)


def _timed(predict: Callable[[pd.DataFrame], object], frame: pd.DataFrame) -> tuple[int, int]:
    """Wall and CPU nanoseconds of one call (CPU of this thread: one BLAS/OpenMP thread runs
    the model in the calling thread, and other threads of the process are not the model's)."""
    wall, cpu = time.perf_counter_ns(), time.thread_time_ns()
    predict(frame)
    return time.perf_counter_ns() - wall, time.thread_time_ns() - cpu


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Keep the cyclic garbage collector out of the timed calls: a collection of a process
    holding Dagster, MLflow and GX takes a third of a second, whichever call it lands in
    (collecting before each round cost as much on every round). What the calls leave is
    collected after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class _Round:
    wall: tuple[float, float, float]
    cpu: tuple[float, float, float]
    batch_wall_s: float
    batch_cpu_s: float


def _round(predict, singles: list[pd.DataFrame], batch: pd.DataFrame) -> _Round:
    with _no_gc_pauses():
        timings = [_timed(predict, frame) for frame in singles]
        batch_wall, batch_cpu = _timed(predict, batch)
    return _Round(
        percentiles_ms([w for w, _ in timings]),
        percentiles_ms([c for _, c in timings]),
        batch_wall / 1e9,
        batch_cpu / 1e9,
    )


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
    """Time `samples` single-row predictions and one prediction of `batch_rows` rows, after
    untimed warm-up calls.

    Other processes can only add time, so with several `rounds` the round with the lowest
    CPU p95 counts (and the lowest batch time), and timing stops at the first round whose CPU
    times are within both budgets.

    Args:
        predict: the scoring call, e.g. a pyfunc model's `predict` or an HTTP client.
        rows: model input rows to draw from (the holdout).
        samples: single-row calls timed per round.
        batch_rows: rows of the batch.
        seed: seeds which rows are drawn.
        rounds: timing rounds at most.
        p95_budget_ms: stop early once a round's CPU p95 is within it.
        batch_budget_s: stop early once a round's batch CPU time is within it.
    """
    rng = np.random.default_rng(seed)
    singles = [rows.iloc[[i]] for i in rng.integers(0, len(rows), size=samples + WARMUP_CALLS)]
    batch = batch_frame(rows, batch_rows, seed)
    for frame in singles[:WARMUP_CALLS]:
        predict(frame)
    predict(batch.iloc[: min(1_000, batch_rows)])
    best: _Round | None = None
    best_batch = (float("inf"), float("inf"))
    done = 0
    for _ in range(max(rounds, 1)):
        done += 1
        measured = _round(predict, singles[WARMUP_CALLS:], batch)
        if best is None or measured.cpu[1] < best.cpu[1]:
            best = measured
        best_batch = min(best_batch, (measured.batch_cpu_s, measured.batch_wall_s))
        fast = p95_budget_ms is None or best.cpu[1] <= p95_budget_ms
        quick = batch_budget_s is None or best_batch[0] <= batch_budget_s
        if fast and quick:
            break
    assert best is not None
    return LatencyReport(
        *best.wall,
        samples=samples,
        batch_rows=batch_rows,
        batch_seconds=best_batch[1],
        rounds=done,
        cpu_p50_ms=best.cpu[0],
        cpu_p95_ms=best.cpu[1],
        cpu_p99_ms=best.cpu[2],
        batch_cpu_seconds=best_batch[0],
    )
