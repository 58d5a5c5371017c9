"""The daily operation, run in process: what the Dagster daemon would do for one day.

The landing sensor is evaluated like the daemon does (keeping its cursor) and its requests,
one per file content, run as one run of the product's ingest job (the same files and tables
as separate runs, each built once); the monitoring schedule's request runs the monitoring job;
the retrain sensor is evaluated and its request, if any, runs the retrain job. Every run is a
named job tagged with the product, recorded in one Dagster instance, so the UI shows them.
`medallion simulate` and the demo's timeline both drive days through it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from medallion.assets.jobs import (
    has_model,
    ingest_job_name,
    monitoring_job_name,
    retrain_job_name,
)
from medallion.assets.keys import ml_key, monitoring_key
from medallion.ml.records import CandidateRecord
from medallion.monitoring import names
from medallion.monitoring.records import MonitoringRecord
from medallion.resources.warehouse import connect
from medallion.settings import Settings
from medallion.spec import ProductSpec

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
"""Run config for in-process runs: their events go to the instance, not the terminal."""
PRODUCT_TAG = "medallion/product"
RUN_KEY_TAG = "dagster/run_key"
SENSOR_TAG = "dagster/sensor_name"
DAY_TAG = "medallion/simulated_day"
Echo = Callable[[str], None]


class Operator:
    """Runs what sensors and schedules request, in process, in one Dagster instance."""

    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance) -> None:
        self.defs = defs
        self.instance = instance
        self.cursors: dict[str, str | None] = {}
        self.done_keys: set[str] = set()
        self.results: list[dg.ExecuteInProcessResult] = []

    def tick(self, sensor_name: str) -> list[dg.RunRequest]:
        """Evaluate a sensor like the daemon does, keeping its cursor; drop run keys already
        run."""
        requests = [r for r in self.evaluate(sensor_name) if r.run_key not in self.done_keys]
        self.done_keys.update(r.run_key for r in requests if r.run_key)
        return requests

    def evaluate(self, sensor_name: str) -> list[dg.RunRequest]:
        """Every request of one tick of a sensor, keeping its cursor."""
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
        return list(data.run_requests or [])

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
        result = job.execute_in_process(
            run_config=QUIET,
            instance=self.instance,
            asset_selection=selection,
            tags=tags or {},
            raise_on_error=False,
        )
        self.results.append(result)
        return result


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

    @property
    def outcome(self) -> str:
        if not self.success:
            return "FAILED"
        if self.champion_after != self.champion_before:
            return f"champion v{self.champion_before} -> v{self.champion_after}"
        return f"champion stays v{self.champion_before}"


@dataclass
class DayReport:
    """What the evaluation said on one delivered day."""

    day: int
    date: date
    drift_status: str = "-"
    drifted: list[str] = field(default_factory=list)
    prediction: str = "-"
    performance: str = "-"
    skipped: list[str] = field(default_factory=list)
    """Why monitoring evaluated nothing ('drift: no gold day after ...'), if it did not."""
    champion: str | None = None
    action: str = ""
    seconds: float = 0.0


def metadata(result: dg.ExecuteInProcessResult, key: dg.AssetKey) -> dict | None:
    """The metadata of `key`'s materialization in `result`, as plain values."""
    for event in result.get_asset_materialization_events():
        if event.asset_key == key:
            return {k: v.value for k, v in event.materialization.metadata.items()}
    return None


def failures(result: dg.ExecuteInProcessResult) -> str:
    messages = [
        f"{e.step_key}: {e.event_specific_data.error.message.strip().splitlines()[0]}"
        for e in result.get_step_failure_events()
    ]
    return "; ".join(messages) or "failed"


def champion_version(defs: dg.Definitions, spec: ProductSpec) -> str | None:
    from medallion.ml import registry

    tracking = defs.resources["tracking"]
    version = registry.version_by_alias(
        tracking.activate(), registry.registered_model_name(spec), registry.CHAMPION
    )
    return str(version.version) if version else None


def registered(result: dg.ExecuteInProcessResult, spec: ProductSpec) -> list[str]:
    """The model versions a retrain run registered."""
    assert spec.model is not None
    versions = []
    for variant in spec.model.variants:
        found = metadata(result, ml_key(spec, variant))
        if found:
            versions.append(CandidateRecord.from_metadata(found).version)
    return sorted(versions, key=int)


def ingest(
    operator: Operator, spec: ProductSpec, tags: dict[str, str]
) -> dg.ExecuteInProcessResult | None:
    """Tick the landing sensor and run its requests as one run of the ingest job (the union
    of their selections); None when no file landed."""
    requests = operator.tick(f"{spec.name}_landing")
    if not requests:
        return None
    selection = sorted(
        {key for request in requests for key in request.asset_selection or []},
        key=lambda k: k.to_user_string(),
    )
    tags = tags | {PRODUCT_TAG: spec.name, "medallion/files": str(len(requests))}
    return operator.run(ingest_job_name(spec), selection, tags)


def train(operator: Operator, spec: ProductSpec, echo: Echo, when: str, trigger: str) -> str | None:
    """Run the retrain job (a first training); the champion version after it."""
    result = operator.run(
        retrain_job_name(spec), tags={PRODUCT_TAG: spec.name, "medallion/trigger": trigger}
    )
    champion = champion_version(operator.defs, spec)
    if not result.success:
        echo(f"{when}: training failed: {failures(result)}")
    elif champion is None:
        echo(f"{when}: no champion yet (too few labelled days, or no variant passed its gates)")
    else:
        echo(
            f"{when}: trained versions {', '.join(registered(result, spec))}; champion v{champion}"
        )
    return champion


def monitor(
    operator: Operator, spec: ProductSpec, today: date, tags: dict[str, str], entry: DayReport
) -> None:
    """Run what the monitoring schedule requests the morning after `today` (06:00 UTC) and
    copy its verdicts into `entry`."""
    when = datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1, hours=6)
    for request in operator.schedule(f"{spec.name}_monitoring_daily", when):
        result = operator.run(monitoring_job_name(spec), tags={**request.tags, **tags})
        if not result.success:
            entry.action = (entry.action + f" monitoring failed: {failures(result)}").strip()
        read_evaluation(result, spec, entry)


def retrain(
    operator: Operator, spec: ProductSpec, day: int, tags: dict[str, str], echo: Echo
) -> list[Retraining]:
    """Tick the retrain sensor and run what it requests, recording what each run registered
    and promoted."""
    done = []
    sensor = f"{spec.name}_retrain_on_alert"
    for request in operator.tick(sensor):
        before = champion_version(operator.defs, spec)
        # the run key and sensor name tags let the daemon (`medallion ui`) know this request
        # ran: its own tick of the sensor skips the run key instead of retraining again
        run_tags = (
            tags | dict(request.tags) | {RUN_KEY_TAG: request.run_key or "", SENSOR_TAG: sensor}
        )
        result = operator.run(retrain_job_name(spec), tags=run_tags)
        after = champion_version(operator.defs, spec)
        champion = metadata(result, ml_key(spec, "champion")) or {}
        retraining = Retraining(
            day=day,
            run_key=request.run_key or "",
            reason=request.tags.get("medallion/reason", ""),
            success=result.success,
            versions=registered(result, spec),
            champion_before=before,
            champion_after=after,
            decision=str(champion.get("decision", failures(result) if not result.success else "")),
        )
        echo(
            f"      retraining requested ({retraining.run_key}: {retraining.reason});"
            f" registered versions {', '.join(retraining.versions) or 'none'}; "
            f"{retraining.outcome}"
        )
        done.append(retraining)
    return done


def read_evaluation(result: dg.ExecuteInProcessResult, spec: ProductSpec, entry: DayReport) -> None:
    """Copy the monitoring run's verdicts (or why it skipped) into the day's report."""
    drift = metadata(result, monitoring_key(spec, names.DRIFT))
    if drift:
        verdict = MonitoringRecord.from_metadata(drift)
        entry.drift_status = verdict.status
        entry.drifted = list(verdict.drifted_features)
        if verdict.skipped:
            entry.skipped.append(f"drift: {verdict.skipped}")
    for check in result.get_asset_check_evaluations():
        if check.check_name == names.PREDICTION_DRIFT_CHECK:
            entry.prediction = str(check.metadata["status"].value)
    performance = metadata(result, monitoring_key(spec, names.PERFORMANCE))
    if performance:
        verdict = MonitoringRecord.from_metadata(performance)
        entry.performance = verdict.status
        if verdict.skipped:
            entry.skipped.append(f"performance: {verdict.skipped}")


def operate_day(
    operator: Operator,
    spec: ProductSpec,
    day: int,
    today: date,
    echo: Echo,
    *,
    train_missing: bool = True,
    tags: dict[str, str] | None = None,
) -> tuple[DayReport, list[Retraining]]:
    """One delivered day: ingest what landed, the morning's monitoring, a retraining when the
    sensor decides; with `train_missing`, a first training when there is no champion yet.
    A product without models is only ingested."""
    entry = DayReport(day, today)
    tags = (tags or {}) | {DAY_TAG: str(day), PRODUCT_TAG: spec.name}
    result = ingest(operator, spec, tags)
    if result is not None and not result.success:
        entry.action = f"ingest failed: {failures(result)}"
    if not has_model(spec):
        return entry, []
    if train_missing and champion_version(operator.defs, spec) is None:
        train(operator, spec, echo, f"day {day}", "first training")
    monitor(operator, spec, today, tags, entry)
    entry.champion = champion_version(operator.defs, spec)
    retrainings = retrain(operator, spec, day, tags, echo)
    if retrainings:
        entry.action = (entry.action + " retrain").strip()
    return entry, retrainings


LENIENT_GATES = {
    "bias_max_difference": 1.0,
    "bias_max_mean_error_difference": 3.0,
    "min_recall": 0.05,
    "latency_p95_ms": 1000.0,
    "batch_seconds": 60.0,
    "batch_rows": 2000,
    "latency_samples": 20,
    "latency_rounds": 1,
}
"""Gates a world of a few hundred entities on a busy laptop can meet: the bias groups are too
small to judge and the latency budget is not what a simulated day shows."""


def training_spec(
    spec: ProductSpec, horizon: int, *, gap_days: int | None = None, lenient: bool = False
) -> ProductSpec:
    """The spec a simulated world trains with: `gap_days` (default: the label `horizon` when
    the product declares fewer, so the holdout metric is honest) and, when `lenient`, the
    LENIENT_GATES."""
    assert spec.model is not None
    update: dict = {}
    gap = gap_days if gap_days is not None else max(spec.model.gap_days, horizon)
    if gap != spec.model.gap_days:
        update["gap_days"] = gap
    if lenient:
        update["gates"] = spec.model.gates.model_copy(update=LENIENT_GATES)
    if not update:
        return spec
    return spec.model_copy(update={"model": spec.model.model_copy(update=update)})


def label_horizon(settings: Settings, spec: ProductSpec) -> int:
    """Days at the end of the gold feature table whose label is still unknown."""
    from medallion.ml.snapshot import last_days

    with connect(settings.warehouse_target, read_only=True) as con:
        latest, labelled = last_days(con, spec)
    if latest is None or labelled is None:
        return 0
    return (latest - labelled).days
