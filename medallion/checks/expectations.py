"""Silver → gold contract as a Great Expectations suite built from the spec, validated in
DuckDB as SQL (no copy of the table into pandas).

Expectations mirror the row rules: the ones backing quarantine/fail rules must hold on
silver (a failure means a rule was not enforced) and block; those backing warn rules
report how many rows still break them. Regex patterns are enforced by the silver row rule
only: GX does not support regex on the DuckDB dialect. Key uniqueness is not in the suite:
GX's unique expectation dominated validation time, and silver checks it for free as
rows = distinct keys (check `key_unique`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medallion.checks import names
from medallion.checks.outcome import CheckOutcome
from medallion.lake.catalog import is_lake_target
from medallion.resources.warehouse import connect
from medallion.spec import ProductSpec
from medallion.zones.sql import literal


@dataclass(frozen=True)
class PlannedExpectation:
    """One expectation: its GX class name, arguments and the severity of the rule behind it."""

    kind: str
    kwargs: dict[str, Any]
    severity: str

    @property
    def label(self) -> str:
        target = (
            self.kwargs.get("column") or ",".join(self.kwargs.get("column_list", [])) or "table"
        )
        return f"{self.kind}({target})"


def plan_suite(spec: ProductSpec, entity: str) -> list[PlannedExpectation]:
    """The expectations a silver entity must meet, derived from its spec."""
    source = spec.sources[entity]
    plan = [
        PlannedExpectation("ExpectTableRowCountToBeBetween", {"min_value": 1}, "fail"),
        # One expectation for all declared columns: one per column cost a metric each.
        PlannedExpectation(
            "ExpectTableColumnsToMatchSet",
            {"column_set": list(source.columns), "exact_match": False},
            "fail",
        ),
    ]
    for column, declared in source.columns.items():
        if declared.required:
            plan.append(
                PlannedExpectation(
                    "ExpectColumnValuesToNotBeNull", {"column": column}, "quarantine"
                )
            )
        if declared.pii:
            continue
        if declared.allowed is not None:
            plan.append(
                PlannedExpectation(
                    "ExpectColumnValuesToBeInSet",
                    {"column": column, "value_set": list(declared.allowed)},
                    declared.severity,
                )
            )
        if declared.min is not None or declared.max is not None:
            plan.append(
                PlannedExpectation(
                    "ExpectColumnValuesToBeBetween",
                    {"column": column, "min_value": declared.min, "max_value": declared.max},
                    declared.severity,
                )
            )
    return plan


def validate(
    warehouse: str | Path,
    spec: ProductSpec,
    entity: str,
    config: dict | None = None,
    batches: tuple[str, ...] | None = None,
) -> CheckOutcome:
    """Run the entity's suite against its silver table in the DuckDB file (read-only,
    waiting like every other connection while another process writes).

    `batches`, when given, restricts the validation to the rows of those bronze batches:
    what a merge added, the rest having been validated when it arrived.
    """
    import great_expectations as gx
    from duckdb_engine import ConnectionWrapper

    from medallion.checks import gx_duckdb

    gx_duckdb.install()
    plan = plan_suite(spec, entity)
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    opened: list = []

    def creator():  # type: ignore[no-untyped-def]
        opened.append(connect(warehouse, read_only=True, config=config))
        return ConnectionWrapper(opened[-1])

    source = context.data_sources.add_sql(
        name="warehouse",
        # The creator opens the connection; the URL only names the dialect (a lake target
        # is no file path).
        connection_string="duckdb:///:memory:"
        if is_lake_target(warehouse)
        else f"duckdb:///{warehouse}",
        kwargs={"creator": creator},
    )
    suite = gx.ExpectationSuite(name=f"{spec.name}.silver.{entity}")
    for planned in plan:
        suite.add_expectation(getattr(gx.expectations, planned.kind)(**planned.kwargs))
    try:
        asset = source.add_query_asset(name=entity, query=_query(spec, entity, batches))
        batch = asset.add_batch_definition_whole_table("whole table").get_batch()
        result = batch.validate(suite, result_format="BASIC")
    finally:
        _release(source, opened)
    outcomes = _outcomes(plan, result.results)
    blocking = [o for o in outcomes if not o["success"] and o["severity"] != "warn"]
    warned = [o for o in outcomes if not o["success"] and o["severity"] == "warn"]
    return CheckOutcome(
        name=names.EXPECTATIONS,
        passed=not blocking,
        severity="ERROR",
        description=(
            f"{len(outcomes) - len(blocking) - len(warned)} of {len(outcomes)} expectations met"
            + (f"; {len(warned)} warn-level not met" if warned else "")
            + (f"; FAILED: {', '.join(o['expectation'] for o in blocking)}" if blocking else "")
        ),
        metadata={
            "suite": suite.name,
            "evaluated": len(outcomes),
            "failed_blocking": [o["expectation"] for o in blocking],
            "failed_warn": [o["expectation"] for o in warned],
            "results": outcomes,
        },
    )


def _query(spec: ProductSpec, entity: str, batches: tuple[str, ...] | None) -> str:
    """The silver rows to validate: the whole table, or the rows of some bronze batches."""
    table = spec.table("silver", entity)
    if batches is None:
        return f"SELECT * FROM {table}"
    return f"SELECT * FROM {table} WHERE _batch_id IN ({', '.join(literal(b) for b in batches)})"


def _release(source: Any, opened: list) -> None:
    """Close GX's DuckDB connections: the process may reopen the file read-write next, and
    DuckDB refuses two configurations of one file in one process. Every DuckDB connection GX
    opened is closed here explicitly, so no garbage collection pass is needed to free them
    (one can cost more than the validation itself on small tables)."""
    engine = source.get_execution_engine()
    if getattr(engine, "_connection", None) is not None:
        engine._connection.close()
    engine.engine.dispose()
    source.get_engine().dispose()
    for connection in opened:
        connection.close()


def _outcomes(plan: list[PlannedExpectation], results: list) -> list[dict[str, Any]]:
    by_label: dict[str, dict[str, Any]] = {}
    labels = {_gx_label(p.kind, p.kwargs): p for p in plan}
    for item in results:
        config = item.expectation_config
        label = _gx_label(config.type, config.kwargs)
        planned = labels.get(label)
        error = (
            (item.exception_info or {}).get("exception_message") if item.exception_info else None
        )
        by_label[label] = {
            "expectation": planned.label if planned else label,
            "severity": planned.severity if planned else "fail",
            "success": bool(item.success),
            "unexpected_count": item.result.get("unexpected_count"),
            "unexpected_percent": _round(item.result.get("unexpected_percent")),
            "observed_value": item.result.get("observed_value"),
            **({"error": error} if error else {}),
        }
    return list(by_label.values())


def _gx_label(kind: str, kwargs: dict[str, Any]) -> str:
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in kind).lstrip("_")
    target = kwargs.get("column") or ",".join(kwargs.get("column_list") or []) or "table"
    return f"{snake}:{target}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)
