"""`medallion simulate`: daily deliveries through the whole pipeline, to watch drift being
detected and retraining being triggered.

The product's generator writes `history` days of landing files at once (a backfill), which
are ingested and on which the ML zone trains a first champion. Then each simulated day:
the generator delivers that day's files alone (byte-identical to a full run) and the daily
operation runs in process (medallion.operation: the landing sensor's requests as one run of
the ingest job, the daily schedule's monitoring run, the retrain sensor's request if any). Everything is recorded in one Dagster instance,
warehouse and MLflow store under `home`, so the UIs can be opened on it afterwards. The
report says on which day drift was detected, which features moved, which retraining ran
and which model versions it registered.

Training uses `gap_days` = the label horizon seen in gold when the product declares fewer
(an honest holdout for the performance monitor to compare with) and, unless asked not to,
relaxed bias and latency gates, which a world of a few hundred customers cannot meet. Both
are printed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

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


@dataclass(frozen=True)
class SimulationOptions:
    """What to simulate; days count from the end of the history."""

    home: Path
    days: int = 60
    drift_from: int | None = 30
    drift_strength: float = 1.0
    history: int = 120
    customers: int | None = 400
    seed: int = 42
    gap_days: int | None = None
    """Days between training and holdout; None: the label horizon observed in gold when the
    product declares fewer, so the holdout metric the monitor compares with is honest."""
    lenient_gates: bool = True
    """Relax the bias and latency gates: in a world of a few hundred customers the groups
    are too small for the bias gate and a loaded laptop misses the latency budget, and the
    gates are not what is simulated. False keeps the product's gates."""


@dataclass
class SimulationReport:
    """The days, the retrainings and where detection happened."""

    product: str
    options: SimulationOptions
    start: date | None = None
    days: list[DayReport] = field(default_factory=list)
    retrainings: list[Retraining] = field(default_factory=list)
    initial_champion: str | None = None
    seconds: float = 0.0

    @property
    def drift_date(self) -> date | None:
        if self.options.drift_from is None or self.start is None:
            return None
        return self.start + timedelta(days=self.options.history + self.options.drift_from)

    @property
    def first_alert(self) -> DayReport | None:
        """The first day whose drift status was 'alert' (dataset or prediction drift)."""
        return next((d for d in self.days if d.drift_status == "alert"), None)

    @property
    def false_alarms(self) -> list[DayReport]:
        """Alert days before the drift started (or any, without drift)."""
        start = self.options.drift_from
        return [
            d for d in self.days if d.drift_status == "alert" and (start is None or d.day < start)
        ]


def _generate(
    spec: ProductSpec, settings: Settings, options: SimulationOptions, days: Iterable[int]
) -> None:
    """Deliver the given days of the product's world (drift from history + drift_from)."""
    total = options.history + options.days
    drift = (
        DriftOptions(options.history + options.drift_from, options.drift_strength)
        if options.drift_from is not None
        else None
    )
    extra = {}
    if options.customers is not None:
        try:
            generator_default(spec, "customers")
            extra["customers"] = options.customers
        except KeyError:
            pass
    run_generator(
        spec,
        settings.landing,
        seed=options.seed,
        days=total,
        drift=drift,
        deliver_days=list(days),
        **extra,
    )


def _backfill(
    runner: Operator, spec: ProductSpec, settings: Settings, options: SimulationOptions, echo: Echo
) -> ProductSpec:
    """Ingest the delivered history; the spec the models train with (label horizon)."""
    result = ingest(runner, spec, {DAY_TAG: "backfill"})
    if result is None or not result.success:
        reason = failures(result) if result else "no landing file"
        raise RuntimeError(f"backfill ingestion failed: {reason}")
    trained = _with_horizon(spec, settings, options)
    if options.lenient_gates:
        echo("bias and latency gates relaxed for the simulation (--strict-gates keeps them)")
    assert trained.model is not None and spec.model is not None
    if trained.model.gap_days != spec.model.gap_days:
        echo(
            f"training with gap_days={trained.model.gap_days} (product: "
            f"{spec.model.gap_days}): the label horizon, so no entity is labelled on both "
            "sides of the holdout split and the holdout metric is honest"
        )
    if trained is not spec:
        runner.defs = build_definitions([trained], settings)
    return trained


def simulate(
    spec: ProductSpec,
    options: SimulationOptions,
    echo: Echo = print,
) -> SimulationReport:
    """Run the simulation described in the module docstring; see SimulationOptions."""
    if not has_model(spec) or not spec.generator:
        raise ValueError(f"product {spec.name!r} needs model variants and a generator to simulate")
    started = time.perf_counter()
    home = options.home.resolve()
    settings = Settings(
        home=home,
        data=home / "data",
        warehouse=home / "data" / "warehouse.duckdb",
        landing=home / "data" / "landing",
        products=(),
    )
    report = SimulationReport(spec.name, options)
    report.start = _start_day(spec)
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    with dg.DagsterInstance.local_temp(str(settings.dagster_home)) as instance:
        echo(f"{spec.name}: backfill of {options.history} days into {settings.landing}")
        _generate(spec, settings, options, range(options.history))
        runner = Operator(build_definitions([spec], settings), instance)
        trained = _backfill(runner, spec, settings, options, echo)
        report.initial_champion = train(runner, trained, echo, "backfill", "simulation")
        for day in range(options.days):
            started_day = time.perf_counter()
            absolute = options.history + day
            _generate(spec, settings, options, [absolute])
            today = report.start + timedelta(days=absolute)
            entry, retrainings = operate_day(runner, trained, day, today, echo)
            entry.seconds = time.perf_counter() - started_day
            report.retrainings += retrainings
            report.days.append(entry)
            echo(_day_line(entry))
    report.seconds = time.perf_counter() - started
    return report


def _start_day(spec: ProductSpec) -> date:
    try:
        return generator_default(spec, "start")
    except KeyError:
        return date(2026, 1, 5)


def _with_horizon(spec: ProductSpec, settings: Settings, options: SimulationOptions) -> ProductSpec:
    return training_spec(
        spec,
        label_horizon(settings, spec),
        gap_days=options.gap_days,
        lenient=options.lenient_gates,
    )


def _day_line(entry: DayReport) -> str:
    drifted = ", ".join(entry.drifted) or "-"
    return (
        f"day {entry.day:>3} {entry.date} ({entry.seconds:4.1f} s)  drift {entry.drift_status:<12} scores "
        f"{entry.prediction:<12} performance {entry.performance:<12} champion "
        f"v{entry.champion or '-'}  drifted: {drifted}  {entry.action}"
    ).rstrip()


def format_report(report: SimulationReport) -> str:
    """The summary printed at the end of `medallion simulate`."""
    options = report.options
    lines = [
        f"\n{report.product}: {options.history} days of history, then {options.days} daily "
        f"deliveries in {report.seconds:.0f} s (seed {options.seed})"
    ]
    drift_date = report.drift_date
    if drift_date is not None:
        lines.append(
            f"drift injected from day {options.drift_from} ({drift_date}), strength "
            f"{options.drift_strength:g}"
        )
    first = report.first_alert
    if first is None:
        lines.append("drift detected: never")
    else:
        late = f", {first.day - options.drift_from} day(s) after it began" if drift_date else ""
        lines.append(
            f"drift detected: day {first.day} ({first.date}){late}; drifted features: "
            f"{', '.join(first.drifted) or 'none (champion scores)'}"
        )
    false_alarms = report.false_alarms
    lines.append(
        "alerts before the drift: "
        + (", ".join(f"day {d.day}" for d in false_alarms) if false_alarms else "none")
    )
    lines.append(f"first champion: v{report.initial_champion}")
    for r in report.retrainings:
        change = (
            f"champion v{r.champion_before} -> v{r.champion_after}"
            if r.champion_after != r.champion_before
            else f"champion stays v{r.champion_before}"
        )
        lines.append(
            f"retraining on day {r.day} (run key {r.run_key}): "
            f"{'succeeded' if r.success else 'FAILED'}; new versions "
            f"{', '.join(r.versions) or 'none'}; {change}. {r.decision}"
        )
    if not report.retrainings:
        lines.append("retraining: none requested")
    home = options.home.resolve()
    lines.append(
        f"history: {report.product}_monitoring.drift_history and performance_history in "
        f"{home / 'data' / 'warehouse.duckdb'}; see everything with "
        f"`MEDALLION_HOME={home} medallion ui`"
    )
    return "\n".join(lines)
