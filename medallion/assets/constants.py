"""Names shared by the Dagster wiring: tags, groups and resource keys."""

PRODUCT_TAG = "medallion/product"
"""Tag of every asset, job and run of a product (asset catalog and run filters)."""
ZONE_TAG = "medallion/zone"
"""Tag of every asset: bronze, silver, gold, ml, monitoring or service."""

DUCKDB_TAG = {"medallion/db": "duckdb"}
"""Op tag on every asset that writes the DuckDB file; the executor runs one at a time."""

DUCKDB_CONCURRENCY = [{"key": "medallion/db", "value": "duckdb", "limit": 1}]


def table_pool(table: str) -> str:
    """The concurrency pool of the asset writing `table`: in the lake profile the instance
    lets one step per pool run at a time (medallion.lake.instance), so writes to one table are
    serialized across runs while other tables are written in parallel. Unlimited locally,
    where the `duckdb` tag already allows one writer."""
    return "medallion-" + table.replace(".", "-")


WAREHOUSE = "warehouse"
LANDING = "landing"
PSEUDONYMIZATION = "pseudonymization"

FULL_REFRESH_TAG = "medallion/full_refresh"
"""Run tag: "true" rebuilds silver and gold in full instead of merging what is new."""


def full_refresh_requested(tags: dict[str, str]) -> bool:
    """Whether a run's tags ask for a full refresh."""
    return str(tags.get(FULL_REFRESH_TAG, "")).lower() in ("1", "true", "yes")
