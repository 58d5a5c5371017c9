"""Bronze → silver contracts: every bronze row accounted for, records complete enough,
row rules by severity, quarantine within bounds, references resolved."""

from __future__ import annotations

import duckdb

from medallion.checks import names
from medallion.checks.outcome import CheckOutcome
from medallion.spec import ProductSpec
from medallion.zones.rules import source_rules, typed_expression
from medallion.zones.silver import SilverCounts, batches_table
from medallion.zones.sql import literal, quote

EXAMPLES = 5


def row_accounting(con: duckdb.DuckDBPyConnection, spec: ProductSpec, entity: str) -> CheckOutcome:
    """Per batch, rows(bronze) = rows(silver) + quarantined + duplicates removed, exactly.

    Each batch is first compared by a fingerprint of its rows' lineage: the count and the sum
    of the hashes of the row numbers, in bronze against silver plus quarantine. Equal
    fingerprints mean every bronze row of the batch is in exactly one of them and nothing was
    invented (short of a 64-bit hash collision); three grouped scans, no join. Only the batches whose fingerprints differ are traced row by row: each
    bronze row to silver or quarantine; one found in neither counts as a duplicate only if a
    newer row of its key is in silver. Anything else was lost, and a silver row with no
    bronze origin was invented.
    """
    bronze = spec.table("bronze", entity)
    silver = spec.table("silver", entity)
    quarantine = spec.table("quarantine", entity)
    fingerprint = "count(*) AS n, sum(hash(_row_number)::HUGEINT) AS h"
    fingerprints = con.execute(
        f"""
        WITH b AS (SELECT _batch_id, {fingerprint} FROM {bronze} GROUP BY 1),
             s AS (SELECT _batch_id, {fingerprint} FROM {silver} GROUP BY 1),
             q AS (SELECT _batch_id, {fingerprint} FROM {quarantine} GROUP BY 1)
        SELECT _batch_id, coalesce(b.n, 0), coalesce(s.n, 0), coalesce(q.n, 0),
               b.n IS NOT DISTINCT FROM coalesce(s.n, 0) + coalesce(q.n, 0)
               AND b.h IS NOT DISTINCT FROM coalesce(s.h, 0) + coalesce(q.h, 0) AS balanced
        FROM b FULL JOIN s USING (_batch_id) FULL JOIN q USING (_batch_id)
        ORDER BY _batch_id
        """
    ).fetchall()
    per_batch = [(batch, b, s_, q, 0, 0, 0) for batch, b, s_, q, ok in fingerprints if ok]
    unbalanced = [row[0] for row in fingerprints if not row[4]]
    if unbalanced:
        per_batch += _trace_rows(con, spec, entity, unbalanced)
        per_batch.sort(key=lambda row: (row[0] is None, row[0] or ""))
    invented = sum(row[6] for row in per_batch)
    totals = [sum(row[i] for row in per_batch) for i in range(1, 6)]
    broken = [row for row in per_batch if row[5] > 0]
    passed = not broken and invented == 0
    return CheckOutcome(
        name=names.ROW_ACCOUNTING,
        passed=passed,
        severity="ERROR",
        description=(
            f"bronze {totals[0]:,} = silver {totals[1]:,} + quarantined {totals[2]:,} "
            f"+ duplicates {totals[3]:,} in each of {len(per_batch)} batch(es)"
            if passed
            else f"{totals[4]:,} bronze row(s) reached neither silver nor quarantine, "
            f"{invented:,} silver row(s) have no bronze origin"
        ),
        metadata={
            "bronze_rows": totals[0],
            "silver_rows": totals[1],
            "quarantined_rows": totals[2],
            "duplicates_removed": totals[3],
            "unaccounted_rows": totals[4],
            "invented_rows": invented,
            "batches": len(per_batch),
            "unbalanced_batches": [row[0] for row in broken][:EXAMPLES],
        },
    )


def _trace_rows(
    con: duckdb.DuckDBPyConnection, spec: ProductSpec, entity: str, batches: list[str]
) -> list[tuple]:
    """Row by row accounting of some batches: (batch, bronze, silver, quarantined,
    duplicates, unaccounted, invented) each."""
    source = spec.sources[entity]
    keys = [quote(k) for k in source.key]
    typed_keys = ", ".join(f"{typed_expression(source, k)} AS {quote(k)}" for k in source.key)
    bronze = spec.table("bronze", entity)
    silver = spec.table("silver", entity)
    quarantine = spec.table("quarantine", entity)
    key_list = ", ".join(keys)
    chosen = "WHERE _batch_id IN (SELECT unnest(?::VARCHAR[]))"
    return con.execute(
        f"""
        WITH b AS (SELECT _batch_id, _row_number, TRUE AS in_b FROM {bronze} {chosen}),
             s AS (SELECT _batch_id, _row_number, TRUE AS in_s FROM {silver} {chosen}),
             q AS (SELECT _batch_id, _row_number, TRUE AS in_q FROM {quarantine} {chosen}),
             placed AS (
                SELECT _batch_id, _row_number, coalesce(in_b, FALSE) AS in_b,
                       coalesce(in_s, FALSE) AS in_s, coalesce(in_q, FALSE) AS in_q
                FROM b FULL JOIN s USING (_batch_id, _row_number)
                LEFT JOIN q USING (_batch_id, _row_number)
             ),
             unplaced AS (
                SELECT _batch_id, {typed_keys}
                FROM (SELECT _batch_id, _row_number FROM placed
                      WHERE in_b AND NOT in_s AND NOT in_q)
                JOIN {bronze} USING (_batch_id, _row_number)
             ),
             superseding AS (
                SELECT DISTINCT {key_list}, TRUE AS superseded
                FROM (SELECT {key_list} FROM {silver}) SEMI JOIN unplaced USING ({key_list})
             ),
             judged AS (
                SELECT _batch_id, coalesce(superseded, FALSE) AS superseded
                FROM unplaced LEFT JOIN superseding USING ({key_list})
             )
        SELECT p._batch_id,
               count(*) FILTER (in_b) AS bronze,
               count(*) FILTER (in_b AND in_s AND NOT in_q) AS silver,
               count(*) FILTER (in_b AND in_q AND NOT in_s) AS quarantined,
               coalesce(max(u.duplicates), 0) AS duplicates,
               count(*) FILTER (in_s AND in_q) + coalesce(max(u.lost), 0) AS unaccounted,
               count(*) FILTER (NOT in_b) AS invented
        FROM placed AS p
        LEFT JOIN (SELECT _batch_id, count(*) FILTER (superseded) AS duplicates,
                          count(*) FILTER (NOT superseded) AS lost
                   FROM judged GROUP BY 1) AS u USING (_batch_id)
        GROUP BY p._batch_id ORDER BY p._batch_id
        """,
        [batches, batches, batches],
    ).fetchall()


def completeness(con: duckdb.DuckDBPyConnection, spec: ProductSpec, entity: str) -> CheckOutcome:
    """The share of complete records is at least the declared minimum."""
    source = spec.sources[entity]
    columns = source.completeness.columns or list(source.columns)
    minimum = source.completeness.min_complete_share
    table = spec.table("silver", entity)
    present = " AND ".join(f"{quote(c)} IS NOT NULL" for c in columns)
    nulls = ", ".join(f"count(*) FILTER ({quote(c)} IS NULL)" for c in columns)
    row = con.execute(
        f"SELECT count(*), count(*) FILTER ({present}), {nulls} FROM {table}"
    ).fetchone()
    rows, complete = row[0], row[1]
    share = complete / rows if rows else 0.0
    null_counts = {c: n for c, n in zip(columns, row[2:], strict=True) if n}
    passed = rows > 0 and share >= minimum
    return CheckOutcome(
        name=names.COMPLETENESS,
        passed=passed,
        severity="ERROR",
        description=(
            f"{share:.1%} of {rows:,} records complete (minimum {minimum:.0%})"
            if rows
            else "no records at all"
        ),
        metadata={
            "observed_share": round(share, 6),
            "min_complete_share": minimum,
            "rows": rows,
            "complete_rows": complete,
            "null_counts": null_counts,
        },
    )


def rule_outcomes(spec: ProductSpec, entity: str, counts: SilverCounts) -> list[CheckOutcome]:
    """Fail rules (ERROR), warn rules (WARN) and the quarantined share (WARN)."""
    rules = source_rules(spec.sources[entity])
    by_severity = {
        severity: {
            r.name: counts.rule_counts.get(r.name, 0) for r in rules if r.severity == severity
        }
        for severity in ("fail", "warn")
    }
    fail_hits = {k: v for k, v in by_severity["fail"].items() if v}
    warn_hits = {k: v for k, v in by_severity["warn"].items() if v}
    share = counts.quarantined_rows / counts.bronze_rows if counts.bronze_rows else 0.0
    limit = spec.sources[entity].max_quarantine_share
    quarantined = {k: v for k, v in counts.rule_counts.items() if k not in by_severity["warn"]}
    return [
        CheckOutcome(
            name=names.FAIL_RULES,
            passed=not fail_hits,
            severity="ERROR",
            description=(
                f"{counts.failed_rows:,} row(s) break a rule of severity fail (quarantined)"
                if fail_hits
                else f"no row breaks any of {len(by_severity['fail'])} fail rule(s)"
            ),
            metadata={"failed_rows": counts.failed_rows, "violations": fail_hits},
        ),
        CheckOutcome(
            name=names.WARN_RULES,
            passed=not warn_hits,
            severity="WARN",
            description=(
                f"{counts.warned_rows:,} row(s) kept in silver break a warn rule"
                if warn_hits
                else f"no row breaks any of {len(by_severity['warn'])} warn rule(s)"
            ),
            metadata={"warned_rows": counts.warned_rows, "violations": warn_hits},
        ),
        CheckOutcome(
            name=names.QUARANTINE_SHARE,
            passed=share <= limit,
            severity="WARN",
            description=f"{share:.2%} of bronze rows quarantined (limit {limit:.0%})",
            metadata={
                "observed_share": round(share, 6),
                "max_quarantine_share": limit,
                "quarantined_rows": counts.quarantined_rows,
                "violations": quarantined,
            },
        ),
    ]


def referential_integrity(
    con: duckdb.DuckDBPyConnection, spec: ProductSpec, entity: str, latest_only: bool = False
) -> CheckOutcome:
    """Every declared reference points to an existing row of the referenced entity.

    With `latest_only`, only the rows of the batches the latest silver merge processed are
    looked at (every row after a full rebuild): earlier rows were checked when they came.
    The referencing values filter the scan of the referenced column, so no hash table of
    every key of the referenced entity is built.
    """
    source = spec.sources[entity]
    table = spec.table("silver", entity)
    ledger = batches_table(spec)
    latest = (
        f"AND _batch_id IN (SELECT batch_id FROM {ledger} WHERE entity = {literal(entity)} "
        f"AND merge_seq = (SELECT max(merge_seq) FROM {ledger} WHERE entity = {literal(entity)}))"
        if latest_only
        else ""
    )
    orphans: dict[str, int] = {}
    examples: dict[str, list] = {}
    for column, declared in source.columns.items():
        if not declared.references:
            continue
        target_entity, _, target_column = declared.references.partition(".")
        target = spec.table("silver", target_entity)
        count, example = con.execute(
            f"""WITH refs AS (SELECT {quote(column)} AS v FROM {table}
                              WHERE {quote(column)} IS NOT NULL {latest}),
                     known AS (SELECT DISTINCT {quote(target_column)} AS v FROM {target}
                               WHERE {quote(target_column)} IN (SELECT v FROM refs))
                SELECT count(*), list(DISTINCT CAST(v AS VARCHAR))[1:{EXAMPLES}]
                FROM refs WHERE v NOT IN (SELECT v FROM known)"""
        ).fetchone()
        if count:
            orphans[column] = int(count)
            examples[column] = sorted(example or [])
    return CheckOutcome(
        name=names.REFERENTIAL_INTEGRITY,
        passed=not orphans,
        severity="WARN",
        description=(
            "every reference resolves"
            if not orphans
            else "; ".join(
                f"{n:,} {c} value(s) not found in {source.columns[c].references}"
                for c, n in orphans.items()
            )
        ),
        metadata={"orphans": orphans, "example_orphan_keys": examples},
    )


def key_unique(spec: ProductSpec, entity: str, rows: int, keys: int) -> CheckOutcome:
    """One silver row per key: the row count equals the number of distinct keys (both are
    counted once per revision, so this costs nothing extra)."""
    key = spec.sources[entity].key
    return CheckOutcome(
        name=names.KEY_UNIQUE,
        passed=rows == keys,
        severity="ERROR",
        description=(
            f"{rows:,} rows, one per {', '.join(key)}"
            if rows == keys
            else f"{rows - keys:,} extra row(s) for {keys:,} distinct {', '.join(key)}"
        ),
        metadata={"rows": rows, "distinct_keys": keys, "key": key},
    )


def batch_accounting(
    con: duckdb.DuckDBPyConnection, spec: ProductSpec, entity: str, batches: tuple[str, ...]
) -> CheckOutcome:
    """Row accounting kept up to date by the merge, checked without scanning silver.

    Every batch's ledger row must balance, bronze = silver + quarantined + superseded, where
    silver counts the batch's rows still in silver and superseded its rows that lost to
    another version, in its own delivery or in a later one (the merge moves a row from the
    first count to the second when a later batch replaces it). The ledger must also add up
    to the tables: its silver, quarantined and bronze sums equal the tables' row counts.
    """
    ledger = batches_table(spec)
    totals = con.execute(
        f"""SELECT count(*), coalesce(sum(bronze_rows), 0), coalesce(sum(silver_rows), 0),
                   coalesce(sum(quarantined_rows), 0), coalesce(sum(superseded_rows), 0),
                   list(batch_id ORDER BY batch_id) FILTER (
                       bronze_rows != silver_rows + quarantined_rows + superseded_rows
                       OR least(silver_rows, quarantined_rows, superseded_rows) < 0)
            FROM {ledger} WHERE entity = ?""",
        [entity],
    ).fetchone()
    count, bronze, silver, quarantined, superseded, unbalanced = totals
    tables = [
        con.execute(f"SELECT count(*) FROM {spec.table(zone, entity)}").fetchone()[0]
        for zone in ("bronze", "silver", "quarantine")
    ]
    mismatched = [
        f"{zone}: table {actual:,} rows, ledger {recorded:,}"
        for zone, actual, recorded in zip(
            ("bronze", "silver", "quarantine"), tables, (bronze, silver, quarantined), strict=True
        )
        if actual != recorded
    ]
    passed = not unbalanced and not mismatched
    return CheckOutcome(
        name=names.ROW_ACCOUNTING,
        passed=passed,
        severity="ERROR",
        description=(
            f"bronze {bronze:,} = silver {silver:,} + quarantined {quarantined:,} "
            f"+ superseded {superseded:,} in each of {count} batch(es)"
            if passed
            else "; ".join(
                [
                    *mismatched,
                    *([f"unbalanced batches {unbalanced[:EXAMPLES]}"] if unbalanced else []),
                ]
            )
        ),
        metadata={
            "bronze_rows": int(bronze),
            "silver_rows": int(silver),
            "quarantined_rows": int(quarantined),
            "duplicates_removed": int(superseded),
            "batches": int(count),
            "new_batches": len(batches),
            "unbalanced_batches": list(unbalanced or [])[:EXAMPLES],
            "table_mismatches": mismatched,
        },
    )


def changed_keys(
    con: duckdb.DuckDBPyConnection, spec: ProductSpec, entity: str, batches: tuple[str, ...]
) -> tuple[int, int]:
    """Silver's rows and distinct keys, found by looking only at the keys the given batches
    touched: every other key was unique before, and the merge left it alone."""
    table = spec.table("silver", entity)
    keys = ", ".join(quote(k) for k in spec.sources[entity].key)
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    touched, distinct = con.execute(
        f"""WITH changed AS (
                SELECT DISTINCT {keys} FROM {table} WHERE _batch_id IN (SELECT unnest(?::VARCHAR[])))
            SELECT count(*), count(DISTINCT ({keys})) FROM {table} SEMI JOIN changed USING ({keys})""",
        [list(batches)],
    ).fetchone()
    return int(rows), int(rows - touched + distinct)


def maintained_completeness(
    con: duckdb.DuckDBPyConnection, spec: ProductSpec, entity: str
) -> CheckOutcome:
    """The share of complete records from the counters the merge keeps per batch."""
    source = spec.sources[entity]
    minimum = source.completeness.min_complete_share
    rows, complete = con.execute(
        f"SELECT coalesce(sum(silver_rows), 0), coalesce(sum(complete_rows), 0) "
        f"FROM {batches_table(spec)} WHERE entity = ?",
        [entity],
    ).fetchone()
    share = complete / rows if rows else 0.0
    passed = rows > 0 and share >= minimum
    return CheckOutcome(
        name=names.COMPLETENESS,
        passed=passed,
        severity="ERROR",
        description=(
            f"{share:.1%} of {rows:,} records complete (minimum {minimum:.0%})"
            if rows
            else "no records at all"
        ),
        metadata={
            "observed_share": round(share, 6),
            "min_complete_share": minimum,
            "rows": int(rows),
            "complete_rows": int(complete),
            "columns": source.completeness.columns or list(source.columns),
        },
    )
