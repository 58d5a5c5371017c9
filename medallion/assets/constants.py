"""Names shared by the Dagster wiring: tags, groups and resource keys."""

DUCKDB_TAG = {"medallion/db": "duckdb"}
"""Op tag on every asset that writes the DuckDB file; the executor runs one at a time."""

DUCKDB_CONCURRENCY = [{"key": "medallion/db", "value": "duckdb", "limit": 1}]

WAREHOUSE = "warehouse"
LANDING = "landing"
PSEUDONYMIZATION = "pseudonymization"
