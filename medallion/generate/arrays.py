"""Array helpers the product generators share: dates, timestamps, nulls, delivery order."""

from datetime import date

import numpy as np
import polars as pl

SECONDS_PER_DAY = 86_400


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def by_day(
    frame: pl.DataFrame, day: np.ndarray, t: np.ndarray, tiebreak: np.ndarray
) -> tuple[pl.DataFrame, np.ndarray]:
    """Sort rows by delivery day, then time, then a tiebreak key."""
    order = np.lexsort((tiebreak, t, day))
    return frame[order], day[order]


def missing(values: pl.Series | pl.Expr, mask: np.ndarray) -> pl.Expr:
    """`values` with nulls where `mask` is set."""
    values = pl.lit(values) if isinstance(values, pl.Series) else values
    return pl.when(pl.lit(pl.Series(mask))).then(None).otherwise(values)


def dates(days_since_epoch: np.ndarray) -> pl.Series:
    """Date series from days since 1970-01-01."""
    return pl.Series(days_since_epoch.astype(np.int32)).cast(pl.Date)


def timestamps(epoch: int, seconds: np.ndarray) -> pl.Series:
    """Microsecond timestamps from seconds after midnight of the start day."""
    micros = (epoch * SECONDS_PER_DAY + seconds.astype(np.int64)) * 1_000_000
    return pl.Series(micros).cast(pl.Datetime("us"))


def epoch_day(day: date) -> int:
    """Days since 1970-01-01."""
    return (day - date(1970, 1, 1)).days
