"""Bronze → silver: typed, cleaned, deduplicated (latest version wins), PII pseudonymized.

Every bronze row ends in exactly one place: silver, quarantine (with the rules it broke
and a readable reason), or counted as a superseded duplicate of its key. Silver and
quarantine are replaced together in one transaction, so readers see both old or both new.
PII is replaced by HMAC-SHA256 computed inside DuckDB from precomputed key pads passed
as query parameters, so the key never appears in SQL text.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from medallion.spec import LINEAGE_COLUMNS, ProductSpec, SourceSpec
from medallion.zones.bronze import bronze_column_type
from medallion.zones.sql import quote

TYPED = "_silver_typed"


@dataclass(frozen=True)
class SilverCounts:
    """Row accounting of one silver build: bronze = silver + quarantined + duplicates."""

    bronze_rows: int
    silver_rows: int
    quarantined_rows: int
    duplicates_removed: int

    @property
    def balanced(self) -> bool:
        return (
            self.bronze_rows == self.silver_rows + self.quarantined_rows + self.duplicates_removed
        )


def typed_expression(source: SourceSpec, column: str) -> str:
    """SQL turning the bronze value into the declared type; NULL when it does not convert."""
    name = quote(column)
    target = source.columns[column].type
    if bronze_column_type(source, column) != "VARCHAR":
        return name
    trimmed = f"NULLIF(trim({name}), '')"
    return trimmed if target == "VARCHAR" else f"TRY_CAST({trimmed} AS {target})"


def violation_expressions(source: SourceSpec) -> list[str]:
    """One SQL expression per row rule, yielding the rule's name when a row breaks it."""
    rules = []
    for column, declared in source.columns.items():
        name = quote(column)
        raw_present = (
            f"NULLIF(trim({name}), '') IS NOT NULL"
            if bronze_column_type(source, column) == "VARCHAR"
            else f"{name} IS NOT NULL"
        )
        if declared.required:
            rules.append(f"CASE WHEN NOT ({raw_present}) THEN 'required({column})' END")
        if typed_expression(source, column) != name and declared.type != "VARCHAR":
            rules.append(
                f"CASE WHEN {raw_present} AND {typed_expression(source, column)} IS NULL "
                f"THEN 'type({column}, {declared.type})' END"
            )
    return rules


def typed_sql(spec: ProductSpec, source_name: str) -> str:
    """Bronze rows typed, each with the list of rules it breaks."""
    source = spec.sources[source_name]
    typed = [f"{typed_expression(source, c)} AS {quote(c)}" for c in source.columns]
    rules = violation_expressions(source) or ["NULL::VARCHAR"]
    violations = f"list_filter([{', '.join(rules)}], rule -> rule IS NOT NULL) AS _violations"
    return (
        f"SELECT {', '.join(typed)}, {violations}, {', '.join(LINEAGE_COLUMNS)} "
        f"FROM {spec.table('bronze', source_name)}"
    )


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
            SELECT * EXCLUDE (_violations) FROM {TYPED} WHERE len(_violations) = 0
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
    reason = """array_to_string(list_transform(q._violations, rule ->
        CASE WHEN starts_with(rule, 'required(')
             THEN regexp_extract(rule, '\\((.*)\\)', 1) || ' is required but missing'
             ELSE regexp_extract(rule, '\\(([^,]*),', 1) || ' does not convert to '
                  || regexp_extract(rule, ', (.*)\\)', 1)
        END), '; ')"""
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
        bronze_rows, quarantined = con.execute(
            f"SELECT count(*), count(*) FILTER (len(_violations) > 0) FROM {TYPED}"
        ).fetchone()
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
    )
