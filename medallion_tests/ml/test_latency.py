"""Latency measurement: percentiles, batch timing and best-of rounds."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from medallion.ml.latency import WARMUP_CALLS, batch_frame, measure_latency, percentiles_ms


def test_percentiles_in_milliseconds():
    p50, p95, p99 = percentiles_ms([i * 1_000_000 for i in range(1, 101)])
    assert p50 == pytest.approx(50.5) and p95 == pytest.approx(95.05)
    assert p99 == pytest.approx(99.01)


def test_batch_is_seeded_and_sized():
    rows = pd.DataFrame({"x": range(10)})
    first, again = batch_frame(rows, 25, seed=3), batch_frame(rows, 25, seed=3)
    assert len(first) == 25 and first.equals(again)


def test_single_rows_and_one_batch_are_timed():
    calls: list[int] = []

    def predict(frame: pd.DataFrame) -> None:
        calls.append(len(frame))
        if len(frame) > 1:
            time.sleep(0.01)

    rows = pd.DataFrame({"x": range(50)})
    report = measure_latency(predict, rows, samples=30, batch_rows=200, seed=1)
    assert calls.count(1) == WARMUP_CALLS + 30
    assert calls[-1] == 200 and report.batch_rows == 200
    assert report.batch_seconds >= 0.01 and report.rounds == 1
    assert 0 < report.p50_ms <= report.p95_ms <= report.p99_ms
    assert report.as_metrics()["latency/p95_ms"] == report.p95_ms


def test_rounds_stop_at_the_first_within_budget_and_keep_the_best():
    rows = pd.DataFrame({"x": range(50)})
    calls: list[int] = []

    def predict(frame: pd.DataFrame) -> None:
        calls.append(len(frame))

    within = measure_latency(
        predict, rows, samples=20, batch_rows=10, seed=1, rounds=3, p95_budget_ms=1e6
    )
    assert within.rounds == 1
    over = measure_latency(
        predict, rows, samples=20, batch_rows=10, seed=1, rounds=3, p95_budget_ms=0.0
    )
    assert over.rounds == 3


def test_no_garbage_collection_lands_in_a_timed_call():
    """The collector is off while calls are timed (on for the untimed warm-up) and back on
    after, so a collection's pause is never charged to a model."""
    import gc

    collector_on: list[bool] = []
    rows = pd.DataFrame({"x": range(10)})
    measure_latency(
        lambda f: collector_on.append(gc.isenabled()), rows, samples=5, batch_rows=3, seed=1
    )
    timed = collector_on[WARMUP_CALLS + 1 :]  # after the warm-up calls and warm-up batch
    assert len(timed) == 5 + 1 and not any(timed)
    assert all(collector_on[:WARMUP_CALLS]) and gc.isenabled()
