"""Write one landing batch atomically and byte-for-byte reproducibly.

Landing files are what the bronze zone reads, so a reader must never see a half-written file
and the same frame must always produce the same bytes (tests and the simulator compare files).
Text formats carry timestamps as "YYYY-MM-DD HH:MM:SS" and dates as "YYYY-MM-DD".
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import polars as pl

FORMATS = ("csv", "parquet", "json")

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"


def write_batch(frame: pl.DataFrame, path: Path, fmt: str) -> None:
    """Write `frame` to `path` as csv (with header), parquet or newline-delimited json."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown landing format {fmt!r}, expected one of {FORMATS}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _write(frame, tmp, fmt)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write(frame: pl.DataFrame, path: Path, fmt: str) -> None:
    """Write without atomicity; `write_batch` wraps this."""
    if fmt == "parquet":
        frame.write_parquet(path, compression="zstd", statistics=True)
    elif fmt == "csv":
        text = _as_text(frame, decimals_as_float=False)
        text.write_csv(path, include_header=True, separator=",", line_terminator="\n")
    else:
        _as_text(frame, decimals_as_float=True).write_ndjson(path)


def _as_text(frame: pl.DataFrame, *, decimals_as_float: bool) -> pl.DataFrame:
    """Render temporal columns as ISO strings; json gets decimals as numbers, not strings."""
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            exprs.append(col.dt.strftime(TIMESTAMP_FORMAT))
        elif dtype == pl.Date:
            exprs.append(col.dt.strftime(DATE_FORMAT))
        elif decimals_as_float and isinstance(dtype, pl.Decimal):
            exprs.append(col.cast(pl.Float64))
        else:
            exprs.append(col)
    return frame.select(exprs)
