"""Rows of a published gold version: by key, by time range, with column selection and
pagination. Pure functions over a Polars frame; every client value is cast to its column's
type (a 400 naming the parameter when it does not fit) and every column name checked."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from medallion.service.catalog import Loaded, QueryError


@dataclass(frozen=True)
class RowQuery:
    """A validated request for rows."""

    key: str | None = None
    start: str | None = None
    end: str | None = None
    columns: tuple[str, ...] | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class Page:
    """The rows answered, from one version, and where the next page starts."""

    frame: pl.DataFrame
    total: int
    offset: int
    limit: int

    @property
    def next_offset(self) -> int | None:
        following = self.offset + self.frame.height
        return following if following < self.total else None


def parse_columns(text: str | None) -> tuple[str, ...] | None:
    if text is None or not text.strip():
        return None
    return tuple(part.strip() for part in text.split(",") if part.strip())


def cast_value(value: str, dtype: pl.DataType, parameter: str) -> object:
    """A client's text as a value of the column's type, or a 400 naming the parameter."""
    try:
        series = pl.Series([value], dtype=pl.String)
        if dtype.is_temporal():
            converted = series.str.to_datetime(strict=True).cast(dtype, strict=True)
        else:
            converted = series.cast(dtype, strict=True)
    except (pl.exceptions.PolarsError, ValueError):
        raise QueryError(f"{parameter}={value!r} is not a valid {dtype}") from None
    return converted[0]


def _key_rows(frame: pl.DataFrame, key_column: str, value: object) -> pl.DataFrame:
    """The rows of one key by binary search on the sorted key column (no scan)."""
    column = frame[key_column]
    first = column.search_sorted(value, side="left")
    last = column.search_sorted(value, side="right")
    return frame.slice(first, last - first)


def _check_query(query: RowQuery, columns: list[str], max_limit: int) -> None:
    """QueryError for a limit, offset or column the query may not ask for."""
    if not 1 <= query.limit <= max_limit:
        raise QueryError(f"limit must be between 1 and {max_limit}, got {query.limit}")
    if query.offset < 0:
        raise QueryError(f"offset must be 0 or more, got {query.offset}")
    if query.columns is not None:
        unknown = [c for c in query.columns if c not in columns]
        if unknown:
            raise QueryError(f"unknown column(s) {unknown}; known: {columns}")


def _time_range(frame: pl.DataFrame, p, query: RowQuery) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    """The rows whose time lies in [start, end) of the query."""
    if query.start is None and query.end is None:
        return frame
    if p.time_column is None:
        raise QueryError(f"{p.product}/{p.table} has no time column to filter by")
    dtype = frame.schema[p.time_column]
    if query.start is not None:
        frame = frame.filter(pl.col(p.time_column) >= cast_value(query.start, dtype, "from"))
    if query.end is not None:
        frame = frame.filter(pl.col(p.time_column) < cast_value(query.end, dtype, "to"))
    return frame


def select_rows(loaded: Loaded, query: RowQuery, max_limit: int) -> Page:
    """Apply a query to one loaded version."""
    p, frame = loaded.publication, loaded.frame
    _check_query(query, frame.columns, max_limit)
    if query.key is not None:
        frame = _key_rows(frame, p.key, cast_value(query.key, frame.schema[p.key], "key"))
    frame = _time_range(frame, p, query)
    total = frame.height
    frame = frame.slice(query.offset, query.limit)
    if query.columns is not None:
        frame = frame.select(query.columns)
    return Page(frame, total, query.offset, query.limit)
