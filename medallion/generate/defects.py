"""Inject known data-quality defects into landing batches.

Data-quality checks, quarantine and privacy scans are only trustworthy if tests can feed them
batches with defects of a known kind and share. Everything here is product-agnostic: which
columns are keys, required, optional, PII, amounts or dates comes from the source spec.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

KINDS = ("nulls", "duplicates", "out_of_range", "malformed", "schema_change", "canary")

EXTRA_COLUMN = "unexpected_column"
CANARY_EMAIL = "canary-pii-{n}@medallion.invalid"
CANARY_TEXT = "CANARY PII {n}"
CANARY_PATTERN = r"(?i)canary[- ]pii"
MALFORMED_MARKER = "malformed"
FUTURE_OFFSET = "5y"

_AMOUNT_TYPES = ("DOUBLE", "FLOAT", "REAL", "DECIMAL", "NUMERIC")
_TEMPORAL_TYPES = ("DATE", "TIMESTAMP")


@dataclass(frozen=True)
class DefectOptions:
    """Which defects to inject into the batches of one delivery day, and on what share of rows."""

    day: int
    kinds: tuple[str, ...]
    rate: float = 0.02

    def __post_init__(self) -> None:
        unknown = sorted(set(self.kinds) - set(KINDS))
        if unknown:
            raise ValueError(f"unknown defect kinds {unknown}, expected some of {KINDS}")
        if not 0.0 < self.rate <= 1.0:
            raise ValueError(f"defect rate must be in (0, 1], got {self.rate}")


@dataclass(frozen=True)
class ColumnRoles:
    """The columns of one source grouped by what a defect may do to them."""

    key: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    pii: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()
    temporal: tuple[str, ...] = ()

    @classmethod
    def from_source(cls, source: Mapping[str, Any]) -> ColumnRoles:
        """Read roles from one raw `sources.<name>` mapping of a product spec YAML."""
        key = tuple(source.get("key") or ())
        columns: Mapping[str, Mapping[str, Any]] = source["columns"]
        non_key = [name for name in columns if name not in key]

        def _type(name: str) -> str:
            return str(columns[name].get("type", "")).upper()

        return cls(
            key=key,
            required=tuple(c for c in non_key if columns[c].get("required", False)),
            optional=tuple(c for c in non_key if not columns[c].get("required", False)),
            pii=tuple(c for c in non_key if columns[c].get("pii", False)),
            amounts=tuple(c for c in non_key if _type(c).startswith(_AMOUNT_TYPES)),
            temporal=tuple(c for c in non_key if _type(c).startswith(_TEMPORAL_TYPES)),
        )


def inject(
    frame: pl.DataFrame,
    roles: ColumnRoles,
    *,
    kinds: Iterable[str],
    rate: float,
    seed: int,
) -> pl.DataFrame:
    """Return `frame` with the frame-level defects in `kinds` applied to about `rate` of rows.

    "malformed" is a file-level defect (see `append_malformed_lines`) and is a no-op here.
    Defects apply in a fixed order so duplicates copy already-defective rows and the schema
    change comes last.
    """
    kinds = set(kinds)
    unknown = sorted(kinds - set(KINDS))
    if unknown:
        raise ValueError(f"unknown defect kinds {unknown}, expected some of {KINDS}")
    rng = np.random.default_rng(seed)
    if frame.height == 0:
        return frame
    if "nulls" in kinds:
        frame = _nulls(frame, _present(frame, roles.required), rate, rng)
    if "out_of_range" in kinds:
        frame = _out_of_range(frame, roles, rate, rng)
    if "canary" in kinds:
        frame = _canary(frame, _present(frame, roles.pii), rate, rng)
    if "duplicates" in kinds:
        frame = _duplicates(frame, rate, rng)
    if "schema_change" in kinds:
        frame = _schema_change(frame, _present(frame, roles.optional), rng)
    return frame


def append_malformed_lines(path: Path, *, rows: int, rate: float) -> int:
    """Append lines with the wrong number of fields to a csv file; return how many."""
    path = Path(path)
    with path.open("rb") as handle:
        header = handle.readline().decode().rstrip("\r\n")
    n_fields = header.count(",") + 1
    count = _share(rows, rate)
    lines = []
    for i in range(count):
        fields = n_fields + 2 if i % 2 == 0 else max(1, n_fields - 2)
        if fields == n_fields:
            fields = n_fields + 1
        lines.append(",".join([f"{MALFORMED_MARKER}-{i + 1}"] * fields))
    with path.open("a", encoding="utf-8", newline="\n") as handle:
        handle.write("".join(f"{line}\n" for line in lines))
    return count


def _share(n: int, rate: float) -> int:
    """Number of rows that a defect rate hits: at least one in a non-empty batch."""
    if n <= 0:
        return 0
    return min(n, max(1, round(rate * n)))


def _pick(
    rng: np.random.Generator, n: int, rate: float, among: pl.Series | None = None
) -> pl.Series:
    """Boolean mask selecting a random share of `n` rows, or of the non-null rows of `among`."""
    rows = np.arange(n) if among is None else np.flatnonzero(among.is_not_null().to_numpy())
    mask = np.zeros(n, dtype=bool)
    mask[rng.choice(rows, size=_share(rows.size, rate), replace=False)] = True
    return pl.Series(mask)


def _present(frame: pl.DataFrame, columns: Iterable[str]) -> list[str]:
    """Columns of `columns` that the frame actually has, in their given order."""
    return [c for c in columns if c in frame.columns]


def _nulls(
    frame: pl.DataFrame, columns: list[str], rate: float, rng: np.random.Generator
) -> pl.DataFrame:
    """Null a share of rows in each required non-key column (rows chosen per column)."""
    exprs = [
        pl.when(_pick(rng, frame.height, rate))
        .then(pl.lit(None, dtype=frame.schema[c]))
        .otherwise(pl.col(c))
        .alias(c)
        for c in columns
    ]
    return frame.with_columns(exprs) if exprs else frame


def _out_of_range(
    frame: pl.DataFrame, roles: ColumnRoles, rate: float, rng: np.random.Generator
) -> pl.DataFrame:
    """Make a share of non-null amounts negative and move a share of dates 5 years ahead."""
    exprs = []
    for c in _present(frame, roles.amounts):
        dtype = frame.schema[c]
        negative = (-(pl.col(c).abs()) - 1).cast(dtype)
        mask = _pick(rng, frame.height, rate, frame[c])
        exprs.append(pl.when(mask).then(negative).otherwise(pl.col(c)).alias(c))
    for c in _present(frame, roles.temporal):
        future = pl.col(c).dt.offset_by(FUTURE_OFFSET)
        mask = _pick(rng, frame.height, rate, frame[c])
        exprs.append(pl.when(mask).then(future).otherwise(pl.col(c)).alias(c))
    return frame.with_columns(exprs) if exprs else frame


def _canary(
    frame: pl.DataFrame, columns: list[str], rate: float, rng: np.random.Generator
) -> pl.DataFrame:
    """Replace string PII values on a share of rows with recognisable canary values."""
    text = [c for c in columns if frame.schema[c] == pl.String]
    if not text:
        return frame
    mask = _pick(rng, frame.height, rate)
    number = (pl.int_range(pl.len(), dtype=pl.Int64) + 1).cast(pl.String)
    exprs = []
    for c in text:
        template = CANARY_EMAIL if "email" in c.lower() else CANARY_TEXT
        before, after = template.split("{n}")
        canary = pl.concat_str([pl.lit(before), number, pl.lit(after)])
        exprs.append(pl.when(mask).then(canary).otherwise(pl.col(c)).alias(c))
    return frame.with_columns(exprs)


def _duplicates(frame: pl.DataFrame, rate: float, rng: np.random.Generator) -> pl.DataFrame:
    """Repeat a share of rows exactly, each copy right after its original."""
    n = frame.height
    repeated = rng.choice(n, size=_share(n, rate), replace=False)
    order = np.sort(np.concatenate([np.arange(n), repeated]), kind="stable")
    return frame[order]


def _schema_change(
    frame: pl.DataFrame, optional: list[str], rng: np.random.Generator
) -> pl.DataFrame:
    """Drop the last optional column and append an unexpected extra column."""
    extra = pl.Series(EXTRA_COLUMN, rng.integers(0, 1000, frame.height), dtype=pl.Int64)
    if optional:
        frame = frame.drop(optional[-1])
    return frame.with_columns(extra)
