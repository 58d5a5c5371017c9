"""Row rules of a source, derived from its spec: what a silver row must satisfy.

Each rule is a SQL condition that is TRUE when a row breaks it, a severity (warn keeps the
row and counts it; quarantine moves it out with its reason; fail moves it out and stops the
boundary) and a reason a person can read. Rules on delivered values (required, type) look
at the raw bronze text; value rules look at the typed value, and only when it is present.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from medallion.spec import SourceSpec
from medallion.zones.bronze import RETYPED_COLUMN, bronze_column_type
from medallion.zones.sql import literal, quote

TEMPORAL = ("DATE", "TIMESTAMP", "TIMESTAMPTZ", "TIME")
INTEGERS = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
)


@dataclass(frozen=True)
class Rule:
    """One row rule: its name, severity, violation condition and readable reason."""

    name: str
    severity: str
    violated: str
    reason: str
    on_raw: bool = False


ISO_DATE = r"\d{4}-\d{2}-\d{2}"
ISO_TIMESTAMP = ISO_DATE + r"([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?"
WITH_OFFSET = r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)$"
FINER_THAN_MICROSECONDS = r"\.\d{6}\d*[1-9]"


def delivered_text(source: SourceSpec, column: str) -> str:
    """SQL of the value as delivered, as text: the trimmed text of a CSV or JSON value, or the
    exact text of a Parquet value delivered with another type than declared (else NULL)."""
    name = quote(column)
    if bronze_column_type(source, column) == "VARCHAR":
        return f"NULLIF(trim({name}), '')"
    path = literal("$." + json.dumps(column))
    return f"json_extract_string({RETYPED_COLUMN}, {path})"


def _utc(expression: str, declared: str) -> str:
    """A TIMESTAMPTZ instant as the declared type: TIMESTAMPTZ, or a naive UTC TIMESTAMP."""
    return expression if declared == "TIMESTAMPTZ" else f"({expression} AT TIME ZONE 'UTC')"


def _temporal(text: str, declared: str, formats: list[str] | None, zone: str) -> str:
    """Text to DATE/TIMESTAMP/TIMESTAMPTZ in the allowed formats; offsets honoured and converted
    to UTC, naive times read in the source's zone, never the session's."""
    if formats:
        parts = []
        for form in formats:
            parsed = f"try_strptime({text}, {literal(form)})"
            if "%z" in form:
                parts.append(_utc(parsed, declared))
            elif declared == "DATE":
                parts.append(f"CAST({parsed} AS DATE)")
            else:
                parts.append(_utc(f"timezone({literal(zone)}, {parsed})", declared))
        converted = parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"
        return f"CASE WHEN {text} IS NOT NULL THEN {converted} END"
    if declared == "DATE":
        return f"CASE WHEN regexp_full_match({text}, {literal(ISO_DATE)}) THEN TRY_CAST({text} AS DATE) END"
    naive = f"TRY_CAST({text} AS TIMESTAMP)"
    if not (zone == "UTC" and declared == "TIMESTAMP"):
        naive = _utc(f"timezone({literal(zone)}, {naive})", declared)
    return (
        f"CASE WHEN NOT regexp_full_match({text}, {literal(ISO_TIMESTAMP)}) THEN NULL "
        f"WHEN regexp_matches({text}, {literal(WITH_OFFSET)}) "
        f"THEN {_utc(f'TRY_CAST({text} AS TIMESTAMPTZ)', declared)} ELSE {naive} END"
    )


def converted(source: SourceSpec, column: str, text: str) -> str:
    """SQL turning delivered text into the declared type; NULL when it does not convert."""
    declared = source.columns[column]
    if declared.type == "VARCHAR":
        return text
    if declared.type in ("DATE", "TIMESTAMP", "TIMESTAMPTZ"):
        return _temporal(text, declared.type, declared.formats, source.timezone)
    return f"TRY_CAST({text} AS {declared.type})"


def typed_expression(source: SourceSpec, column: str) -> str:
    """SQL turning the bronze value into the declared type; NULL when it does not convert."""
    name = quote(column)
    if bronze_column_type(source, column) != "VARCHAR":
        return f"coalesce({name}, {converted(source, column, delivered_text(source, column))})"
    return converted(source, column, delivered_text(source, column))


def raw_present(source: SourceSpec, column: str) -> str:
    """SQL that is TRUE when the delivered value is there (not NULL, not blank)."""
    name = quote(column)
    if bronze_column_type(source, column) == "VARCHAR":
        return f"NULLIF(trim({name}), '') IS NOT NULL"
    return f"({name} IS NOT NULL OR {delivered_text(source, column)} IS NOT NULL)"


def lossy_rule(source: SourceSpec, column: str) -> Rule | None:
    """The rule catching a delivered value that converts only with a loss (rounding)."""
    declared = source.columns[column]
    text = delivered_text(source, column)
    value = converted(source, column, text)
    kind = declared.type
    if kind.startswith("DECIMAL"):
        precision, scale = (int(part) for part in kind[8:-1].split(","))
        wide = f"TRY_CAST({text} AS DECIMAL(38, {38 - (precision - scale)}))"
        loses = f"{wide} <> {value}"
        reason = f"{column} has more decimal places than {kind} keeps (it would be rounded)"
    elif kind in INTEGERS:
        loses = f"TRY_CAST({text} AS DOUBLE) <> CAST({value} AS DOUBLE)"
        reason = f"{column} has a fraction that {kind} cannot keep (it would be rounded)"
    elif kind in ("TIMESTAMP", "TIMESTAMPTZ", "TIME"):
        loses = f"regexp_matches({text}, {literal(FINER_THAN_MICROSECONDS)})"
        reason = f"{column} is finer than microseconds (it would be rounded)"
    else:
        return None
    return Rule(
        f"lossy({column})",
        declared.lossy,
        f"{text} IS NOT NULL AND {value} IS NOT NULL AND {loses}",
        reason,
        on_raw=True,
    )


def _type_reason(source: SourceSpec, column: str) -> str:
    declared = source.columns[column]
    if declared.type in ("DATE", "TIMESTAMP", "TIMESTAMPTZ"):
        allowed = ", ".join(declared.formats) if declared.formats else "ISO 8601"
        return f"{column} is not a {declared.type} in an allowed format ({allowed})"
    return f"{column} does not convert to {declared.type}"


def _bound(value: object, column_type: str) -> str:
    if isinstance(value, str):
        return f"CAST({literal(value)} AS {column_type})"
    return repr(value)


def _value_literal(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return literal(value) if isinstance(value, str) else repr(value)


def _as_utc(name: str, kind: str) -> str:
    """A temporal value as a naive UTC TIMESTAMP, whatever the session's zone."""
    if kind == "TIMESTAMPTZ":
        return f"({name} AT TIME ZONE 'UTC')"
    return f"CAST({name} AS TIMESTAMP)"


def _range_reason(column: str, low: object, high: object) -> str:
    if low is None:
        return f"{column} is above the maximum {high}"
    if high is None:
        return f"{column} is below the minimum {low}"
    return f"{column} is outside [{low}, {high}]"


def _delivery_rules(source: SourceSpec, column: str) -> list[Rule]:
    """Rules on the delivered text: required, converts to the declared type, not lossy."""
    declared = source.columns[column]
    rules: list[Rule] = []
    if declared.required:
        rules.append(
            Rule(
                f"required({column})",
                "quarantine",
                f"NOT ({raw_present(source, column)})",
                f"{column} is required but missing",
                on_raw=True,
            )
        )
    if declared.type != "VARCHAR":
        text = delivered_text(source, column)
        rules.append(
            Rule(
                f"type({column})",
                "quarantine",
                f"{text} IS NOT NULL AND {converted(source, column, text)} IS NULL",
                _type_reason(source, column),
                on_raw=True,
            )
        )
        lossy = lossy_rule(source, column)
        if lossy is not None:
            rules.append(lossy)
    return rules


def _range_rule(column: str, declared, severity: str) -> Rule:  # type: ignore[no-untyped-def]
    name = quote(column)
    low = f"{name} < {_bound(declared.min, declared.type)}" if declared.min is not None else "FALSE"
    high = (
        f"{name} > {_bound(declared.max, declared.type)}" if declared.max is not None else "FALSE"
    )
    return Rule(
        f"range({column})",
        severity,
        f"{name} IS NOT NULL AND ({low} OR {high})",
        _range_reason(column, declared.min, declared.max),
    )


def _value_rules(source: SourceSpec, column: str) -> list[Rule]:
    """Rules on the typed value, at the column's severity: pattern, allowed, range, future."""
    declared, name = source.columns[column], quote(column)
    severity = declared.severity
    rules: list[Rule] = []
    if declared.pattern is not None:
        raw = f"trim(CAST({name} AS VARCHAR))"
        rules.append(
            Rule(
                f"pattern({column})",
                severity,
                f"{raw_present(source, column)} AND NOT regexp_full_match({raw}, "
                f"{literal(declared.pattern)})",
                f"{column} does not match the pattern {declared.pattern}",
                on_raw=True,
            )
        )
    if declared.allowed is not None:
        values = ", ".join(_value_literal(v) for v in declared.allowed)
        shown = ", ".join(map(str, declared.allowed))
        rules.append(
            Rule(
                f"allowed({column})",
                severity,
                f"{name} IS NOT NULL AND {name} NOT IN ({values})",
                f"{column} is not one of the allowed values ({shown})",
            )
        )
    if declared.min is not None or declared.max is not None:
        rules.append(_range_rule(column, declared, severity))
    if declared.not_future and declared.type.startswith(TEMPORAL):
        rules.append(
            Rule(
                f"future({column})",
                severity,
                f"{name} IS NOT NULL AND {_as_utc(name, declared.type)} "
                "> _ingested_at + INTERVAL 1 DAY",
                f"{column} lies in the future of its delivery",
            )
        )
    return rules


def source_rules(source: SourceSpec) -> list[Rule]:
    """Every rule of a source, in a stable order: per column, then the declared row rules."""
    rules: list[Rule] = []
    for column in source.columns:
        rules += _delivery_rules(source, column) + _value_rules(source, column)
    rules += [
        Rule(
            f"rule({rule.name})",
            rule.severity,
            f"NOT coalesce(({rule.check}), TRUE)",
            rule.description or f"breaks rule {rule.name}: {rule.check}",
        )
        for rule in source.rules
    ]
    return rules


def reason_case(rules: list[Rule], variable: str, first: dict[str, str] | None = None) -> str:
    """SQL CASE mapping a rule name held in `variable` to its readable reason; `first` maps
    names to SQL expressions of their own, tried before the rules."""
    branches = [f"WHEN {literal(name)} THEN {sql}" for name, sql in (first or {}).items()]
    branches += [f"WHEN {literal(r.name)} THEN {literal(r.reason)}" for r in rules]
    return f"CASE {variable} {' '.join(branches)} ELSE {variable} END"
