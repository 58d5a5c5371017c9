"""The demo's timeline: time passes for every product, through the daily operation.

Each product's generator delivers `history` days at once; they are ingested (one run of the
product's ingest job, requested by its landing sensor) and the models trained on them (the
retrain job). Then the following `days` are delivered one at a time, with the generator's
drift from `drift_from` on, and each goes through the daily operation a user runs
(medallion.operation: landing sensor → ingest job → monitoring schedule's run → retrain
sensor → retrain job when it decides). Everything lands in the instance, warehouse and MLflow
store that `medallion ui` opens.

Like `medallion simulate`, training uses the label horizon as `gap_days` (an honest holdout
for the performance monitor) and, unless told not to, the relaxed gates of
medallion.operation.LENIENT_GATES; both are printed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, timedelta

from medallion.assets.jobs import has_model
from medallion.build import build_definitions
from medallion.generate.options import DriftOptions
from medallion.generate.product import generator_default, run_generator
from medallion.operation import (
    DAY_TAG,
    DayReport,
    Echo,
    Operator,
    Retraining,
    failures,
    ingest,
    label_horizon,
    operate_day,
    train,
    training_spec,
)
from medallion.settings import Settings
from medallion.spec import ProductSpec

DEMO_ROWS = {"churn": 100_000, "deliveries": 100_000}
"""Small worlds, so that the timeline stays short: churn about 420 customers (enough for its
drift to alert a day after it starts at strength 5); deliveries about 150 shipments a day."""


@dataclass(frozen=True)
class TimelineOptions:
    """How much time passes in the demo; `drift_from` counts from the end of the history."""

    history: int = 120
    days: int = 3
    drift_from: int = 1
    drift_strength: float = 5.0
    rows: dict[str, int] = field(default_factory=lambda: dict(DEMO_ROWS))
    """Rows of a product's largest source over the whole window (the generators' `rows`);
    products not named keep their generator's own size."""
    seed: int = 42
    lenient_gates: bool = True
    tags: dict[str, str] = field(default_factory=dict)
    """Added to every run (e.g. the full-refresh tag)."""


@dataclass
class TimelineReport:
    """Per product, each delivered day and each retraining; where the time went."""

    days: dict[str, list[DayReport]] = field(default_factory=dict)
    retrainings: dict[str, list[Retraining]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    success: bool = True


def _start(spec: ProductSpec) -> date:
    try:
        return generator_default(spec, "start")
    except KeyError:
        return date(2026, 1, 5)


def deliver(spec: ProductSpec, settings: Settings, options: TimelineOptions, days) -> None:
    """Write the product's landing files of `days` (indices from the generator's start) of a
    world of history + timeline days, drifting from the history's end + `drift_from`."""
    total = options.history + options.days
    extra = {"rows": options.rows[spec.name]} if spec.name in options.rows else {}
    run_generator(
        spec,
        settings.landing,
        seed=options.seed,
        days=total,
        drift=DriftOptions(options.history + options.drift_from, options.drift_strength),
        deliver_days=list(days),
        **extra,
    )


def _history(
    operator: Operator,
    specs: list[ProductSpec],
    settings: Settings,
    options: TimelineOptions,
    echo: Echo,
) -> list[ProductSpec]:
    """Ingest the delivered history and train a first champion; the specs trained with."""
    for spec in specs:
        result = ingest(operator, spec, options.tags | {DAY_TAG: "history"})
        if result is None or not result.success:
            reason = failures(result) if result else "no landing file"
            raise RuntimeError(f"{spec.name}: ingesting the history failed: {reason}")
    trained = [
        training_spec(spec, label_horizon(settings, spec), lenient=options.lenient_gates)
        if has_model(spec)
        else spec
        for spec in specs
    ]
    for spec, used in zip(specs, trained, strict=True):
        if used.model and spec.model and used.model.gap_days != spec.model.gap_days:
            echo(
                f"{spec.name}: training with gap_days={used.model.gap_days} (product: "
                f"{spec.model.gap_days}), the label horizon: an honest holdout"
            )
    if options.lenient_gates and any(has_model(s) for s in specs):
        echo("bias and latency gates relaxed for the demo's small world (see README, Demo)")
    operator.defs = build_definitions(trained, settings)
    for spec in trained:
        if has_model(spec):
            train(operator, spec, lambda line, s=spec: echo(f"{s.name} {line}"), "history", "demo")
    return trained


def run_timeline(
    specs: list[ProductSpec],
    settings: Settings,
    operator: Operator,
    options: TimelineOptions,
    echo: Echo = print,
) -> TimelineReport:
    """Deliver, ingest and train the history, then operate each following day (see the
    module docstring), through `operator` (its Definitions are rebuilt with the specs trained
    with); the products need generators."""
    report = TimelineReport()
    started = time.perf_counter()
    for spec in specs:
        deliver(spec, settings, options, range(options.history))
    report.seconds["generate"] = time.perf_counter() - started
    echo(
        f"delivered {options.history} days of history for "
        f"{', '.join(s.name for s in specs)} ({report.seconds['generate']:.1f} s)"
    )
    operator.defs = build_definitions(specs, settings)
    mark = time.perf_counter()
    trained = _history(operator, specs, settings, options, echo)
    report.seconds["history"] = time.perf_counter() - mark
    for day in range(options.days):
        mark = time.perf_counter()
        absolute = options.history + day
        for spec in specs:
            deliver(spec, settings, options, [absolute])
        for spec in trained:
            today = _start(spec) + timedelta(days=absolute)
            entry, retrainings = operate_day(
                operator, spec, day, today, echo, train_missing=False, tags=options.tags
            )
            report.days.setdefault(spec.name, []).append(entry)
            report.retrainings.setdefault(spec.name, []).extend(retrainings)
            report.success &= not entry.action.startswith("ingest failed")
            echo(day_line(spec.name, entry))
        report.seconds[f"day {day}"] = time.perf_counter() - mark
    report.seconds["total"] = time.perf_counter() - started
    return report


def day_line(product: str, entry: DayReport) -> str:
    drifted = ", ".join(entry.drifted) or "-"
    return (
        f"{product:<11} day {entry.day} {entry.date}  drift {entry.drift_status:<8} scores "
        f"{entry.prediction:<8} performance {entry.performance:<12} champion "
        f"v{entry.champion or '-'}  drifted: {drifted}  {entry.action}"
    ).rstrip()
