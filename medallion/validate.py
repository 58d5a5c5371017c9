"""`medallion validate`: check product specs without running anything.

A spec that loads can still fail on its first run: a `clean`, `derive` or rule expression
naming a column that does not exist, gold SQL reading a column silver does not have, a model
feature the gold table does not produce. Each of these is found here by building every zone
of the product, empty, in an in-memory DuckDB from the declared schemas: DuckDB binds the
real SQL, so what passes here binds in the pipeline. All problems are listed at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from medallion.spec import ProductSpec, SpecError, load_spec
from medallion.zones.bronze import ensure_bronze
from medallion.zones.gold import build_gold
from medallion.zones.rules import typed_expression
from medallion.zones.silver import build_silver
from medallion.zones.sql import quote

_PADS = (bytes(64), bytes(64))
"""HMAC pads for building empty silver tables: no value is ever pseudonymized here."""
_LINE = re.compile(r"\bLINE (\d+):")


@dataclass(frozen=True)
class BuildPlan:
    """What the Definitions would hold for one product."""

    assets: list[str]
    checks: dict[str, list[str]]
    jobs: list[str]
    schedules: list[str]
    sensors: list[str]


@dataclass
class ProductValidation:
    """The verdict on one product spec: its problems (empty when valid) and, when it loads,
    what would be built."""

    path: Path
    name: str | None = None
    problems: list[str] = field(default_factory=list)
    plan: BuildPlan | None = None

    @property
    def valid(self) -> bool:
        return not self.problems


def product_paths(targets: list[Path]) -> list[Path]:
    """The product.yaml files named by paths: a file itself, a product folder, or a folder
    of product folders.

    Raises:
        SpecError: a path that is none of these.
    """
    found: list[Path] = []
    for target in targets:
        if target.is_file():
            found.append(target)
        elif (target / "product.yaml").is_file():
            found.append(target / "product.yaml")
        elif target.is_dir() and sorted(target.glob("*/product.yaml")):
            found.extend(sorted(target.glob("*/product.yaml")))
        else:
            raise SpecError(f"{target}: no product.yaml there, nor in its sub-folders")
    return found


def validate_products(paths: list[Path], *, plan: bool = True) -> list[ProductValidation]:
    """Validate each product file, and that product names are unique across them."""
    results = [validate_product(path, plan=plan) for path in paths]
    seen: dict[str, Path] = {}
    for result in results:
        if result.name is None:
            continue
        if result.name in seen:
            result.problems.append(
                f"name: product {result.name!r} also declared in {seen[result.name]}"
            )
        else:
            seen[result.name] = result.path
    return results


def validate_product(path: Path, *, plan: bool = True) -> ProductValidation:
    """Load a spec, bind its SQL against the declared schemas, and describe its build."""
    result = ProductValidation(path=Path(path))
    try:
        spec = load_spec(path)
    except SpecError as error:
        result.problems += _spec_error_lines(error, Path(path))
        return result
    result.name = spec.name
    result.problems += sql_problems(spec)
    if plan and not result.problems:
        result.plan = build_plan(spec)
    return result


def _spec_error_lines(error: SpecError, path: Path) -> list[str]:
    text = str(error).removeprefix(f"{path}: ")
    lines = text.splitlines()
    if len(lines) > 1 and lines[0].startswith("invalid data product spec"):
        return [line.strip().removeprefix("- ") for line in lines[1:]]
    return [text]


def sql_problems(spec: ProductSpec) -> list[str]:
    """Every SQL expression of the spec that does not bind, and model columns gold lacks."""
    con = duckdb.connect(":memory:")
    try:
        problems: list[str] = []
        for name in spec.sources:
            problems += _source_problems(con, spec, name)
        if problems:
            return problems
        built: set[str] = set()
        for name in _gold_order(spec):
            if spec.gold[name].retired:
                continue
            try:
                build_gold(con, spec, name)
                built.add(name)
            except Exception as error:
                problems.append(_gold_error(spec, name, error))
        return problems + _model_problems(con, spec, built)
    finally:
        con.close()


def _source_problems(con: duckdb.DuckDBPyConnection, spec: ProductSpec, name: str) -> list[str]:
    """Bind each clean, derive and rule expression alone (to name the one at fault), then
    build the source's empty silver table."""
    source = spec.sources[name]
    ensure_bronze(con, spec, name)
    typed = ", ".join(f"{typed_expression(source, c)} AS {quote(c)}" for c in source.columns)
    base = f"(SELECT {typed} FROM {spec.table('bronze', name)})"
    expressions = {
        f"sources.{name}.columns.{c}.clean": col.clean for c, col in source.columns.items()
    }
    expressions |= {f"sources.{name}.derive.{c}": sql for c, sql in source.derive.items()}
    expressions |= {f"sources.{name}.rules.{r.name}": r.check for r in source.rules}
    problems = []
    for where, expression in expressions.items():
        if expression is None:
            continue
        try:
            con.execute(f"SELECT ({expression}) FROM {base} LIMIT 0")
        except duckdb.Error as error:
            problems.append(f"{where}: {_duckdb_message(error)}")
    if problems:
        return problems
    try:
        build_silver(con, spec, name, _PADS)
    except duckdb.Error as error:
        return [f"sources.{name}: silver does not build: {_duckdb_message(error)}"]
    return []


def _gold_order(spec: ProductSpec) -> list[str]:
    """Gold products with each after the gold products it reads (the spec is acyclic)."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        for zone, table in spec.gold_inputs(name):
            if zone == "gold":
                visit(table)
        order.append(name)

    for name in spec.gold:
        visit(name)
    return order


def _gold_error(spec: ProductSpec, name: str, error: Exception) -> str:
    if isinstance(error, SpecError):
        return str(error).removeprefix(f"{spec.path}: ")
    gold = spec.gold[name]
    if gold.polars:
        where = f"gold.{name}.polars ({gold.polars})"
    elif gold.sql_file:
        where = f"gold.{name}.sql_file ({gold.sql_file}"
        line = _LINE.search(str(error))
        where += f", line {line.group(1)})" if line else ")"
    else:
        where = f"gold.{name}.sql"
    message = _duckdb_message(error) if isinstance(error, duckdb.Error) else str(error)
    return f"{where}: {message or type(error).__name__}"


def _model_problems(
    con: duckdb.DuckDBPyConnection, spec: ProductSpec, built: set[str]
) -> list[str]:
    model = spec.model
    if model is None:
        return []
    if model.table not in spec.gold or spec.gold[model.table].retired:
        live = sorted(n for n, g in spec.gold.items() if not g.retired)
        return [f"model.table: {model.table!r} is not a gold product that is built (known: {live})"]
    if model.table not in built:
        return []
    columns = {
        row[0] for row in con.execute(f"DESCRIBE {spec.table('gold', model.table)}").fetchall()
    }
    wanted = {
        "model.target": [model.target],
        "model.entity_key": [model.entity_key],
        "model.time_column": [model.time_column],
        "model.features": model.features,
        "model.sensitive": model.sensitive,
    }
    problems = []
    for where, names in wanted.items():
        missing = [n for n in names if n not in columns]
        if missing:
            problems.append(
                f"{where}: {missing} not among the columns of gold.{model.table} "
                f"({', '.join(sorted(columns))})"
            )
    return problems


def _duckdb_message(error: BaseException) -> str:
    """DuckDB's message without the echoed SQL and caret lines."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    kept = [line for line in lines if not _LINE.match(line) and set(line) != {"^"}]
    return " ".join(kept[:2])


def build_plan(spec: ProductSpec) -> BuildPlan:
    """Assets, checks, jobs, schedules and sensors the product's Definitions would hold."""
    import tempfile

    from medallion.build import build_definitions
    from medallion.settings import Settings

    with tempfile.TemporaryDirectory() as home:
        defs = build_definitions([spec], Settings.from_env({"MEDALLION_HOME": home}))
        graph = defs.resolve_asset_graph()
        assets = sorted(key.to_user_string() for key in graph.get_all_asset_keys())
        checks: dict[str, list[str]] = {}
        for check_key in graph.asset_check_keys:
            checks.setdefault(check_key.asset_key.to_user_string(), []).append(check_key.name)
        return BuildPlan(
            assets=assets,
            checks={asset: sorted(names) for asset, names in sorted(checks.items())},
            jobs=sorted(job.name for job in defs.jobs or []),
            schedules=sorted(schedule.name for schedule in defs.schedules or []),
            sensors=sorted(sensor.name for sensor in defs.sensors or []),
        )


def report_lines(result: ProductValidation, *, verbose: bool = True) -> list[str]:
    """A product's verdict as the CLI prints it."""
    name = result.name or "?"
    if not result.valid:
        head = f"{result.path}: {name}: {len(result.problems)} problem(s)"
        return [head, *(f"  - {problem}" for problem in result.problems)]
    lines = [f"{result.path}: {name}: valid"]
    if verbose and result.plan is not None:
        plan = result.plan
        lines.append(f"  assets ({len(plan.assets)}):")
        for asset in plan.assets:
            names = plan.checks.get(asset, [])
            lines.append(f"    {asset}" + (f"  checks: {', '.join(names)}" if names else ""))
        for label, items in (
            ("jobs", plan.jobs),
            ("schedules", plan.schedules),
            ("sensors", plan.sensors),
        ):
            lines.append(f"  {label}: {', '.join(items) or '-'}")
    return lines
