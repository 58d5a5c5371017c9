"""Zone contracts: pure checks over DuckDB that return outcomes; Dagster wiring lives in
medallion/assets/checks.py."""
