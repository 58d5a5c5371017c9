"""What the fork server of a zone run (bronze, silver, gold) imports once per run.

Only what the zones use: Dagster with the Definitions, DuckDB, Polars and Arrow. MLflow and
scikit-learn (about 5 s of imports) are left to runs that train or monitor models
(`medallion.preload`), Great Expectations to runs that validate silver
(`medallion.preload_ingest`). Nothing here opens a file or a connection, or starts a thread,
so forking after these imports is safe.
"""

import duckdb  # noqa: F401
import polars  # noqa: F401
import pyarrow  # noqa: F401

import medallion.definitions  # noqa: F401
