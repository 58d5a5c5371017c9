"""Names shared by the monitoring assets, checks, sensors, the simulator and the tests."""

GROUP = "monitoring"
DRIFT = "drift"
PERFORMANCE = "performance"

DATA_DRIFT_CHECK = "data_drift"
PREDICTION_DRIFT_CHECK = "prediction_drift"
PERFORMANCE_CHECK = "performance"

MODEL_VERSION = "model_version"
AS_OF = "as_of"
"""Metadata: the latest day of gold when the evaluation ran."""
