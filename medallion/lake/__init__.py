"""The lake profile: DuckLake tables with a PostgreSQL catalog, Dagster and MLflow on PostgreSQL."""
