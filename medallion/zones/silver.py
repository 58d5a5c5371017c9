"""Bronze → silver: typed, cleaned, deduplicated (latest version wins), PII pseudonymized.

Every bronze row ends in exactly one place: silver, quarantine (with the rules it broke
and a readable reason), or counted as a superseded version of its key. Silver is merged,
not rebuilt: only bronze batches not yet in silver's batch ledger are typed, and their rows
compete with the silver rows of the same keys in the order a rebuild would use. Silver,
quarantine and the ledger change together in one transaction, so readers see all old or all
new. PII is replaced by HMAC-SHA256 computed inside DuckDB from precomputed key pads passed
as query parameters, so the key never appears in SQL text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from medallion.spec import LINEAGE_COLUMNS, ProductSpec
from medallion.zones.bronze import LEDGER, PARSE_ERROR_COLUMN
from medallion.zones.changed_keys import (
    ensure_changed_keys,
    forget_changed_keys,
    record_changed_keys,
    tracked_key_columns,
)
from medallion.zones.rules import Rule, reason_case, source_rules, typed_expression
from medallion.zones.sql import literal, quote
from medallion.zones.tables import table_exists

TYPED = "_silver_typed"
NEW_BATCHES = "_silver_new_batches"
NEW_ROWS = "_silver_new_rows"
CONTEST = "_silver_contest"
BATCH_FILTER = f"_batch_id IN (SELECT batch_id FROM {NEW_BATCHES})"
SILVER_BATCHES = "silver_batches"
MALFORMED = "malformed"


@dataclass(frozen=True)
class SilverCounts:
    """Row accounting of the batches one silver run processed: bronze = silver (rows that
    entered silver) + quarantined + duplicates (rows that lost to another version)."""

    bronze_rows: int
    silver_rows: int
    quarantined_rows: int
    duplicates_removed: int
    failed_rows: int = 0
    warned_rows: int = 0
    rule_counts: dict[str, int] = field(default_factory=dict)
    batches: tuple[str, ...] = ()
    """The bronze batches this run processed."""
    replaced_rows: int = 0
    """Rows of earlier batches that rows of these batches superseded (removed from silver)."""
    full_rebuild: bool = False
    reason: str = ""
    """Why silver was rebuilt in full, or what the merge took in."""

    @property
    def balanced(self) -> bool:
        return (
            self.bronze_rows == self.silver_rows + self.quarantined_rows + self.duplicates_removed
        )


def _names(rules: list[Rule]) -> str:
    return "[" + ", ".join(literal(r.name) for r in rules) + "]::VARCHAR[]"


def _flags(rules: list[Rule]) -> str:
    cases = ", ".join(f"CASE WHEN {r.violated} THEN {literal(r.name)} END" for r in rules)
    return (
        f"list_filter([{cases}]::VARCHAR[], rule -> rule IS NOT NULL)" if rules else "[]::VARCHAR[]"
    )


def typed_sql(spec: ProductSpec, source_name: str, batches: str = "") -> str:
    """Bronze rows typed, each with the rules it breaks: `_violations` move the row to
    quarantine, `_warnings` keep it in silver. `batches`, when given, is a SQL condition on
    bronze's lineage that keeps only the batches to process."""
    source = spec.sources[source_name]
    rules = source_rules(source)
    raw = [r for r in rules if r.on_raw]
    typed = [r for r in rules if not r.on_raw]
    blocking = [r for r in raw if r.severity != "warn"]
    typed_columns = ", ".join(
        f"{typed_expression(source, c)} AS {quote(c)}" for c in source.columns
    )
    lineage = ", ".join(LINEAGE_COLUMNS)
    return f"""
        WITH flagged AS (
            SELECT *,
                   CASE WHEN {PARSE_ERROR_COLUMN} IS NOT NULL THEN ['{MALFORMED}']
                        ELSE {_flags(blocking)} END AS _raw_violations,
                   {_flags([r for r in raw if r.severity == "warn"])} AS _raw_warnings
            FROM {spec.table("bronze", source_name)}
            {f"WHERE {batches}" if batches else ""}
        ),
        typed AS (
            SELECT {typed_columns}, _raw_violations, _raw_warnings, {lineage} FROM flagged
        )
        SELECT * EXCLUDE (_raw_violations, _raw_warnings),
               list_concat(_raw_violations,
                           {_flags([r for r in typed if r.severity != "warn"])}) AS _violations,
               list_concat(_raw_warnings,
                           {_flags([r for r in typed if r.severity == "warn"])}) AS _warnings
        FROM typed
    """


def silver_sql(spec: ProductSpec, source_name: str) -> str:
    """Valid typed rows cleaned, deduplicated on the key, derived and pseudonymized.

    Uses the named parameters $ipad and $opad (HMAC-SHA256 key pads).
    """
    source = spec.sources[source_name]
    cleans = [f"({c.clean}) AS {quote(n)}" for n, c in source.columns.items() if c.clean]
    cleaned = (
        f"SELECT * REPLACE ({', '.join(cleans)}) FROM valid" if cleans else "SELECT * FROM valid"
    )
    order = [f"{quote(source.version_column)} DESC NULLS LAST"] if source.version_column else []
    order += ["_ingested_at DESC", "_batch_id DESC", "_row_number DESC"]
    partition = ", ".join(quote(k) for k in source.key)
    derived = [f"({expression}) AS {quote(name)}" for name, expression in source.derive.items()]
    final = []
    for column, declared in source.columns.items():
        name = quote(column)
        if declared.pii:
            final.append(
                f"sha256($opad || unhex(sha256($ipad || encode(CAST({name} AS VARCHAR))))) AS {name}"
            )
        else:
            final.append(name)
    final += [quote(name) for name in source.derive]
    final += list(LINEAGE_COLUMNS)
    return f"""
        WITH valid AS (
            SELECT * EXCLUDE (_violations, _warnings) FROM {TYPED} WHERE len(_violations) = 0
        ),
        cleaned AS ({cleaned}),
        latest AS (
            SELECT * FROM cleaned
            QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY {", ".join(order)}) = 1
        ),
        derived AS (SELECT *{"".join(", " + d for d in derived)} FROM latest)
        SELECT {", ".join(final)} FROM derived
    """


def quarantine_sql(spec: ProductSpec, source_name: str, batches: str = "") -> str:
    """Bronze rows, as delivered, that broke a rule, with the rules and a readable reason
    (only of the batches `batches` selects, when given)."""
    rules = source_rules(spec.sources[source_name])
    readable = reason_case(rules, "rule").replace(
        "CASE rule ",
        f"CASE rule WHEN '{MALFORMED}' THEN 'malformed line, ' || b.{PARSE_ERROR_COLUMN} ",
        1,
    )
    reason = f"array_to_string(list_transform(q._violations, rule -> {readable}), '; ')"
    return f"""
        SELECT b.*, q._violations AS _rules, {reason} AS _reason
        FROM {spec.table("bronze", source_name)} AS b
        JOIN (SELECT _batch_id, _row_number, _violations FROM {TYPED} WHERE len(_violations) > 0) AS q
        USING (_batch_id, _row_number)
        {f"WHERE {batches}" if batches else ""}
    """


def silver_fingerprint(spec: ProductSpec, source_name: str, pads: tuple[bytes, bytes]) -> str:
    """What silver's content depends on besides bronze: the SQL generated from the source's
    spec (types, rules, cleaning, derived columns, key, PII) and the pseudonymization key.

    A change of either makes the next run rebuild the source's silver in full."""
    digest = hashlib.sha256()
    for part in (
        typed_sql(spec, source_name, BATCH_FILTER),
        silver_sql(spec, source_name),
        quarantine_sql(spec, source_name, BATCH_FILTER),
    ):
        digest.update(part.encode())
    digest.update(hashlib.sha256(pads[0] + pads[1]).digest())
    return digest.hexdigest()[:32]


@dataclass(frozen=True)
class SilverPlan:
    """What a silver run will do: merge some new batches, or rebuild from every batch."""

    batches: tuple[str, ...]
    full_rebuild: bool
    reason: str


def plan_silver(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    source_name: str,
    fingerprint: str,
    full_refresh: bool = False,
) -> SilverPlan:
    """The bronze batches silver has not processed yet, or a full rebuild and why."""
    bronze_ledger = f"{spec.schema('bronze')}.{LEDGER}"
    delivered = [
        row[0]
        for row in con.execute(
            f"SELECT batch_id FROM {bronze_ledger} WHERE source = ? ORDER BY ingested_at, batch_id",
            [source_name],
        ).fetchall()
    ]
    reason = ""
    if full_refresh:
        reason = "full refresh requested"
    elif not (
        table_exists(con, spec.table("silver", source_name))
        and table_exists(con, batches_table(spec))
    ):
        reason = "first build"
    if reason:
        return SilverPlan(tuple(delivered), True, reason)
    processed = dict(
        con.execute(
            f"SELECT batch_id, fingerprint FROM {batches_table(spec)} WHERE entity = ?",
            [source_name],
        ).fetchall()
    )
    if any(stored != fingerprint for stored in processed.values()):
        reason = "the source's spec (or the pseudonymization key) changed since the last build"
    elif set(processed) - set(delivered):
        reason = "batches processed before are no longer in bronze"
    if reason:
        return SilverPlan(tuple(delivered), True, reason)
    new = tuple(batch for batch in delivered if batch not in processed)
    return SilverPlan(new, False, f"{len(new)} new batch(es)" if new else "no new batches")


def batches_table(spec: ProductSpec) -> str:
    """Silver's record of the bronze batches it has processed, one row per batch."""
    return f"{spec.schema('audit')}.{SILVER_BATCHES}"


def _ensure_ledger(con: duckdb.DuckDBPyConnection, spec: ProductSpec) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {spec.schema('audit')}")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {batches_table(spec)} (
            entity VARCHAR NOT NULL, batch_id VARCHAR NOT NULL, merge_seq BIGINT NOT NULL,
            full_rebuild BOOLEAN NOT NULL, fingerprint VARCHAR NOT NULL,
            processed_at TIMESTAMP NOT NULL, run_id VARCHAR,
            bronze_rows BIGINT NOT NULL, silver_rows BIGINT NOT NULL,
            complete_rows BIGINT NOT NULL, quarantined_rows BIGINT NOT NULL,
            superseded_rows BIGINT NOT NULL, first_time TIMESTAMP, last_time TIMESTAMP)"""
    )
    ensure_changed_keys(con, spec)


def _complete(spec: ProductSpec, source_name: str) -> str:
    source = spec.sources[source_name]
    columns = source.completeness.columns or list(source.columns)
    return " AND ".join(f"{quote(c)} IS NOT NULL" for c in columns)


def _time(spec: ProductSpec, source_name: str) -> str:
    column = spec.sources[source_name].time_column
    return f"CAST({quote(column)} AS TIMESTAMP)" if column else "CAST(NULL AS TIMESTAMP)"


def _order(spec: ProductSpec, source_name: str) -> str:
    source = spec.sources[source_name]
    order = [f"{quote(source.version_column)} DESC NULLS LAST"] if source.version_column else []
    return ", ".join([*order, "_ingested_at DESC", "_batch_id DESC", "_row_number DESC"])


def _typed_counts(con: duckdb.DuckDBPyConnection, spec: ProductSpec, source_name: str) -> dict:
    """Counts over the typed new rows: totals, per rule, and per batch."""
    fail_rules = [r for r in source_rules(spec.sources[source_name]) if r.severity == "fail"]
    bronze_rows, quarantined, failed, warned = con.execute(
        f"""SELECT count(*), count(*) FILTER (len(_violations) > 0),
                   count(*) FILTER (list_has_any(_violations, {_names(fail_rules)})),
                   count(*) FILTER (len(_warnings) > 0)
            FROM {TYPED}"""
    ).fetchone()
    rule_counts = con.execute(
        f"""SELECT rule, count(*) FROM (
                SELECT unnest(list_concat(_violations, _warnings)) AS rule FROM {TYPED})
            GROUP BY rule ORDER BY rule"""
    ).fetchall()
    return {
        "bronze_rows": int(bronze_rows),
        "quarantined_rows": int(quarantined),
        "failed_rows": int(failed),
        "warned_rows": int(warned),
        "rule_counts": {str(k): int(v) for k, v in rule_counts},
    }


def _record_batches(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    source_name: str,
    placed: str,
    stamp: dict,
) -> None:
    """Insert a ledger row per new batch: its bronze and quarantined rows from the typed
    rows, and what `placed` (a query of _batch_id, n, complete, first_time, last_time) says
    it put into silver; whatever is left was superseded."""
    con.execute(
        f"""INSERT INTO {batches_table(spec)} BY NAME
            WITH typed AS (
                SELECT _batch_id, count(*) AS bronze_rows,
                       count(*) FILTER (len(_violations) > 0) AS quarantined_rows
                FROM {TYPED} GROUP BY 1)
            SELECT $entity AS entity, n.batch_id, $seq AS merge_seq, $full AS full_rebuild,
                   $fingerprint AS fingerprint, $at AS processed_at, $run_id AS run_id,
                   coalesce(t.bronze_rows, 0) AS bronze_rows,
                   coalesce(p.n, 0) AS silver_rows, coalesce(p.complete, 0) AS complete_rows,
                   coalesce(t.quarantined_rows, 0) AS quarantined_rows,
                   coalesce(t.bronze_rows, 0) - coalesce(p.n, 0) - coalesce(t.quarantined_rows, 0)
                       AS superseded_rows,
                   p.first_time, p.last_time
            FROM {NEW_BATCHES} AS n
            LEFT JOIN typed AS t ON t._batch_id = n.batch_id
            LEFT JOIN ({placed}) AS p ON p._batch_id = n.batch_id""",
        {"entity": source_name, **stamp},
    )


def _rebuild(
    con: duckdb.DuckDBPyConnection, spec: ProductSpec, source_name: str, params: dict, stamp: dict
) -> int:
    """Replace silver, quarantine and the source's ledger rows from every batch (one
    transaction: the caller's). Returns 0: a rebuild replaces no earlier batch's rows, each
    batch's superseded rows are counted in its own ledger row."""
    silver = spec.table("silver", source_name)
    con.execute(f"CREATE OR REPLACE TABLE {silver} AS {silver_sql(spec, source_name)}", params)
    con.execute(
        f"CREATE OR REPLACE TABLE {spec.table('quarantine', source_name)} AS "
        f"{quarantine_sql(spec, source_name)}"
    )
    con.execute(f"DELETE FROM {batches_table(spec)} WHERE entity = ?", [source_name])
    forget_changed_keys(con, spec, source_name)
    placed = f"""SELECT _batch_id, count(*) AS n,
                        count(*) FILTER ({_complete(spec, source_name)}) AS complete,
                        min({_time(spec, source_name)}) AS first_time,
                        max({_time(spec, source_name)}) AS last_time
                 FROM {silver} GROUP BY 1"""
    _record_batches(con, spec, source_name, placed, stamp)
    return 0


def _contest(con: duckdb.DuckDBPyConnection, spec: ProductSpec, source_name: str) -> None:
    """Rank the new rows against the silver rows of the same keys, in the order a full
    rebuild uses, so exactly the rows a rebuild would keep win: a late older version loses
    to the newer row already in silver, a newer one replaces it."""
    source = spec.sources[source_name]
    keys = [quote(k) for k in source.key]
    version = [quote(source.version_column)] if source.version_column else []
    flags = [
        f"({_complete(spec, source_name)}) AS _complete",
        f"{_time(spec, source_name)} AS _time",
    ]
    # gold key columns (e.g. customer_id) whose changed values gold recomputes by
    tracked = [quote(c) for c in tracked_key_columns(spec, source_name)]
    extra = [c for c in tracked if c not in keys]
    carried = ", ".join(
        [*keys, *version, *extra, "_ingested_at", "_batch_id", "_row_number", *flags]
    )
    matched = " AND ".join(f"s.{k} IS NOT DISTINCT FROM n.{k}" for k in keys)
    partition = ", ".join(keys)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {CONTEST} AS
            WITH old AS (
                SELECT {carried}, FALSE AS _new FROM {spec.table("silver", source_name)} AS s
                WHERE EXISTS (SELECT 1 FROM {NEW_ROWS} AS n WHERE {matched})
            ),
            new AS (SELECT {carried}, TRUE AS _new FROM {NEW_ROWS})
            SELECT _batch_id, _row_number, _new, _complete, _time, {"".join(c + ", " for c in tracked)}
                   row_number() OVER w = 1 AS _wins,
                   first_value(_batch_id) OVER w AS _winner_batch
            FROM (SELECT * FROM old UNION ALL SELECT * FROM new)
            WINDOW w AS (PARTITION BY {partition} ORDER BY {_order(spec, source_name)})"""
    )


def _merge(con: duckdb.DuckDBPyConnection, spec: ProductSpec, source_name: str, stamp: dict) -> int:
    """Merge the contested new rows into silver, append quarantine, move superseded rows'
    counts in the ledger (one transaction: the caller's). Returns the rows replaced."""
    silver = spec.table("silver", source_name)
    replaced = con.execute(
        f"""SELECT _batch_id, count(*) AS n, count(*) FILTER (_complete) AS complete
            FROM {CONTEST} WHERE NOT _new AND NOT _wins GROUP BY 1"""
    ).fetchall()
    con.execute(
        f"""DELETE FROM {silver} AS s USING {CONTEST} AS c
            WHERE NOT c._new AND NOT c._wins
              AND s._batch_id = c._batch_id AND s._row_number = c._row_number"""
    )
    con.execute(
        f"""INSERT INTO {silver} BY NAME
            SELECT n.* FROM {NEW_ROWS} AS n
            SEMI JOIN (SELECT _batch_id, _row_number FROM {CONTEST} WHERE _new AND _wins) AS c
            USING (_batch_id, _row_number)"""
    )
    con.execute(
        f"INSERT INTO {spec.table('quarantine', source_name)} BY NAME "
        f"{quarantine_sql(spec, source_name, BATCH_FILTER)}"
    )
    if replaced:
        con.executemany(
            f"""UPDATE {batches_table(spec)}
                SET silver_rows = silver_rows - ?, complete_rows = complete_rows - ?,
                    superseded_rows = superseded_rows + ?
                WHERE entity = ? AND batch_id = ?""",
            [[n, complete, n, source_name, batch] for batch, n, complete in replaced],
        )
    placed = f"""SELECT _winner_batch AS _batch_id, count(*) FILTER (_new) AS n,
                        count(*) FILTER (_new AND _complete) AS complete,
                        min(_time) AS first_time, max(_time) AS last_time
                 FROM {CONTEST}
                 WHERE _wins OR NOT _new GROUP BY 1"""
    _record_batches(con, spec, source_name, placed, stamp)
    record_changed_keys(con, spec, source_name, CONTEST, stamp["seq"])
    return sum(int(n) for _, n, _ in replaced)


def build_silver(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    source_name: str,
    pads: tuple[bytes, bytes],
    *,
    full_refresh: bool = False,
    run_id: str = "",
) -> SilverCounts:
    """Bring silver.<entity> and quarantine.<entity> up to date with bronze, atomically.

    Only the batches not yet processed are typed and merged; the first build, an explicit
    `full_refresh` or a changed spec rebuilds from every batch instead.
    """
    fingerprint = silver_fingerprint(spec, source_name, pads)
    plan = plan_silver(con, spec, source_name, fingerprint, full_refresh)
    if not plan.full_rebuild and not plan.batches:
        return SilverCounts(0, 0, 0, 0, reason=plan.reason)
    params = {"ipad": pads[0], "opad": pads[1]} if spec.sources[source_name].pii_columns else {}
    _ensure_ledger(con, spec)
    seq = con.execute(
        f"SELECT coalesce(max(merge_seq), 0) + 1 FROM {batches_table(spec)} WHERE entity = ?",
        [source_name],
    ).fetchone()[0]
    stamp = {
        "seq": seq,
        "full": plan.full_rebuild,
        "fingerprint": fingerprint,
        "at": datetime.now(UTC).replace(tzinfo=None),
        "run_id": run_id,
    }
    try:
        typed, replaced = _apply(con, spec, source_name, plan, params, stamp)
        placed = con.execute(
            f"SELECT coalesce(sum(silver_rows), 0) FROM {batches_table(spec)} "
            "WHERE entity = ? AND merge_seq = ?",
            [source_name, seq],
        ).fetchone()[0]
    finally:
        for temp in (TYPED, NEW_BATCHES, NEW_ROWS, CONTEST):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
    return SilverCounts(
        silver_rows=int(placed),
        duplicates_removed=typed["bronze_rows"] - typed["quarantined_rows"] - int(placed),
        batches=plan.batches,
        replaced_rows=replaced,
        full_rebuild=plan.full_rebuild,
        reason=plan.reason,
        **typed,
    )


def _apply(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    source_name: str,
    plan: SilverPlan,
    params: dict,
    stamp: dict,
) -> tuple[dict, int]:
    """Type the plan's batches into temp tables, then rebuild or merge in one transaction.
    Returns the typed rows' counts and the rows of earlier batches replaced."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {NEW_BATCHES} AS SELECT unnest(?::VARCHAR[]) AS batch_id",
        [list(plan.batches)],
    )
    where = "" if plan.full_rebuild else BATCH_FILTER
    con.execute(f"CREATE OR REPLACE TEMP TABLE {TYPED} AS {typed_sql(spec, source_name, where)}")
    typed = _typed_counts(con, spec, source_name)
    if plan.full_rebuild:
        return typed, _in_transaction(
            con, lambda: _rebuild(con, spec, source_name, params, stamp), spec
        )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {NEW_ROWS} AS {silver_sql(spec, source_name)}", params
    )
    _contest(con, spec, source_name)
    return typed, _in_transaction(con, lambda: _merge(con, spec, source_name, stamp), spec)


def _in_transaction(con: duckdb.DuckDBPyConnection, write, spec: ProductSpec):  # type: ignore[no-untyped-def]
    """Run `write` (which returns the rows it replaced) in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {spec.schema('silver')}")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {spec.schema('quarantine')}")
        result = write()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result
