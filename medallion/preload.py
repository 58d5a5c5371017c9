"""What the fork server of a model or monitoring run imports once per run (zone runs
preload `medallion.preload_zones` / `medallion.preload_ingest`, without MLflow or
scikit-learn).

Every step of a run is a process of its own. Started fresh, each would import Dagster, load
the Definitions and, for the checks and the models, import Great Expectations (about 2.5 s),
scikit-learn and MLflow: on a two-core machine that start-up cost more than the steps'
work on the demo data. Forked from a server that imported them once, a step starts in a
fraction of a second. Nothing here opens a file or a connection, or starts a thread, so
forking after these imports is safe.
"""

import duckdb  # noqa: F401
import great_expectations  # noqa: F401
import mlflow  # noqa: F401
import polars  # noqa: F401
import pyarrow  # noqa: F401
import sklearn.ensemble
import sklearn.linear_model  # noqa: F401

import medallion.definitions  # noqa: F401
