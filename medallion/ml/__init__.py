"""Models from the gold feature table: snapshot, training, gates, MLflow registry and serving.

The modules here are pure or talk only to MLflow; the Dagster wiring lives in
medallion.assets.ml. They import scikit-learn and MLflow, so import them lazily from code
that every Dagster process loads.
"""

import os

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
