"""`medallion simulate`: daily deliveries through the whole pipeline, to watch drift being
detected and retraining being triggered.

The product's generator writes `history` days of landing files at once (a backfill), which
are ingested and on which the ML zone trains a first champion. Then each simulated day:
the generator delivers that day's files alone (byte-identical to a full run); the landing
sensor is evaluated and its requests, one per file content, run in process (merged into one
run of the ingest job: the same files and tables as the separate runs, each built once);
the daily schedule's request runs the monitoring job; the retrain sensor is evaluated and
its request, if any, runs the retrain job. Everything is recorded in one Dagster instance,
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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg

from medallion.assets.jobs import has_model, ingest_job_name, monitoring_job_name
from medallion.build import build_definitions
from medallion.generate.options import DriftOptions
from medallion.generate.product import generator_default, run_generator
from medallion.monitoring import names
from medallion.resources.warehouse import connect
from medallion.settings import Settings
from medallion.spec import ProductSpec

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
"""Run config for in-process runs: their events go to the instance, not the terminal."""
Echo = Callable[[str], None]


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
class Retraining:
    """One retraining requested by the retrain sensor and what it produced."""

    day: int
    run_key: str
    reason: str
    success: bool
    versions: list[str]
    champion_before: str | None
    champion_after: str | None
    decision: str


@dataclass
class DayReport:
    """What the evaluation said on one simulated day."""

    day: int
    date: date
    drift_status: str = "-"
    drifted: list[str] = field(default_factory=list)
    prediction: str = "-"
    performance: str = "-"
    champion: str | None = None
    action: str = ""
    seconds: float = 0.0


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


def _model_spec(spec: ProductSpec, options: SimulationOptions, horizon: int) -> ProductSpec:
    """The spec the simulation trains with (see SimulationOptions.gap_days, lenient_gates)."""
    assert spec.model is not None
    update: dict = {}
    gap = options.gap_days if options.gap_days is not None else max(spec.model.gap_days, horizon)
    if gap != spec.model.gap_days:
        update["gap_days"] = gap
    if options.lenient_gates:
        update["gates"] = spec.model.gates.model_copy(
            update={
                "bias_max_difference": 1.0,
                "min_recall": 0.05,
                "latency_p95_ms": 1000.0,
                "batch_seconds": 60.0,
                "batch_rows": 2000,
                "latency_samples": 20,
                "latency_rounds": 1,
            }
        )
    if not update:
        return spec
    return spec.model_copy(update={"model": spec.model.model_copy(update=update)})


def _label_horizon(settings: Settings, spec: ProductSpec) -> int:
    """Days at the end of the gold feature table whose label is still unknown."""
    assert spec.model is not None
    model = spec.model
    with connect(settings.warehouse, read_only=True) as con:
        latest, labelled = con.execute(
            f'SELECT max(CAST("{model.time_column}" AS DATE)), '
            f'max(CAST("{model.time_column}" AS DATE)) FILTER (WHERE "{model.target}" IS NOT NULL) '
            f"FROM {spec.table('gold', model.table)}"
        ).fetchone()
    if latest is None or labelled is None:
        return 0
    return (latest - labelled).days


class _Runner:
    """Runs what sensors and schedules request, in process, in one Dagster instance."""

    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance) -> None:
        self.defs = defs
        self.instance = instance
        self.cursors: dict[str, str | None] = {}
        self.done_keys: set[str] = set()

    def tick(self, sensor_name: str) -> list[dg.RunRequest]:
        """Evaluate a sensor like the daemon does, keeping its cursor; drop run keys already
        run."""
        sensor = self.defs.resolve_sensor_def(sensor_name)
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursors.get(sensor_name),
            sensor_name=sensor_name,
            resources=dict(self.defs.resources or {}),
            # partitioned run requests are resolved against the asset graph
            definitions=self.defs,
        )
        data = sensor.evaluate_tick(context)
        self.cursors[sensor_name] = data.cursor
        requests = [r for r in data.run_requests or [] if r.run_key not in self.done_keys]
        self.done_keys.update(r.run_key for r in requests if r.run_key)
        return requests

    def schedule(self, name: str, when: datetime) -> list[dg.RunRequest]:
        schedule = self.defs.resolve_schedule_def(name)
        context = dg.build_schedule_context(instance=self.instance, scheduled_execution_time=when)
        return list(schedule.evaluate_tick(context).run_requests or [])

    def run(
        self,
        job_name: str,
        selection: list[dg.AssetKey] | None = None,
        tags: dict[str, str] | None = None,
    ) -> dg.ExecuteInProcessResult:
        job = self.defs.resolve_job_def(job_name)
        return job.execute_in_process(
            run_config=QUIET,
            instance=self.instance,
            asset_selection=selection,
            tags=tags or {},
            raise_on_error=False,
        )


def _metadata(result: dg.ExecuteInProcessResult, key: dg.AssetKey) -> dict | None:
    for event in result.get_asset_materialization_events():
        if event.asset_key == key:
            return {k: v.value for k, v in event.materialization.metadata.items()}
    return None


def _failures(result: dg.ExecuteInProcessResult) -> str:
    messages = [
        f"{e.step_key}: {e.event_specific_data.error.message.strip().splitlines()[0]}"
        for e in result.get_step_failure_events()
    ]
    return "; ".join(messages) or "failed"


def _champion_version(defs: dg.Definitions, spec: ProductSpec) -> str | None:
    from medallion.ml import registry

    tracking = defs.resources["tracking"]
    version = registry.version_by_alias(
        tracking.activate(), registry.registered_model_name(spec), registry.CHAMPION
    )
    return str(version.version) if version else None


def _registered(result: dg.ExecuteInProcessResult, spec: ProductSpec) -> list[str]:
    assert spec.model is not None
    versions = []
    for variant in spec.model.variants:
        metadata = _metadata(result, dg.AssetKey([spec.name, "ml", variant]))
        if metadata and metadata.get("model_version"):
            versions.append(str(metadata["model_version"]))
    return sorted(versions, key=int)


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
        defs = build_definitions([spec], settings)
        runner = _Runner(defs, instance)
        requests = runner.tick(f"{spec.name}_landing")
        result = _ingest(runner, spec, requests, {"medallion/simulated_day": "backfill"})
        if result is None or not result.success:
            reason = _failures(result) if result else "no landing file"
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
            defs = build_definitions([trained], settings)
            runner.defs = defs
        champion = _train(runner, trained, echo, "backfill")
        report.initial_champion = champion
        for day in range(options.days):
            day_started = time.perf_counter()
            absolute = options.history + day
            today = report.start + timedelta(days=absolute)
            entry = DayReport(day, today)
            _generate(spec, settings, options, [absolute])
            tags = {"medallion/simulated_day": str(day)}
            result = _ingest(runner, spec, runner.tick(f"{spec.name}_landing"), tags)
            if result is not None and not result.success:
                entry.action = f"ingest failed: {_failures(result)}"
            if _champion_version(defs, trained) is None:
                _train(runner, trained, echo, f"day {day}")
            evaluate_at = datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(
                days=1, hours=6
            )
            for request in runner.schedule(f"{spec.name}_monitoring_daily", evaluate_at):
                monitored = runner.run(monitoring_job_name(spec), tags={**request.tags, **tags})
                _read_evaluation(monitored, spec, entry)
            entry.champion = _champion_version(defs, trained)
            for request in runner.tick(f"{spec.name}_retrain_on_alert"):
                report.retrainings.append(_retrain(runner, trained, day, request, echo))
                entry.action = (entry.action + " retrain").strip()
            entry.seconds = time.perf_counter() - day_started
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
    return _model_spec(spec, options, _label_horizon(settings, spec))


def _ingest(
    runner: _Runner, spec: ProductSpec, requests: list[dg.RunRequest], tags: dict[str, str]
) -> dg.ExecuteInProcessResult | None:
    """One in-process run of the ingest job for the union of the requests' selections."""
    if not requests:
        return None
    selection = sorted(
        {key for request in requests for key in request.asset_selection or []},
        key=lambda k: k.to_user_string(),
    )
    tags = tags | {"medallion/files": str(len(requests))}
    return runner.run(ingest_job_name(spec), selection, tags)


def _train(runner: _Runner, spec: ProductSpec, echo: Echo, when: str) -> str | None:
    """Run the retrain job (the first training); the champion version after it."""
    from medallion.assets.jobs import retrain_job_name

    result = runner.run(retrain_job_name(spec), tags={"medallion/trigger": "simulation"})
    champion = _champion_version(runner.defs, spec)
    if not result.success:
        echo(f"{when}: training failed: {_failures(result)}")
    elif champion is None:
        echo(f"{when}: no champion yet (too few labelled days, or no variant passed its gates)")
    else:
        echo(
            f"{when}: trained versions {', '.join(_registered(result, spec))}; champion v{champion}"
        )
    return champion


def _retrain(
    runner: _Runner, spec: ProductSpec, day: int, request: dg.RunRequest, echo: Echo
) -> Retraining:
    """Run what the retrain sensor requested and record what it registered and promoted."""
    from medallion.assets.jobs import retrain_job_name

    before = _champion_version(runner.defs, spec)
    tags = dict(request.tags) | {"dagster/run_key": request.run_key or ""}
    result = runner.run(retrain_job_name(spec), tags=tags)
    after = _champion_version(runner.defs, spec)
    champion = _metadata(result, dg.AssetKey([spec.name, "ml", "champion"])) or {}
    retraining = Retraining(
        day=day,
        run_key=request.run_key or "",
        reason=request.tags.get("medallion/reason", ""),
        success=result.success,
        versions=_registered(result, spec),
        champion_before=before,
        champion_after=after,
        decision=str(champion.get("decision", _failures(result) if not result.success else "")),
    )
    echo(
        f"      retraining requested ({retraining.run_key}: {retraining.reason}); registered "
        f"versions {', '.join(retraining.versions) or 'none'}; champion v{before} -> v{after}"
    )
    return retraining


def _read_evaluation(
    result: dg.ExecuteInProcessResult, spec: ProductSpec, entry: DayReport
) -> None:
    """Copy the monitoring run's verdicts into the day's report."""
    drift = _metadata(result, dg.AssetKey([spec.name, names.GROUP, names.DRIFT]))
    if drift:
        entry.drift_status = str(drift.get("status", "-"))
        listed = str(drift.get("drifted_features", "none"))
        entry.drifted = [] if listed == "none" else listed.split(", ")
    for check in result.get_asset_check_evaluations():
        if check.check_name == names.PREDICTION_DRIFT_CHECK:
            entry.prediction = str(check.metadata["status"].value)
    performance = _metadata(result, dg.AssetKey([spec.name, names.GROUP, names.PERFORMANCE]))
    if performance:
        entry.performance = str(performance.get("status", "-"))


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
