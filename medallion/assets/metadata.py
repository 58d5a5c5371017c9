"""Materialization metadata: what the Dagster UI shows for every table."""

from __future__ import annotations

import dagster as dg

from medallion.zones.tables import TableDescription, markdown_table


def table_metadata(
    description: TableDescription, duration_s: float, notes: dict[str, str] | None = None
) -> dict[str, object]:
    """Row count, schema with the spec's column descriptions (`notes`), a markdown preview
    (PII masked) and the zone transform's duration (checks excluded: each check result
    carries its own)."""
    notes = notes or {}
    return {
        "dagster/row_count": dg.MetadataValue.int(description.row_count),
        "dagster/table_name": dg.MetadataValue.text(description.table),
        "dagster/column_schema": dg.TableSchema(
            columns=[
                dg.TableColumn(name, kind, description=notes.get(name))
                for name, kind in description.columns
            ]
        ),
        "preview": dg.MetadataValue.md(
            markdown_table([name for name, _ in description.columns], description.preview)
        ),
        "duration_s": dg.MetadataValue.float(round(duration_s, 4)),
    }
