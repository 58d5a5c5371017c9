"""Great Expectations suites built from the spec, validated in DuckDB as SQL (no copy of the
table into pandas), on the rows a run added: silver's new batches, gold's recomputed window.

Silver's suite mirrors the row rules: the ones backing quarantine/fail rules must hold on
silver (a failure means a rule was not enforced) and block; those backing warn rules
report how many rows still break them. Regex patterns are enforced by the silver row rule
only: GX does not support regex on the DuckDB dialect. Key uniqueness is not in the suite:
GX's unique expectation dominated validation time (8.8 of 10.9 s at 10M rows), and silver
checks it for free as rows = distinct keys (check `key_unique`; gold's `grain_unique`).
Gold's suite holds what consumers rely on: the declared columns, grain columns never NULL,
and for the model's tables its key, time and sensitive columns present and a 0/1 target.

Every validation is kept as a GX validation result and rendered into GX Data Docs beside
the warehouse (`<warehouse folder>/gx/<product>/docs/index.html`); the check links its page.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from medallion.checks import names
from medallion.checks.outcome import CheckOutcome, Link
from medallion.lake.catalog import is_lake_target
from medallion.resources.warehouse import SESSION_TIME_ZONE, connect
from medallion.spec import ProductSpec, gold_changed_keys_table
from medallion.zones.sql import literal, quote


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


def plan_gold_suite(spec: ProductSpec, name: str) -> list[PlannedExpectation]:
    """The expectations a gold product's rows must meet, derived from its spec."""
    gold = spec.gold[name]
    columns = [*gold.grain, *(c for c in gold.columns if c not in gold.grain)]
    plan = [
        PlannedExpectation("ExpectTableRowCountToBeBetween", {"min_value": 1}, "fail"),
        PlannedExpectation(
            "ExpectTableColumnsToMatchSet", {"column_set": columns, "exact_match": False}, "fail"
        ),
    ]
    required = list(gold.grain)
    model = spec.model
    if model is not None and name in _model_tables(spec):
        plan[1].kwargs["column_set"] += [
            c
            for c in (model.entity_key, model.time_column, model.target, *model.features)
            if c not in plan[1].kwargs["column_set"]
        ]
        required += [c for c in (model.entity_key, model.time_column, *model.sensitive)]
        if not model.is_regression:
            plan.append(
                PlannedExpectation(
                    "ExpectColumnValuesToBeInSet",
                    {"column": model.target, "value_set": [0, 1]},
                    "fail",
                )
            )
    plan += [
        PlannedExpectation("ExpectColumnValuesToNotBeNull", {"column": column}, "fail")
        for column in dict.fromkeys(required)
    ]
    return plan


def _model_tables(spec: ProductSpec) -> set[str]:
    """The model's gold table and its other versions (a model may be trained on any)."""
    assert spec.model is not None
    if spec.model.table not in spec.gold:
        return set()
    base = spec.gold[spec.model.table].version_of or spec.model.table
    return {n for n, g in spec.gold.items() if (g.version_of or n) == base}


def docs_root(warehouse: Path, product: str) -> Path:
    """A product's GX validation results and Data Docs: beside the warehouse file."""
    return Path(warehouse).parent / "gx" / product


def validate(
    warehouse: str | Path,
    spec: ProductSpec,
    entity: str,
    config: dict | None = None,
    batches: tuple[str, ...] | None = None,
    run_id: str | None = None,
    anchor: str | Path | None = None,
) -> CheckOutcome:
    """Run the entity's suite against its silver table in the DuckDB file (read-only,
    waiting like every other connection while another process writes). Results and Data
    Docs go beside `anchor` (default the warehouse file; the lake profile's files folder).

    `batches`, when given, restricts the validation to the rows of those bronze batches:
    what a merge added, the rest having been validated when it arrived.
    """
    opened: list = []

    def creator() -> duckdb.DuckDBPyConnection:
        # GX builds two engines per validation, each asking for a connection: one read-only
        # session serves both (opening one on the lake loads extensions and attaches the
        # catalog, about 0.3 s), each engine a cursor of it
        if not opened:
            opened.append(connect(warehouse, read_only=True, config=config))
        opened.append(_cursor(opened[0]))
        return opened[-1]

    return _run_suite(
        SuiteRun(
            suite=f"{spec.name}.silver.{entity}",
            plan=plan_suite(spec, entity),
            query=_query(spec, entity, batches),
            warehouse=str(warehouse),
            docs=docs_root(Path(anchor or warehouse), spec.name),
            run_id=run_id,
        ),
        creator,
        opened,
    )


def validate_gold(
    con: duckdb.DuckDBPyConnection,
    spec: ProductSpec,
    name: str,
    warehouse: Path,
    where: str = "",
    run_id: str | None = None,
) -> CheckOutcome:
    """Run a gold product's suite on its rows `where` selects (the recomputed window; all
    rows when empty), through cursors of the run's own connection to the warehouse;
    results and Data Docs go beside `warehouse` (the file, or the lake's files anchor)."""
    table = spec.table("gold", name)
    opened: list = []

    # a cursor is a new session on the same database: give it the connection's default
    # catalog (the lake profile's `USE lake`) so gold's qualified names resolve alike, and
    # the changed entities the build staged in a temporary table (session-local) that
    # `where` reads
    catalog = con.execute("SELECT current_database()").fetchone()[0]
    staged = gold_changed_keys_table(name)
    keys = (
        [key for (key,) in con.execute(f"SELECT key FROM temp.main.{staged}").fetchall()]
        if staged in where
        else None
    )

    def creator() -> duckdb.DuckDBPyConnection:
        cursor = _cursor(con, catalog)
        if keys is not None:
            cursor.execute(
                f"CREATE OR REPLACE TEMP TABLE {staged} AS SELECT unnest(?::VARCHAR[]) AS key",
                [keys],
            )
        opened.append(cursor)
        return opened[-1]

    return _run_suite(
        SuiteRun(
            suite=f"{spec.name}.gold.{name}",
            plan=plan_gold_suite(spec, name),
            query=f"SELECT * FROM {table}" + (f" WHERE {where}" if where else ""),
            warehouse=str(warehouse),
            docs=docs_root(warehouse, spec.name),
            run_id=run_id,
        ),
        creator,
        opened,
    )


def _cursor(
    con: duckdb.DuckDBPyConnection, catalog: str | None = None
) -> duckdb.DuckDBPyConnection:
    """A new session on `con`'s database with its default catalog (`catalog`, else the one
    `con` uses: the lake profile's `USE lake`) and the warehouse's time zone (a cursor starts
    with DuckDB's defaults)."""
    catalog = catalog or con.execute("SELECT current_database()").fetchone()[0]
    cursor = con.cursor()
    cursor.execute(f"USE {quote(catalog)}")
    cursor.execute(f"SET TimeZone = '{SESSION_TIME_ZONE}'")
    return cursor


@dataclass(frozen=True)
class SuiteRun:
    """One validation: the suite, the rows it reads, and where its results and docs go."""

    suite: str
    plan: list[PlannedExpectation]
    query: str
    warehouse: str
    """The DuckDB file or DuckLake target the rows are read from."""
    docs: Path
    run_id: str | None


def _context(docs: Path):  # type: ignore[no-untyped-def]
    """An in-memory GX context whose validation results and Data Docs site are files under
    `docs`, so the site's index lists every validation kept there."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False),
    )
    config.stores[config.validation_results_store_name] = {
        "class_name": "ValidationResultsStore",
        "store_backend": _files(docs / "validations"),
    }
    config.data_docs_sites = {
        DOCS_SITE: {
            "class_name": "SiteBuilder",
            "store_backend": _files(docs / "docs"),
            "site_index_builder": {
                "class_name": "DefaultSiteIndexBuilder",
                "validation_results_limit": INDEX_LIMIT,
            },
        }
    }
    return gx.get_context(project_config=config, mode="ephemeral")


DOCS_SITE = "medallion"
INDEX_LIMIT = 200
"""Validations the Data Docs index lists, newest first: GX reads each listed result to build
the index, so an unbounded one grows slower every run; older pages stay on disk."""


def _files(folder: Path) -> dict[str, str]:
    return {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(folder)}


def _run_suite(
    run: SuiteRun, creator: Callable[[], duckdb.DuckDBPyConnection], opened: list
) -> CheckOutcome:
    """Validate through a GX checkpoint that keeps the result and updates the Data Docs."""
    import great_expectations as gx
    from duckdb_engine import ConnectionWrapper
    from great_expectations.core.run_identifier import RunIdentifier

    from medallion.checks import gx_duckdb, gx_templates

    gx_duckdb.install()
    gx_templates.install()
    context = _context(run.docs)
    source = context.data_sources.add_sql(
        name="warehouse",
        # The creator opens the connection; the URL only names the dialect (a lake target
        # is no file path).
        connection_string="duckdb:///:memory:"
        if is_lake_target(str(run.warehouse))
        else f"duckdb:///{run.warehouse}",
        kwargs={"creator": lambda: ConnectionWrapper(creator())},
    )
    # Whole, then added: each add_expectation on a stored suite writes the suite again.
    expectations = [getattr(gx.expectations, p.kind)(**p.kwargs) for p in run.plan]
    suite = context.suites.add(gx.ExpectationSuite(name=run.suite, expectations=expectations))
    try:
        asset = source.add_query_asset(name=run.suite.split(".")[-1], query=run.query)
        batch = asset.add_batch_definition_whole_table("rows of this run")
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=run.suite, data=batch, suite=suite)
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=run.suite,
                validation_definitions=[definition],
                actions=[gx.checkpoint.UpdateDataDocsAction(name="docs", site_names=[DOCS_SITE])],
                result_format="BASIC",
            )
        )
        name = run.run_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        checkpoint_result = checkpoint.run(run_id=RunIdentifier(run_name=name))
    finally:
        _release(source, opened)
    [(identifier, result)] = checkpoint_result.run_results.items()
    [site] = context.get_docs_sites_urls(resource_identifier=identifier, site_names=[DOCS_SITE])
    page = Path(urllib.parse.unquote(urllib.parse.urlparse(site["site_url"]).path))
    return _outcome(run, _outcomes(run.plan, result.results), page)


def _outcome(run: SuiteRun, outcomes: list[dict[str, Any]], page: Path) -> CheckOutcome:
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
            "suite": run.suite,
            "evaluated": len(outcomes),
            "failed_blocking": [o["expectation"] for o in blocking],
            "failed_warn": [o["expectation"] for o in warned],
            "results": outcomes,
            "data_docs": Link(page),
            "data_docs_index": Link(run.docs / "docs" / "index.html"),
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
    for connection in reversed(opened):  # cursors before the session they belong to
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
