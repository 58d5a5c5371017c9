"""When to retrain: the retrain sensor's cursor, the alerts it reads and its decision.

Labels arrive late, so a model retrained on the first drifted days cannot yet learn the new
behaviour: after a request the policy waits `retrain_cooldown_days` of alerts before the next,
and one run key per alert day means the same window never trains twice. Pure: the Dagster
sensor (medallion.assets.retrain_sensor) reads the events and requests the run.
"""

import json
from dataclasses import dataclass
from datetime import date

from medallion.spec import MonitoringSpec, ProductSpec


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
