"""Load a logged model into memory without leaving a copy of it behind.

MLflow's loaders copy a model's files into a new temporary folder and never remove it when
the artifacts are not a local folder (a tracking server, an object store) or the URI is a
run's (`runs:/…`): with artifacts in a bucket or behind a server, every daily drift
evaluation, service start and training run left one copy of a model in the temporary
directory. Loading goes through a scratch folder removed once the model is in memory (a
scikit-learn pipeline, wrapped or not, needs none of its files afterwards); from a local
store that costs one copy of the model's files (1-2 MB for the shipped products).
"""

from __future__ import annotations

import tempfile
from typing import Any


def load_sklearn(uri: str) -> Any:
    """The scikit-learn pipeline at an MLflow model URI (`models:/name/version`, `runs:/…`)."""
    import mlflow.sklearn

    with tempfile.TemporaryDirectory(prefix="medallion-model-") as scratch:
        return mlflow.sklearn.load_model(uri, dst_path=scratch)


def load_pyfunc(uri: str) -> Any:
    """The model at an MLflow model URI as a pyfunc model, as MLflow's scoring server runs it."""
    import mlflow.pyfunc

    with tempfile.TemporaryDirectory(prefix="medallion-model-") as scratch:
        return mlflow.pyfunc.load_model(uri, dst_path=scratch)
