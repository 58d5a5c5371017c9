"""Bronze → silver: typed, cleaned, deduplicated (latest version wins), PII pseudonymized.

Every bronze row ends in exactly one place: silver, quarantine (with the rules it broke
and a readable reason), or counted as a superseded duplicate of its key. Silver and
quarantine are replaced together in one transaction, so readers see both old or both new.
PII is replaced by HMAC-SHA256 computed inside DuckDB from precomputed key pads passed
as query parameters, so the key never appears in SQL text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from medallion.spec import LINEAGE_COLUMNS, ProductSpec
from medallion.zones.bronze import PARSE_ERROR_COLUMN
from medallion.zones.rules import Rule, reason_case, source_rules, typed_expression
from medallion.zones.sql import literal, quote

TYPED = "_silver_typed"
MALFORMED = "malformed"


@dataclass(frozen=True)
class SilverCounts:
    """Row accounting of one silver build: bronze = silver + quarantined + duplicates."""

    bronze_rows: int
    silver_rows: int
    quarantined_rows: int
    duplicates_removed: int
    failed_rows: int = 0
    warned_rows: int = 0
    rule_counts: dict[str, int] = field(default_factory=dict)

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


def typed_sql(spec: ProductSpec, source_name: str) -> str:
    """Bronze rows typed, each with the rules it breaks: `_violations` move the row to
    quarantine, `_warnings` keep it in silver."""
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


def quarantine_sql(spec: ProductSpec, source_name: str) -> str:
    """Bronze rows, as delivered, that broke a rule, with the rules and a readable reason."""
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
    """


def build_silver(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    source_name: str,
    pads: tuple[bytes, bytes],
) -> SilverCounts:
    """Rebuild silver.<entity> and quarantine.<entity> from bronze, atomically."""
    ipad, opad = pads
    silver = spec.table("silver", source_name)
    quarantine = spec.table("quarantine", source_name)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {TYPED} AS {typed_sql(spec, source_name)}")
    try:
        fail_rules = [r for r in source_rules(spec.sources[source_name]) if r.severity == "fail"]
        bronze_rows, quarantined, failed, warned = con.execute(
            f"""SELECT count(*), count(*) FILTER (len(_violations) > 0),
                       count(*) FILTER (list_has_any(_violations, {_names(fail_rules)})),
                       count(*) FILTER (len(_warnings) > 0)
                FROM {TYPED}"""
        ).fetchone()
        rule_counts = dict(
            con.execute(
                f"""SELECT rule, count(*) FROM (
                        SELECT unnest(list_concat(_violations, _warnings)) AS rule FROM {TYPED})
                    GROUP BY rule ORDER BY rule"""
            ).fetchall()
        )
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {spec.schema('silver')}")
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {spec.schema('quarantine')}")
            con.execute(
                f"CREATE OR REPLACE TABLE {silver} AS {silver_sql(spec, source_name)}",
                {"ipad": ipad, "opad": opad} if spec.sources[source_name].pii_columns else {},
            )
            con.execute(
                f"CREATE OR REPLACE TABLE {quarantine} AS {quarantine_sql(spec, source_name)}"
            )
            silver_rows = con.execute(f"SELECT count(*) FROM {silver}").fetchone()[0]
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.execute(f"DROP TABLE IF EXISTS {TYPED}")
    return SilverCounts(
        bronze_rows=int(bronze_rows),
        silver_rows=int(silver_rows),
        quarantined_rows=int(quarantined),
        duplicates_removed=int(bronze_rows - quarantined - silver_rows),
        failed_rows=int(failed),
        warned_rows=int(warned),
        rule_counts={str(k): int(v) for k, v in rule_counts.items()},
    )
