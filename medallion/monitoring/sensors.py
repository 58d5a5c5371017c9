"""Sensors that act: retrain on a drift or performance alert, ingest newly landed files.

The retrain sensor reads the monitoring assets' materializations after its cursor (a storage
id of the event log) and requests one retraining run for the latest alert, with a run key
made of the day the alert concerns, so the same window never trains twice; after a request
it waits `retrain_cooldown_days` of alerts before the next, since labels arrive late and a
model retrained on the first drifted days cannot yet learn the new behaviour. The cursor
moves only in the same SensorResult as the request, so a failed tick re-reads the events.

The landing sensor requests ingestion of each file whose content it has not seen: one run
per file content (the run key holds the SHA-256), selecting the file's bronze and silver
assets and the gold products reading them. It hashes only files that arrived (by the later
of modification and inode change time, which a rename into the folder updates) since its
cursor, minus a minute for files renamed in while it was listing (the cursor remembers
what it requested in that minute).
"""

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg

from medallion.assets.monitoring import monitoring_key
from medallion.monitoring import names
from medallion.monitoring.jobs import has_model, ingest_job_name, ingest_keys, retrain_job_name
from medallion.resources.landing import LandingResource
from medallion.spec import MonitoringSpec, ProductSpec
from medallion.zones.bronze import discover, file_sha256

EVENTS_PER_TICK = 200
ARRIVAL_LAG_NS = 60 * 1_000_000_000
"""Files that arrived up to a minute before the cursor are looked at again (and skipped by
their run key when already requested)."""


@dataclass(frozen=True)
class RetrainCursor:
    """Where the retrain sensor is: the last event read and the last alert acted on."""

    after: int = 0
    last_request: date | None = None

    def dump(self) -> str:
        last = self.last_request.isoformat() if self.last_request else None
        return json.dumps({"after": self.after, "last_request": last}, sort_keys=True)

    @classmethod
    def parse(cls, text: str | None) -> "RetrainCursor":
        if not text:
            return cls()
        raw = json.loads(text)
        last = raw.get("last_request")
        return cls(int(raw.get("after", 0)), date.fromisoformat(last) if last else None)


@dataclass(frozen=True)
class AlertEvent:
    """An alert found in a monitoring asset's materialization."""

    storage_id: int
    asset: str
    day: date
    model_version: str
    reason: str


def retrain_run_key(spec: ProductSpec, day: date) -> str:
    """One retraining per product and alert day, whatever the number of ticks seeing it."""
    return f"{spec.name}-retrain-{day.isoformat()}"


def plan_retrain(
    alerts: list[AlertEvent], cursor: RetrainCursor, read_until: int, monitoring: MonitoringSpec
) -> tuple[AlertEvent | None, RetrainCursor, str]:
    """Which alert (if any) to retrain for, the next cursor and why.

    Args:
        alerts: alerts in the events read this tick.
        cursor: the cursor before this tick.
        read_until: storage id of the last event read this tick.
        monitoring: `retrain_on_alert` and `retrain_cooldown_days`.

    Returns:
        The alert to request a run for (None: no request), the new cursor, a reason.
    """
    after = max(cursor.after, read_until)
    if not alerts:
        return None, RetrainCursor(after, cursor.last_request), "no new alert"
    latest = max(alerts, key=lambda a: (a.day, a.storage_id))
    if not monitoring.retrain_on_alert:
        reason = f"alert on {latest.day} ({latest.reason}); retrain_on_alert is false"
        return None, RetrainCursor(after, cursor.last_request), reason
    last = cursor.last_request
    if last is not None and (latest.day - last).days < max(monitoring.retrain_cooldown_days, 1):
        reason = (
            f"alert on {latest.day} ({latest.reason}) within {monitoring.retrain_cooldown_days} "
            f"day(s) of the retraining requested for {last}"
        )
        return None, RetrainCursor(after, last), reason
    return latest, RetrainCursor(after, latest.day), latest.reason


def read_alerts(
    instance: dg.DagsterInstance, keys: list[dg.AssetKey], after: int
) -> tuple[list[AlertEvent], int]:
    """Alerts in the materializations of `keys` after storage id `after`, and the last
    storage id read."""
    alerts, last = [], after
    for key in keys:
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, after_storage_id=after or None),
            limit=EVENTS_PER_TICK,
            ascending=True,
        )
        for record in result.records:
            last = max(last, record.storage_id)
            materialization = record.asset_materialization
            metadata = {k: v.value for k, v in (materialization.metadata or {}).items()}
            if not metadata.get(names.ALERT) or not metadata.get(names.ALERT_DAY):
                continue
            alerts.append(
                AlertEvent(
                    storage_id=record.storage_id,
                    asset=key.to_user_string(),
                    day=date.fromisoformat(str(metadata[names.ALERT_DAY])),
                    model_version=str(metadata.get(names.MODEL_VERSION, "")),
                    reason=str(metadata.get(names.ALERT_REASON, "")),
                )
            )
    return alerts, last


def build_retrain_sensor(spec: ProductSpec) -> dg.SensorDefinition:
    """Requests `<product>_retrain` when the monitoring assets report an alert."""
    keys = [monitoring_key(spec, names.DRIFT), monitoring_key(spec, names.PERFORMANCE)]
    monitoring = spec.monitoring

    @dg.sensor(
        name=f"{spec.name}_retrain_on_alert",
        job_name=retrain_job_name(spec),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=60,
        description=(
            f"Requests {retrain_job_name(spec)} when {spec.name}/monitoring reports dataset or "
            f"prediction drift or a performance drop; one run per alert day, then "
            f"{monitoring.retrain_cooldown_days} day(s) of cooldown "
            f"(retrain_on_alert: {str(monitoring.retrain_on_alert).lower()})."
        ),
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        cursor = RetrainCursor.parse(context.cursor)
        alerts, read_until = read_alerts(context.instance, keys, cursor.after)
        alert, updated, reason = plan_retrain(alerts, cursor, read_until, monitoring)
        if alert is None:
            return dg.SensorResult(skip_reason=reason, cursor=updated.dump())
        context.log.info(f"requesting retraining: {reason}")
        request = dg.RunRequest(
            run_key=retrain_run_key(spec, alert.day),
            tags={
                "medallion/product": spec.name,
                "medallion/trigger": alert.asset,
                "medallion/alert_day": alert.day.isoformat(),
                "medallion/champion_version": alert.model_version,
                "medallion/reason": reason[:200],
            },
        )
        return dg.SensorResult(run_requests=[request], cursor=updated.dump())

    return _sensor


@dataclass(frozen=True)
class LandedFile:
    """A landing file, when it arrived, and its content hash."""

    source: str
    path: Path
    arrived_ns: int
    sha256: str


def arrival_ns(path: Path) -> int:
    """When a file arrived: the later of its modification and inode change times (a rename
    into the folder updates the latter, a copy the former)."""
    stat = path.stat()
    return max(stat.st_mtime_ns, stat.st_ctime_ns)


def landed_since(landing: Path, spec: ProductSpec, since_ns: int) -> list[LandedFile]:
    """Files of the product's sources that arrived at or after `since_ns`, oldest first."""
    found = []
    for source_name, source in spec.sources.items():
        files, _ = discover(spec.landing(landing), source_name, source)
        for path in files:
            try:
                arrived = arrival_ns(path)
            except FileNotFoundError:
                continue
            if arrived >= since_ns:
                found.append(LandedFile(source_name, path, arrived, file_sha256(path)))
    return sorted(found, key=lambda f: (f.arrived_ns, f.source, f.path.name))


def arrival_partition(spec: ProductSpec, landed: LandedFile) -> str | None:
    """The daily partition an ingest run of a product with incremental gold targets: the day
    the file arrived (UTC), so the UI shows each day's delivery on that day. The run still
    recomputes every older day the new data reaches; None for products without partitions."""
    if spec.partitions_start is None:
        return None
    day = datetime.fromtimestamp(landed.arrived_ns / 1e9, UTC).date()
    return max(day, spec.partitions_start).isoformat()


def ingest_run_key(spec: ProductSpec, landed: LandedFile) -> str:
    """One ingestion per file content (and source): the same bytes delivered again, under
    any name, request nothing new."""
    return f"{spec.name}-{landed.source}-{landed.sha256}"


def landing_requests(
    landing: Path, spec: ProductSpec, cursor: str | None
) -> tuple[list[dg.RunRequest], str]:
    """Run requests for file contents not requested before, and the next cursor.

    The cursor holds the latest arrival time seen and the run keys of the files that arrived
    in the minute before it, which are looked at again and must not be requested twice.
    """
    state = json.loads(cursor) if cursor else {}
    last = int(state.get("arrived_ns", 0))
    seen = set(state.get("recent", []))
    landed = landed_since(landing, spec, max(last - ARRIVAL_LAG_NS, 0) if last else 0)
    requests = [
        dg.RunRequest(
            run_key=ingest_run_key(spec, file),
            asset_selection=ingest_keys(spec, file.source),
            partition_key=arrival_partition(spec, file),
            tags={
                "medallion/product": spec.name,
                "medallion/source": file.source,
                "medallion/file": file.path.name,
                "medallion/sha256": file.sha256,
            },
        )
        for file in landed
        if ingest_run_key(spec, file) not in seen
    ]
    unique = list({request.run_key: request for request in requests}.values())
    newest = max([last, *(f.arrived_ns for f in landed)])
    recent = sorted(
        {ingest_run_key(spec, f) for f in landed if f.arrived_ns >= newest - ARRIVAL_LAG_NS}
    )
    return unique, json.dumps({"arrived_ns": newest, "recent": recent})


def build_landing_sensor(spec: ProductSpec) -> dg.SensorDefinition:
    """Requests `<product>_ingest` for each new landing file content."""

    @dg.sensor(
        name=f"{spec.name}_landing",
        job_name=ingest_job_name(spec),
        default_status=dg.DefaultSensorStatus.STOPPED,
        minimum_interval_seconds=30,
        description=(
            f"Watches landing/{spec.name}/<source>/ of its sources and requests "
            f"{ingest_job_name(spec)} once per new file content (run key: its SHA-256), for "
            "the file's bronze and silver assets and the gold products reading them. "
            "Stopped by default: on its first tick it requests every file already there."
        ),
    )
    def _sensor(context: dg.SensorEvaluationContext, landing: LandingResource):
        requests, cursor = landing_requests(landing.path(), spec, context.cursor)
        if not requests:
            return dg.SensorResult(skip_reason="no new landing file", cursor=cursor)
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return _sensor


def product_sensors(spec: ProductSpec) -> list[dg.SensorDefinition]:
    """The landing sensor, and the retrain sensor when the product trains models."""
    sensors = [build_landing_sensor(spec)]
    if has_model(spec):
        sensors.append(build_retrain_sensor(spec))
    return sensors
