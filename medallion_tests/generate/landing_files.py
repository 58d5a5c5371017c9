"""Read generated landing files back in tests: bytes per file and column names per format."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq


def landing_bytes(landing: Path) -> dict[str, bytes]:
    """Every file below a landing folder, by relative path, as bytes."""
    return {
        str(p.relative_to(landing)): p.read_bytes()
        for p in sorted(landing.rglob("*"))
        if p.is_file()
    }


def file_columns(path: Path, fmt: str) -> list[str]:
    """Column names of one landing file as delivered."""
    if fmt == "csv":
        return path.read_text(encoding="utf-8").splitlines()[0].split(",")
    if fmt == "json":
        return list(json.loads(path.read_text(encoding="utf-8").splitlines()[0]))
    return pq.read_schema(path).names
