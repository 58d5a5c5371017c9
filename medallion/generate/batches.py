"""Write a simulated world as daily landing batches, the same way for every product.

A product's generator simulates its sources as frames with a day index per row; this turns
them into `<source>/<source>_<YYYY-MM-DD>.<ext>` files typed as the spec declares, injects
defects on the chosen day, and writes only the requested days (so a simulator can deliver one
day at a time, byte-identical to a full run).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from medallion.generate.defects import ColumnRoles, DefectOptions, append_malformed_lines, inject
from medallion.generate.writer import write_batch

_SIMPLE_TYPES: dict[str, pl.DataType] = {
    "BIGINT": pl.Int64(),
    "INTEGER": pl.Int32(),
    "VARCHAR": pl.String(),
    "DATE": pl.Date(),
    "TIMESTAMP": pl.Datetime("us"),
    "DOUBLE": pl.Float64(),
    "BOOLEAN": pl.Boolean(),
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def polars_type(sql_type: str) -> pl.DataType:
    """Polars dtype for a DuckDB column type of the spec."""
    sql_type = sql_type.strip().upper()
    match = _DECIMAL.fullmatch(sql_type)
    if match:
        return pl.Decimal(int(match.group(1)), int(match.group(2)))
    return _SIMPLE_TYPES[sql_type]


def child_seed(seed: int, day: int, index: int) -> int:
    """Seed for the defects of one source on one day."""
    return int(np.random.SeedSequence([seed, day, index]).generate_state(1)[0])


def days_to_deliver(days: int, deliver_days: Iterable[int] | None) -> list[int]:
    """The day indices to write, validated against the simulated window."""
    wanted = list(range(days)) if deliver_days is None else sorted(set(deliver_days))
    if any(d < 0 or d >= days for d in wanted):
        raise ValueError(f"deliver_days must lie in 0..{days - 1}")
    return wanted


def write_daily_batches(
    landing_dir: Path,
    spec_path: Path,
    batches: dict[str, tuple[pl.DataFrame, np.ndarray]],
    *,
    days: int,
    start: date,
    seed: int,
    deliver_days: Iterable[int] | None = None,
    defects: DefectOptions | None = None,
) -> dict[str, int]:
    """Write each source's rows, sorted by day index, as one file per day; rows per source.

    Args:
        batches: per source, the rows (in the spec's columns) and each row's day index,
            ascending.
    """
    wanted = days_to_deliver(days, deliver_days)
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    written: dict[str, int] = {}
    for index, (name, source) in enumerate(spec["sources"].items()):
        frame, day = batches[name]
        frame = frame.select(
            [pl.col(c).cast(polars_type(col["type"])) for c, col in source["columns"].items()]
        )
        fmt = source["format"]
        roles = ColumnRoles.from_source(source)
        bounds = np.searchsorted(day, np.arange(days + 1))
        written[name] = 0
        for d in wanted:
            lo, hi = int(bounds[d]), int(bounds[d + 1])
            if hi == lo:
                continue
            batch = frame.slice(lo, hi - lo)
            hit = defects is not None and defects.day == d
            if hit:
                batch = inject(
                    batch,
                    roles,
                    kinds=defects.kinds,
                    rate=defects.rate,
                    seed=child_seed(seed, d, index),
                )
            stamp = date.fromordinal(start.toordinal() + d).isoformat()
            path = Path(landing_dir) / name / f"{name}_{stamp}.{fmt}"
            if hit and fmt == "csv" and "malformed" in defects.kinds:
                staging = path.with_name(f".{path.name}.malformed")
                write_batch(batch, staging, fmt)
                append_malformed_lines(staging, rows=batch.height, rate=defects.rate)
                os.replace(staging, path)
            else:
                write_batch(batch, path, fmt)
            written[name] += batch.height
    return written
