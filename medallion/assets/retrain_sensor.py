"""The retrain sensor: retrain a product's models when monitoring reports an alert.

It reads the monitoring assets' materializations after its cursor (a storage id of the event
log) and requests one retraining run for the latest alert, as the pure policy in
medallion.monitoring.retrain decides (run key per alert day, cooldown). The cursor moves only
in the same SensorResult as the request, so a failed tick re-reads the events.
"""

from datetime import date

import dagster as dg

from medallion.assets.jobs import retrain_job_name
from medallion.assets.monitoring import monitoring_key
from medallion.monitoring import names
from medallion.monitoring.retrain import AlertEvent, RetrainCursor, plan_retrain, retrain_run_key
from medallion.spec import ProductSpec

EVENTS_PER_TICK = 200


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
