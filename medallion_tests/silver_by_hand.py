"""Silver tables written row by row in a test, so the real gold builders can be checked against
values computed by hand: the product's empty silver zone (as the pipeline creates it), rows
inserted as one batch, and the ledger entry a silver merge of that batch would record."""

from __future__ import annotations

from datetime import datetime

import duckdb

from medallion.resources.pseudonymization import hmac_pads
from medallion.spec import ProductSpec
from medallion.zones.bronze import ensure_bronze
from medallion.zones.silver import batches_table, build_silver


def empty_silver(con: duckdb.DuckDBPyConnection, spec: ProductSpec) -> None:
    """Every source's silver table (and silver's batch ledger), built from an empty bronze."""
    for source in spec.sources:
        ensure_bronze(con, spec, source)
        build_silver(con, spec, source, hmac_pads(b"k" * 32))


def insert(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    source: str,
    batch_id: str,
    rows: list[dict],
) -> None:
    """Append `rows` (column -> value; other columns NULL) to silver as batch `batch_id`."""
    for row in rows:
        values = row | {"_batch_id": batch_id, "_ingested_at": datetime(2026, 1, 1)}
        columns = ", ".join(f'"{c}"' for c in values)
        marks = ", ".join("?" for _ in values)
        con.execute(
            f"INSERT INTO {spec.table('silver', source)} ({columns}) VALUES ({marks})",
            list(values.values()),
        )


def record_merge(
    con: duckdb.DuckDBPyConnection, spec: ProductSpec, source: str, batch_id: str, seq: int
) -> None:
    """The ledger row silver writes when it merges a batch: its rows and the earliest and
    latest moment of the source's time column among them (what incremental gold reads)."""
    column = spec.sources[source].time_column
    times = f'min("{column}")::TIMESTAMP, max("{column}")::TIMESTAMP' if column else "NULL, NULL"
    con.execute(
        f"""INSERT INTO {batches_table(spec)}
            SELECT ?, ?, ?, false, 'by-hand', now()::TIMESTAMP, NULL,
                   count(*), count(*), count(*), 0, 0, {times}
            FROM {spec.table("silver", source)} WHERE _batch_id = ?""",
        [source, batch_id, seq, batch_id],
    )
