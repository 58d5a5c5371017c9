"""Silver → gold contracts on the gold table itself: its grain is unique and it holds no PII."""

from __future__ import annotations

import duckdb

from medallion.checks import names
from medallion.checks.outcome import CheckOutcome
from medallion.spec import ProductSpec
from medallion.zones.sql import quote

EXAMPLES = 5


def _rows(table: str, where: str) -> str:
    return f"(SELECT * FROM {table} WHERE {where})" if where else table


def grain_unique(
    con: duckdb.DuckDBPyConnection, spec: ProductSpec, name: str, where: str = ""
) -> CheckOutcome:
    """One row per grain: no duplicated and no NULL grain keys (among the rows `where`
    selects, e.g. a recomputed window, when given)."""
    grain = spec.gold[name].grain
    table = _rows(spec.table("gold", name), where)
    columns = ", ".join(quote(c) for c in grain)
    any_null = " OR ".join(f"{quote(c)} IS NULL" for c in grain)
    duplicated, examples = con.execute(
        f"""SELECT count(*), list(CAST(({columns}) AS VARCHAR))[1:{EXAMPLES}]
            FROM (SELECT {columns} FROM {table} GROUP BY ALL HAVING count(*) > 1)"""
    ).fetchone()
    nulls = con.execute(f"SELECT count(*) FROM {table} WHERE {any_null}").fetchone()[0]
    return CheckOutcome(
        name=names.GRAIN_UNIQUE,
        passed=duplicated == 0 and nulls == 0,
        severity="ERROR",
        description=(
            f"one row per ({', '.join(grain)})"
            if duplicated == 0 and nulls == 0
            else f"{duplicated:,} grain key(s) repeated, {nulls:,} row(s) with a NULL grain column"
        ),
        metadata={
            "grain": grain,
            "duplicated_keys": duplicated,
            "null_grain_rows": nulls,
            "example_duplicated_keys": examples or [],
        },
    )


def no_pii(
    con: duckdb.DuckDBPyConnection, spec: ProductSpec, name: str, where: str = ""
) -> CheckOutcome:
    """No gold column is a declared PII column, and no gold text value (of the rows `where`
    selects, when given) equals a raw PII value delivered in bronze."""
    table = _rows(spec.table("gold", name), where)
    base = spec.table("gold", name)
    pii = {(source, column) for source, s in spec.sources.items() for column in s.pii_columns}
    pii_names = {column for _, column in pii}
    described = con.execute(f"DESCRIBE {base}").fetchall()
    named = sorted(c for c, *_ in described if c in pii_names)
    text_columns = [c for c, kind, *_ in described if kind == "VARCHAR"]
    leaks: dict[str, int] = {}
    if pii and text_columns:
        # Only raw values that occur in gold matter: the gold values (few) filter the scan of
        # bronze's PII columns, instead of every raw value building a hash table.
        candidates = " UNION ".join(f"SELECT {quote(c)} AS v FROM {table}" for c in text_columns)
        raw_values = " UNION ".join(
            f"SELECT v FROM (SELECT NULLIF(trim(CAST({quote(c)} AS VARCHAR)), '') AS v "
            f"FROM {spec.table('bronze', s)}) WHERE v IN (SELECT v FROM candidates)"
            for s, c in sorted(pii)
        )
        counts = ", ".join(
            f"count(*) FILTER ({quote(c)} IN (SELECT v FROM raw))" for c in text_columns
        )
        found = con.execute(
            f"WITH candidates AS ({candidates}), raw AS ({raw_values}) SELECT {counts} FROM {table}"
        ).fetchone()
        leaks = {c: int(n) for c, n in zip(text_columns, found, strict=True) if n}
    passed = not named and not leaks
    return CheckOutcome(
        name=names.NO_PII,
        passed=passed,
        severity="ERROR",
        description=(
            f"no PII column and no raw PII value in {len(text_columns)} text column(s)"
            if passed
            else f"PII in gold: columns {named}, raw values found in {sorted(leaks)}"
        ),
        metadata={"pii_named_columns": named, "columns_with_raw_pii_values": leaks},
    )
