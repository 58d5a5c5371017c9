"""What each column of a zone table means, from the spec: the descriptions the Dagster UI
shows in an asset's column schema and the service publishes with a gold snapshot."""

from __future__ import annotations

from medallion.spec import ProductSpec
from medallion.zones.bronze import PARSE_ERROR_COLUMN, RESCUED_COLUMN, RETYPED_COLUMN

LINEAGE = {
    "_batch_id": "The delivery batch this row came in (one per landing file content).",
    "_source_file": "The landing file the row was read from.",
    "_ingested_at": "When the file was appended to bronze (UTC).",
    "_row_number": "The record's position in its file.",
}
"""Lineage columns bronze adds to every row and silver keeps."""

BRONZE_ONLY = {
    RESCUED_COLUMN: "Delivered columns the spec does not declare, kept as JSON (schema drift "
    "policy rescue).",
    PARSE_ERROR_COLUMN: "Why the record could not be parsed (the record is quarantined).",
    RETYPED_COLUMN: "Parquet values of another type than declared, kept as exact text.",
}


def source_column_notes(spec: ProductSpec, source_name: str, zone: str) -> dict[str, str]:
    """Column descriptions of a source's bronze or silver table: the spec's `description`
    of each delivered column (PII said so, and in silver that it is a pseudonym), derived
    columns with their SQL, and the lineage columns."""
    source = spec.sources[source_name]
    notes: dict[str, str] = {}
    for name, column in source.columns.items():
        text = column.description or ""
        if column.pii:
            what = "HMAC-SHA256 pseudonym" if zone == "silver" else "PII, as delivered"
            text = f"{text} ({what})" if text else what
        if text:
            notes[name] = text
    if zone == "silver":
        notes |= {name: "Derived: " + " ".join(sql.split()) for name, sql in source.derive.items()}
    notes |= LINEAGE
    return notes | BRONZE_ONLY if zone == "bronze" else notes


def gold_column_notes(spec: ProductSpec, name: str) -> dict[str, str]:
    """A gold column's description: declared on the gold product, else on a source column of
    the same name, else the model's target."""
    found: dict[str, str] = {}
    for source in spec.sources.values():
        for column, declared in source.columns.items():
            if declared.description:
                found.setdefault(column, declared.description)
    if spec.model is not None and spec.model.table == name:
        found.setdefault(spec.model.target, f"the model's target ({spec.model.task})")
    return found | dict(spec.gold[name].columns)
