"""How fast the drift statistics are: one window of `rows` rows by `features` features against a
reference of as many rows, timed end to end (sorting, binning, PSI, KS/JS, noise levels).

    python -m medallion.bench.drift --rows 1000000 --features 20

Three quarters of the features are numbers (lognormal, some missing), a quarter categories;
half of them drift, so every code path runs.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
import polars as pl

from medallion.monitoring.drift import compare, summarize
from medallion.spec import MonitoringSpec

CATEGORIES = ("mobile", "web", "tv", "tablet", "console")


@dataclass(frozen=True)
class BenchResult:
    rows: int
    features: int
    seconds: list[float]
    drifted: list[str]

    @property
    def best(self) -> float:
        return min(self.seconds)


def frames(
    rows: int, features: int, seed: int = 0
) -> tuple[pl.DataFrame, pl.DataFrame, list[str], list[str]]:
    """A reference and a current frame; odd-numbered features drift in the current one."""
    rng = np.random.default_rng(seed)
    categorical = [f"c{i}" for i in range(features // 4)]
    numeric = [f"n{i}" for i in range(features - len(categorical))]
    reference, current = {}, {}
    for index, name in enumerate(numeric):
        shift = 0.6 if index % 2 else 0.0
        ref = rng.lognormal(0.0, 1.0, rows)
        ref[rng.random(rows) < 0.01] = np.nan
        reference[name], current[name] = ref, rng.lognormal(shift, 1.0, rows)
    for index, name in enumerate(categorical):
        p = np.array([0.4, 0.3, 0.15, 0.1, 0.05])
        q = p[::-1] if index % 2 else p
        reference[name] = np.asarray(CATEGORIES)[rng.choice(5, rows, p=p)]
        current[name] = np.asarray(CATEGORIES)[rng.choice(5, rows, p=q)]
    return pl.DataFrame(reference), pl.DataFrame(current), numeric, categorical


def run(rows: int = 1_000_000, features: int = 20, repeat: int = 3) -> BenchResult:
    """Time `repeat` comparisons of the same frames; the first includes first-call costs."""
    reference, current, numeric, categorical = frames(rows, features)
    monitoring = MonitoringSpec()
    seconds, window = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        statistics = compare(reference, current, numeric, categorical, monitoring)
        window = summarize(statistics, None, None, monitoring)  # type: ignore[arg-type]
        seconds.append(time.perf_counter() - started)
    assert window is not None
    return BenchResult(rows, features, seconds, sorted(f.feature for f in window.drifted))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    result = run(args.rows, args.features, args.repeat)
    print(
        f"drift of {result.rows:,} rows x {result.features} features against {result.rows:,} "
        f"reference rows: {result.best:.2f} s best, "
        + ", ".join(f"{s:.2f}" for s in result.seconds)
        + f" s per run; {len(result.drifted)} drifted"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
