"""Names shared by the monitoring assets, checks, sensors, the simulator and the tests."""

GROUP = "monitoring"
DRIFT = "drift"
PERFORMANCE = "performance"

DATA_DRIFT_CHECK = "data_drift"
PREDICTION_DRIFT_CHECK = "prediction_drift"
PERFORMANCE_CHECK = "performance"

ALERT = "alert"
"""Metadata: whether the evaluation raised an alert that calls for retraining (bool)."""
ALERT_DAY = "alert_day"
"""Metadata: the day the alert concerns (the drifted window's end, or the day of gold the
performance evaluation ran on), which keys the retrain request."""
ALERT_REASON = "alert_reason"
MODEL_VERSION = "model_version"
AS_OF = "as_of"
"""Metadata: the latest day of gold when the evaluation ran."""
