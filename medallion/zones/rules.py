"""Row rules of a source, derived from its spec: what a silver row must satisfy.

Each rule is a SQL condition that is TRUE when a row breaks it, a severity (warn keeps the
row and counts it; quarantine moves it out with its reason; fail moves it out and stops the
boundary) and a reason a person can read. Rules on delivered values (required, type) look
at the raw bronze text; value rules look at the typed value, and only when it is present.
"""

from __future__ import annotations

from dataclasses import dataclass

from medallion.spec import SourceSpec
from medallion.zones.bronze import bronze_column_type
from medallion.zones.sql import literal, quote

TEMPORAL = ("DATE", "TIMESTAMP", "TIMESTAMPTZ", "TIME")


@dataclass(frozen=True)
class Rule:
    """One row rule: its name, severity, violation condition and readable reason."""

    name: str
    severity: str
    violated: str
    reason: str
    on_raw: bool = False


def typed_expression(source: SourceSpec, column: str) -> str:
    """SQL turning the bronze value into the declared type; NULL when it does not convert."""
    name = quote(column)
    target = source.columns[column].type
    if bronze_column_type(source, column) != "VARCHAR":
        return name
    trimmed = f"NULLIF(trim({name}), '')"
    return trimmed if target == "VARCHAR" else f"TRY_CAST({trimmed} AS {target})"


def raw_present(source: SourceSpec, column: str) -> str:
    """SQL that is TRUE when the delivered value is there (not NULL, not blank)."""
    name = quote(column)
    if bronze_column_type(source, column) == "VARCHAR":
        return f"NULLIF(trim({name}), '') IS NOT NULL"
    return f"{name} IS NOT NULL"


def _bound(value: object, column_type: str) -> str:
    if isinstance(value, str):
        return f"CAST({literal(value)} AS {column_type})"
    return repr(value)


def _value_literal(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return literal(value) if isinstance(value, str) else repr(value)


def _range_reason(column: str, low: object, high: object) -> str:
    if low is None:
        return f"{column} is above the maximum {high}"
    if high is None:
        return f"{column} is below the minimum {low}"
    return f"{column} is outside [{low}, {high}]"


def source_rules(source: SourceSpec) -> list[Rule]:
    """Every rule of a source, in a stable order: per column, then the declared row rules."""
    rules: list[Rule] = []
    for column, declared in source.columns.items():
        name = quote(column)
        present = raw_present(source, column)
        if declared.required:
            rules.append(
                Rule(
                    f"required({column})",
                    "quarantine",
                    f"NOT ({present})",
                    f"{column} is required but missing",
                    on_raw=True,
                )
            )
        if typed_expression(source, column) != name and declared.type != "VARCHAR":
            rules.append(
                Rule(
                    f"type({column})",
                    "quarantine",
                    f"{present} AND {typed_expression(source, column)} IS NULL",
                    f"{column} does not convert to {declared.type}",
                    on_raw=True,
                )
            )
        severity = declared.severity
        if declared.pattern is not None:
            raw = f"trim(CAST({name} AS VARCHAR))"
            rules.append(
                Rule(
                    f"pattern({column})",
                    severity,
                    f"{present} AND NOT regexp_full_match({raw}, {literal(declared.pattern)})",
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
            low = (
                f"{name} < {_bound(declared.min, declared.type)}"
                if declared.min is not None
                else "FALSE"
            )
            high = (
                f"{name} > {_bound(declared.max, declared.type)}"
                if declared.max is not None
                else "FALSE"
            )
            rules.append(
                Rule(
                    f"range({column})",
                    severity,
                    f"{name} IS NOT NULL AND ({low} OR {high})",
                    _range_reason(column, declared.min, declared.max),
                )
            )
        if declared.not_future and declared.type.startswith(TEMPORAL):
            rules.append(
                Rule(
                    f"future({column})",
                    severity,
                    f"{name} IS NOT NULL AND CAST({name} AS TIMESTAMP) > _ingested_at + INTERVAL 1 DAY",
                    f"{column} lies in the future of its delivery",
                )
            )
    for rule in source.rules:
        rules.append(
            Rule(
                f"rule({rule.name})",
                rule.severity,
                f"NOT coalesce(({rule.check}), TRUE)",
                rule.description or f"breaks rule {rule.name}: {rule.check}",
            )
        )
    return rules


def reason_case(rules: list[Rule], variable: str) -> str:
    """SQL CASE mapping a rule name held in `variable` to its readable reason."""
    branches = " ".join(f"WHEN {literal(r.name)} THEN {literal(r.reason)}" for r in rules)
    return f"CASE {variable} {branches} ELSE {variable} END"
