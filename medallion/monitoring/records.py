"""What a monitoring evaluation hands to the retrain sensor and the simulator, as a record.

One record per monitoring asset materialization (drift or performance), written as one JSON
metadata value and read back whole through medallion.handoff: the sensor and the simulator
never read metadata keys by name, and a renamed field fails them loudly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from medallion.handoff import build, json_safe, payload

MONITORING_KEY = "monitoring_record"
SKIPPED = "skipped"


@dataclass(frozen=True)
class MonitoringRecord:
    """The latest verdict of one monitoring asset, and the alert that calls for retraining."""

    status: str
    """The latest window's status: 'ok', 'warn', 'alert' or 'insufficient'; 'skipped' when
    nothing was evaluated (then `skipped` says why)."""
    window_end: str
    model_version: str
    drifted_features: tuple[str, ...] = ()
    alert_day: str | None = None
    """The day an alert concerns (it keys the retrain request); None: no alert."""
    alert_reason: str = ""
    skipped: str = ""
    """Why this asset evaluated no window (no champion, no new day, no new label)."""
    windows_evaluated: int = 0
    pending_windows: int = 0
    """Windows left for the next run by the `max_catch_up_windows` bound."""

    @classmethod
    def skip(cls, reason: str, model_version: str = "") -> MonitoringRecord:
        """The record of an asset that had nothing to evaluate, saying why."""
        return cls(status=SKIPPED, window_end="", model_version=model_version, skipped=reason)

    @property
    def alert(self) -> bool:
        return self.alert_day is not None

    @property
    def alert_date(self) -> date | None:
        return date.fromisoformat(self.alert_day) if self.alert_day else None

    def to_metadata(self) -> dict[str, Any]:
        return {MONITORING_KEY: json_safe(asdict(self))}

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> MonitoringRecord:
        record = payload(metadata, MONITORING_KEY)
        return build(cls, record | {"drifted_features": tuple(record.get("drifted_features", ()))})
