"""Which time window of an incremental gold product a run must recompute.

Silver's batch ledger says, per merge, the earliest and latest moment its changed rows
(inserted and replaced) lie on; gold remembers, per input, the last merge it has read. A
run recomputes from `lookback_days` before the earliest changed day, or before the newest
day already in the table if that is earlier (the newest days stay provisional, e.g. labels
whose horizon is not observed yet), to the newest day. With a `key_column`, an input without
a time column that changed adds the entities it changed (recomputed on every day; see
`zones.changed_keys`). A rebuilt input, any other input without a time column that changed,
a changed product spec or an explicit full refresh rebuild all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from medallion.spec import ProductSpec
from medallion.zones.changed_keys import changed_keys_since, tracked_key_columns
from medallion.zones.silver import batches_table

GOLD_BUILDS = "gold_builds"
FULL_START, FULL_END = date(1900, 1, 1), date(9999, 12, 31)


@dataclass(frozen=True)
class GoldWindow:
    """Days [start, end) to recompute; the whole time axis when `full`."""

    full: bool
    reason: str
    start: date = FULL_START
    end: date = FULL_END
    history_start: date = FULL_START
    watermarks: tuple[tuple[str, int], ...] = ()
    """(input entity, last silver merge read) after this run."""
    keys: tuple[str, ...] = ()
    """Values of the strategy's key_column whose rows are recomputed on every day."""

    @property
    def bounds(self) -> dict[str, str]:
        """The values of {{ window_start }}, {{ window_end }} and {{ history_start }}."""
        return {
            "window_start": self.start.isoformat(),
            "window_end": self.end.isoformat(),
            "history_start": self.history_start.isoformat(),
        }

    @property
    def empty(self) -> bool:
        return not self.full and self.start >= self.end and not self.keys


def builds_table(spec: ProductSpec) -> str:
    return f"{spec.schema('audit')}.{GOLD_BUILDS}"


def gold_fingerprint(spec: ProductSpec, name: str) -> str:
    """What a gold table's content depends on besides its inputs: its transform and strategy."""
    gold = spec.gold[name]
    text = (gold.polars or spec.gold_sql.get(name, "")) + gold.model_dump_json()
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def ensure_builds(con: duckdb.DuckDBPyConnection, spec: ProductSpec) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {spec.schema('audit')}")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {builds_table(spec)} (
            gold VARCHAR NOT NULL, built_at TIMESTAMP NOT NULL, full_rebuild BOOLEAN NOT NULL,
            reason VARCHAR, fingerprint VARCHAR NOT NULL, window_start DATE, window_end DATE,
            newest DATE, watermarks MAP(VARCHAR, BIGINT) NOT NULL, rows_written BIGINT)"""
    )


def _last_build(con: duckdb.DuckDBPyConnection, spec: ProductSpec, name: str) -> tuple | None:
    return con.execute(
        f"""SELECT fingerprint, newest, watermarks FROM {builds_table(spec)}
            WHERE gold = ? ORDER BY built_at DESC LIMIT 1""",
        [name],
    ).fetchone()


def _inputs(spec: ProductSpec, name: str) -> list[str]:
    return [table for zone, table in spec.gold_inputs(name) if zone == "silver"]


def _latest_merges(con: duckdb.DuckDBPyConnection, spec: ProductSpec, name: str) -> dict:
    rows = con.execute(
        f"""SELECT entity, max(merge_seq) FROM {batches_table(spec)}
            WHERE list_contains(?, entity) GROUP BY 1""",
        [_inputs(spec, name)],
    ).fetchall()
    return {entity: int(seq) for entity, seq in rows}


def plan_window(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    name: str,
    table_exists: bool,
    full_refresh: bool = False,
    days: tuple[date, date] | None = None,
) -> GoldWindow:
    """The window this run recomputes, or a full rebuild and why.

    `days` [start, end), e.g. the partitions a Dagster run targets, are recomputed as well:
    the window spans both them and what the inputs' changes reach.
    """
    window = _plan(con, spec, name, table_exists, full_refresh)
    if days is None or window.full:
        return window
    strategy = spec.gold[name].incremental
    assert strategy is not None
    timed = window.start < window.end
    start = min(window.start, days[0]) if timed else days[0]
    end = max(window.end, days[1]) if timed else days[1]
    reason = f"days [{days[0]}, {days[1]}) asked for; {window.reason}"
    history = start - timedelta(days=strategy.history_days)
    return GoldWindow(False, reason, start, end, history, window.watermarks, window.keys)


def _plan(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    name: str,
    table_exists: bool,
    full_refresh: bool,
) -> GoldWindow:
    strategy = spec.gold[name].incremental
    ensure_builds(con, spec)
    latest = _latest_merges(con, spec, name)
    marks = tuple(sorted(latest.items()))
    if strategy is None:
        return GoldWindow(True, "no incremental strategy", watermarks=marks)
    last = _last_build(con, spec, name)
    reason = (
        "full refresh requested"
        if full_refresh
        else "first build"
        if last is None or not table_exists
        else "the product's spec changed"
        if last[0] != gold_fingerprint(spec, name)
        else ""
    )
    if reason:
        return GoldWindow(True, reason, watermarks=marks)
    _, newest, read = last
    return _changed_window(con, spec, name, newest, dict(read), marks)


def _changed_window(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    name: str,
    newest: date | None,
    read: dict[str, int],
    marks: tuple[tuple[str, int], ...],
) -> GoldWindow:
    strategy = spec.gold[name].incremental
    assert strategy is not None
    first, last, why = None, None, ""
    keys: set[str] = set()
    for entity in _inputs(spec, name):
        changed = con.execute(
            f"""SELECT bool_or(full_rebuild), count(*) FILTER (first_time IS NOT NULL
                       OR silver_rows + superseded_rows > 0),
                       min(first_time)::DATE, max(last_time)::DATE
                FROM {batches_table(spec)} WHERE entity = ? AND merge_seq > ?""",
            [entity, read.get(entity, 0)],
        ).fetchone()
        rebuilt, batches, low, high = changed
        if rebuilt:
            why = f"silver {entity} was rebuilt"
        elif batches and strategy.key_column in tracked_key_columns(spec, entity):
            column = strategy.key_column
            assert column is not None
            keys.update(changed_keys_since(con, spec, entity, column, read.get(entity, 0)))
        elif batches and spec.sources[entity].time_column is None:
            why = f"silver {entity}, which has no time column, changed"
        elif low is not None:
            first = min(first or low, low)
            last = max(last or high, high)
        if why:
            return GoldWindow(True, why, watermarks=marks)
    entities = tuple(sorted(keys))
    changed = f"; {len(entities)} {strategy.key_column} value(s) changed" if entities else ""
    if first is None:
        reason = f"no timed input changed{changed}" if entities else "no input changed"
        return GoldWindow(False, reason, FULL_END, FULL_END, FULL_END, marks, entities)
    start = min(first, newest or first) - timedelta(days=strategy.lookback_days)
    end = max(last, newest or last) + timedelta(days=1)
    history = start - timedelta(days=strategy.history_days)
    reason = f"inputs changed from {first} to {last}{changed}"
    return GoldWindow(False, reason, start, end, history, marks, entities)
