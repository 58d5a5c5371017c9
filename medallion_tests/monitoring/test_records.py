"""The monitoring record the retrain sensor and the simulator read survives Dagster metadata."""

from __future__ import annotations

import json
from datetime import date

import dagster as dg
import pytest

from medallion.handoff import HandoffError
from medallion.monitoring.records import MONITORING_KEY, MonitoringRecord


def _stored(record: MonitoringRecord) -> dict:
    """As an asset writes it and a reader gets it back from the event log."""
    metadata = {k: dg.MetadataValue.json(v) for k, v in record.to_metadata().items()}
    return {k: json.loads(json.dumps(v.value)) for k, v in metadata.items()}


def test_an_alert_round_trips_with_its_day_and_drifted_features():
    record = MonitoringRecord(
        "alert", "2026-06-08", "3", ("minutes_7d", "mobile_share_30d"), "2026-06-08", "drift"
    )
    back = MonitoringRecord.from_metadata(_stored(record))
    assert back == record
    assert back.alert and back.alert_date == date(2026, 6, 8)
    assert back.drifted_features == ("minutes_7d", "mobile_share_30d")


def test_no_alert_round_trips_as_no_alert():
    back = MonitoringRecord.from_metadata(_stored(MonitoringRecord("ok", "2026-06-08", "3")))
    assert not back.alert and back.alert_date is None and back.drifted_features == ()


def test_a_renamed_alert_field_fails_loudly_instead_of_never_retraining():
    stored = _stored(MonitoringRecord("alert", "2026-06-08", "3", (), "2026-06-08", "drift"))
    stored[MONITORING_KEY]["alert_date"] = stored[MONITORING_KEY].pop("alert_day")
    with pytest.raises(HandoffError, match="alert_date"):
        MonitoringRecord.from_metadata(stored)
    with pytest.raises(HandoffError, match="no 'monitoring_record' record"):
        MonitoringRecord.from_metadata({"alert": True, "alert_day": "2026-06-08"})
