"""Reading a typed hand-off record back from materialization metadata.

Assets hand each other one JSON record per materialization (medallion.ml.records,
medallion.monitoring.records). A reader that finds the record missing, or with fields it does
not know, raises HandoffError naming the key and the fields: a renamed key or field fails the
reader loudly instead of silently skipping a promotion or a retraining.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


class HandoffError(ValueError):
    """A hand-off record is missing or does not match the record type that reads it."""


def payload(metadata: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The record stored under `key`; HandoffError when there is none."""
    if key not in metadata:
        raise HandoffError(
            f"no {key!r} record in the metadata (keys: {sorted(metadata)}); was the asset "
            "materialized by an older medallion, or the record renamed?"
        )
    record = metadata[key]
    if isinstance(record, str):
        record = json.loads(record)
    if not isinstance(record, dict):
        raise HandoffError(f"{key!r} is a {type(record).__name__}, not a record")
    return dict(record)


def build(cls: type[T], record: Mapping[str, Any]) -> T:
    """`cls(**record)`, with HandoffError naming unknown and missing fields."""
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(record) - known)
    if unknown:
        raise HandoffError(f"{cls.__name__}: unknown field(s) {unknown} (known: {sorted(known)})")
    try:
        return cls(**record)
    except TypeError as error:
        raise HandoffError(f"{cls.__name__}: {error}") from error


def json_safe(value: Any) -> Any:
    """NaN is not JSON: it travels as None (and `floats` brings it back as NaN)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def floats(values: Mapping[str, Any]) -> dict[str, float]:
    """Metric values back from JSON, None as NaN."""
    return {k: (math.nan if v is None else float(v)) for k, v in values.items()}
