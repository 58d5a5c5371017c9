"""What the fork server of a run of bronze steps imports once per run
(`medallion.assets.executors` picks the preload from the run's steps).

Only what the zones use: Dagster with the Definitions, DuckDB, Polars and Arrow. MLflow and
scikit-learn (about 5 s of imports) are left to runs that train or monitor models
(`medallion.preload`), Great Expectations to runs that validate silver or gold
(`medallion.preload_ingest`). Nothing here opens a file or a connection, or starts a thread,
so forking after these imports is safe.
"""

# Every step opens the instance's storage: SQLAlchemy, Alembic and Mako, ~0.5 s a step.
import dagster._core.storage.sqlite_storage  # noqa: F401
import duckdb  # noqa: F401
import polars  # noqa: F401
import pyarrow  # noqa: F401

import medallion.definitions  # noqa: F401
