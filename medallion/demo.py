"""`medallion demo`: time passing for every product (a history, models, then days delivered
one by one through the daily operation), and a summary per zone and per product."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb

from medallion.assets.constants import FULL_REFRESH_TAG
from medallion.assets.jobs import has_model
from medallion.assets.ml import ml_assets
from medallion.assets.monitoring import monitoring_assets
from medallion.build import build_definitions, build_resources, product_assets
from medallion.generate.defects import KINDS, DefectOptions
from medallion.generate.product import generator_default, run_generator
from medallion.operation import Operator, ingest, operate_day
from medallion.resources.warehouse import connect
from medallion.settings import Settings
from medallion.side_by_side import ProductTimeline, RunsDigest, run_side_by_side, workers_for
from medallion.spec import ZONES, ProductSpec
from medallion.story import format_story, product_story
from medallion.timeline import DEMO_ROWS, TimelineOptions

SUMMARY_ZONES = (*ZONES, "quarantine")


@dataclass(frozen=True)
class TableCount:
    product: str
    zone: str
    table: str
    rows: int


_DAY_IN_NAME = re.compile(r"_(\d{4}-\d{2}-\d{2})\.[a-z]+$")


def has_landing_data(landing: Path, spec: ProductSpec) -> bool:
    folder = spec.landing(landing)
    return any(
        (folder / source).is_dir() and any((folder / source).iterdir()) for source in spec.sources
    )


def next_delivery_day(landing: Path, spec: ProductSpec) -> int:
    """The day index after the last one delivered (from the `<source>_<YYYY-MM-DD>` file
    names and the generator's `start`), so a new delivery never overwrites a delivered file;
    the generator's default window length when nothing was delivered."""
    start = generator_default(spec, "start")
    folder = spec.landing(landing)
    delivered = [
        (date.fromisoformat(match.group(1)) - start).days
        for source in spec.sources
        if (folder / source).is_dir()
        for path in (folder / source).iterdir()
        if (match := _DAY_IN_NAME.search(path.name))
    ]
    return max(delivered) + 1 if delivered else int(generator_default(spec, "days"))


def materialize_all(
    specs: list[ProductSpec],
    settings: Settings,
    instance: dg.DagsterInstance,
    log_level: str = "CRITICAL",
    *,
    models: bool = False,
    full_refresh: bool = False,
) -> dg.ExecuteInProcessResult:
    """Materialize every zone asset of the products in process, recorded in `instance`;
    with `models`, also train and promote the model variants and evaluate drift; with
    `full_refresh`, rebuild silver and gold from all of bronze instead of merging."""
    assets = [asset for spec in specs for asset in product_assets(spec)]
    if models:
        assets += [a for spec in specs for a in (*ml_assets(spec), *monitoring_assets(spec))]
    return dg.materialize(
        assets,
        resources=build_resources(settings),
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        tags={FULL_REFRESH_TAG: "true"} if full_refresh else None,
    )


def zone_counts(con: duckdb.DuckDBPyConnection, specs: list[ProductSpec]) -> list[TableCount]:
    """Row counts of every table of every zone, for the summary."""
    counts = []
    for spec in specs:
        for zone in SUMMARY_ZONES:
            tables = con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
                "AND NOT starts_with(table_name, '_') ORDER BY table_name",
                [spec.schema(zone)],
            ).fetchall()
            for (table,) in tables:
                rows = con.execute(f"SELECT count(*) FROM {spec.table(zone, table)}").fetchone()[0]
                counts.append(TableCount(spec.name, zone, table, int(rows)))
    return counts


def format_summary(counts: list[TableCount]) -> str:
    """A table of row counts, one line per zone table."""
    names = [f"{c.product}_{c.zone}.{c.table}" for c in counts]
    width = max(map(len, names), default=10)
    lines = [f"{'table':<{width}}  {'rows':>12}", "-" * (width + 14)]
    lines += [f"{name:<{width}}  {c.rows:>12,}" for name, c in zip(names, counts, strict=True)]
    return "\n".join(lines)


def format_checks(evaluations: list) -> str:
    """One line per failed check, then the totals."""
    lines = []
    failed = [e for e in evaluations if not e.passed]
    for evaluation in failed:
        level = evaluation.severity.value
        summary = evaluation.metadata.get("summary")
        text = summary.value if summary is not None else (evaluation.description or "")
        lines.append(
            f"  {level:<5} {evaluation.asset_key.to_user_string()} {evaluation.check_name}: {text}"
        )
    errors = sum(1 for e in failed if e.severity == dg.AssetCheckSeverity.ERROR)
    lines.append(
        f"checks: {len(evaluations) - len(failed)} passed, {len(failed) - errors} warned, {errors} failed"
    )
    return "\n".join(lines)


def _operate_once(
    specs: list[ProductSpec], settings: Settings, operator: Operator, tags: dict[str, str]
) -> bool:
    """One pass of the daily operation over products whose landing data was already there:
    ingest what is new, a first training if there is no champion, monitoring, retraining when
    the sensor decides. False when an ingestion failed."""
    operator.defs = build_definitions(specs, settings)
    success = True
    for spec in specs:
        day = next_delivery_day(settings.landing, spec) - 1 if spec.generator else 0
        entry, _ = operate_day(operator, spec, day, datetime.now(UTC).date(), print, tags=tags)
        success &= not entry.action.startswith("ingest failed")
    return success


def _print_checks(evaluations: list[dg.AssetCheckEvaluation]) -> None:
    """Failed checks (the latest evaluation of each) and the totals over every run."""
    latest = {(e.asset_key, e.check_name): e for e in evaluations}
    text = format_checks(list(latest.values())).splitlines()
    print("\n".join([*text[:-1], format_checks(evaluations).splitlines()[-1] + " (all runs)"]))


def run_demo(
    specs: list[ProductSpec],
    settings: Settings,
    instance: dg.DagsterInstance,
    *,
    seed: int = 42,
    full_refresh: bool = False,
    timeline: TimelineOptions | None = None,
) -> int:
    """The whole demo; returns a process exit code.

    Products without landing data get the timeline (medallion.timeline), side by side
    (medallion.side_by_side): a history, models, then days delivered one by one through the
    daily operation. Products whose landing data is already there get one pass of the daily
    operation over it."""
    started = time.perf_counter()
    options = replace(
        timeline or TimelineOptions(),
        seed=seed,
        tags={FULL_REFRESH_TAG: "true"} if full_refresh else {},
    )
    fresh = [s for s in specs if s.generator and not has_landing_data(settings.landing, s)]
    present = [s for s in specs if s not in fresh]
    runs, success = RunsDigest(), True
    if fresh:
        timelines = _timelines(fresh, settings, instance, options)
        runs = sum((t.runs for t in timelines), runs)
        success &= all(t.report.success for t in timelines)
    if present:
        print(f"daily operation over the landing data of {', '.join(s.name for s in present)}")
        operator = Operator(build_definitions(present, settings), instance)
        success &= _operate_once(present, settings, operator, options.tags)
        runs += RunsDigest.of(operator.results)
    for failure in runs.failures:
        print(f"FAILED {failure}")
    _print_checks(runs.evaluations)
    with connect(settings.warehouse_target, read_only=True) as con:
        print(format_summary(zone_counts(con, specs)))
        stories = [product_story(con, instance, spec) for spec in specs if has_model(spec)]
    elapsed = time.perf_counter() - started
    status = "succeeded" if success else "FAILED"
    where = settings.warehouse if settings.profile == "local" else "the DuckLake catalog"
    print(f"\n{runs.runs} runs {status} in {elapsed:.1f} s; warehouse: {where}")
    for line in champion_lines(specs, settings):
        print(line)
    for story in stories:
        print("\n".join(format_story(story)))
    print("open the UIs: `make ui` (or `medallion ui`): Dagster on http://127.0.0.1:3000,")
    print("MLflow (compare the model versions) on http://127.0.0.1:5000; each product's runs:")
    print("\n".join(_runs_links(specs, settings)))
    return 0 if success else 1


def _timelines(
    specs: list[ProductSpec],
    settings: Settings,
    instance: dg.DagsterInstance,
    options: TimelineOptions,
) -> list[ProductTimeline]:
    """The products' timelines, side by side when there are cores for it, and where their
    time went."""
    workers = workers_for(specs, instance)
    print(
        f"timeline: {options.history} days of history, then {options.days} days delivered "
        f"one by one (drift from day {options.drift_from}, strength {options.drift_strength:g})"
        + (f"; {len(specs)} products side by side in {workers} processes" if workers > 1 else ""),
        flush=True,
    )
    started = time.perf_counter()
    timelines = run_side_by_side(specs, settings, instance, options)
    for product in timelines:
        report = product.report
        print(
            f"{product.product} timeline: {report.seconds['total']:.1f} s "
            f"({_where_time_went(report)})"
        )
    print(f"timeline: {time.perf_counter() - started:.1f} s")
    return timelines


def _runs_links(specs: list[ProductSpec], settings: Settings) -> list[str]:
    from medallion.ml.registry import runs_links
    from medallion.resources.tracking import TrackingResource

    client = TrackingResource.for_settings(settings).activate()
    return runs_links(client, specs, "http://127.0.0.1:5000")


def _where_time_went(report) -> str:
    days = [v for k, v in report.seconds.items() if k.startswith("day ")]
    return (
        f"generation {report.seconds['generate']:.1f} s, history and training "
        f"{report.seconds['history']:.1f} s, "
        + ", ".join(f"day {i} {v:.1f} s" for i, v in enumerate(days))
    )


def champion_lines(specs: list[ProductSpec], settings: Settings) -> list[str]:
    """Which registered model version is champion, with its primary metric."""
    from medallion.ml.registry import registered_model_name, version_by_alias
    from medallion.resources.tracking import TrackingResource

    lines = []
    client = TrackingResource.for_settings(settings).activate()
    for spec in specs:
        if spec.model is None or not spec.model.variants:
            continue
        name = registered_model_name(spec)
        champion = version_by_alias(client, name, "champion")
        if champion is None:
            lines.append(f"{name}: no champion yet (see the gate checks in the UI)")
            continue
        metric = spec.model.primary_metric
        run = client.get_run(champion.run_id).data
        value = run.metrics.get(metric)
        shown = f"{value:.3f}" if value is not None else "n/a"
        variant = champion.tags.get("variant", "?")
        line = f"{name}: champion is version {champion.version} ({variant}), {metric} {shown}"
        if "decision_threshold" in run.params and "recall" in run.metrics:
            line += (
                f"; at its threshold {float(run.params['decision_threshold']):.3f} "
                f"({run.params.get('threshold_rule')}): recall {run.metrics['recall']:.3f}, "
                f"precision {run.metrics.get('precision', float('nan')):.3f}"
            )
        lines.append(line)
    return lines


def quarantine_reasons(
    con: duckdb.DuckDBPyConnection, spec: ProductSpec, limit: int = 3
) -> list[str]:
    """The most frequent quarantine reasons per entity, for the defects demo."""
    lines = []
    for entity in spec.sources:
        rows = con.execute(
            f"""SELECT _reason, count(*) FROM {spec.table("quarantine", entity)}
                GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {int(limit)}"""
        ).fetchall()
        lines += [f"  {spec.table('quarantine', entity)}: {n:,} × {reason}" for reason, n in rows]
    return lines


def gold_fingerprints(
    con: duckdb.DuckDBPyConnection, specs: list[ProductSpec]
) -> dict[str, tuple[int, int]]:
    from medallion.zones.tables import table_fingerprint

    return {
        spec.table("gold", name): table_fingerprint(con, spec.table("gold", name))
        for spec in specs
        for name in spec.gold
    }


def run_defects_demo(
    specs: list[ProductSpec], settings: Settings, instance: dg.DagsterInstance, *, seed: int = 42
) -> int:
    """Deliver one more daily batch full of defects and show what the contracts do with it."""
    if settings.profile == "local" and not settings.warehouse.exists():
        run_demo(specs, settings, instance, seed=seed)
    with connect(settings.warehouse_target, read_only=True) as con:
        before = gold_fingerprints(con, specs)
    for spec in specs:
        if not spec.generator:
            continue
        day = next_delivery_day(settings.landing, spec)
        defects = DefectOptions(day=day, kinds=KINDS, rate=0.05)
        rows = run_generator(
            spec,
            settings.landing,
            seed=seed,
            days=day + 1,
            rows=DEMO_ROWS.get(spec.name),  # the timeline's world size (None: the generator's)
            deliver_days=[day],
            defects=defects,
        )
        print(
            f"delivered a defective batch for {spec.name} (day {day}; {', '.join(KINDS)}): "
            + ", ".join(f"{source} {n:,}" for source, n in rows.items())
        )
    operator = Operator(build_definitions(specs, settings), instance)
    for spec in specs:
        ingest(operator, spec, {"medallion/demo": "defects"})
    _print_checks(RunsDigest.of(operator.results).evaluations)
    with connect(settings.warehouse_target, read_only=True) as con:
        print("quarantine, most frequent reasons:")
        for spec in specs:
            print("\n".join(quarantine_reasons(con, spec)))
        after = gold_fingerprints(con, specs)
    for table, fingerprint in after.items():
        state = "unchanged (protected)" if before.get(table) == fingerprint else "updated"
        print(f"{table}: {state}")
    print("see the failed checks and the quarantine in the UI: `make ui`")
    return 0
