"""What happened to each product over time, told from what the UIs show: the monitoring
history in the warehouse, the champion's materializations in the Dagster instance.

Printed at the end of `medallion demo`: days monitored, alerts, retrainings with their
outcome and why, the champion history, and monitoring that could not evaluate with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg
import duckdb

from medallion.assets.jobs import has_model
from medallion.assets.keys import ml_key, monitoring_key
from medallion.monitoring import names
from medallion.monitoring.drift import DATASET, PREDICTION
from medallion.monitoring.records import MonitoringRecord
from medallion.spec import ProductSpec


@dataclass(frozen=True)
class Promotion:
    """One materialization of the champion asset: which run, why, what it decided."""

    trigger: str
    champion: str
    promoted: bool
    decision: str


@dataclass
class ProductStory:
    product: str
    drift_days: list[str] = field(default_factory=list)
    performance_days: list[str] = field(default_factory=list)
    alerts: dict[str, list[str]] = field(default_factory=dict)
    """Alert day -> what alerted (drifted features, champion scores, performance)."""
    promotions: list[Promotion] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _history_days(con: duckdb.DuckDBPyConnection, spec: ProductSpec, table: str) -> list[str]:
    name = f"{spec.schema('monitoring')}.{table}"
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [spec.schema("monitoring"), table],
    ).fetchone()[0]
    if not exists:
        return []
    rows = con.execute(f"SELECT DISTINCT window_end FROM {name} ORDER BY 1").fetchall()
    return [str(day) for (day,) in rows]


def _alerts(con: duckdb.DuckDBPyConnection, spec: ProductSpec) -> dict[str, list[str]]:
    """Alert days from the history: dataset drift (naming the drifted features), drifted
    scores, or performance below its alert threshold."""
    found: dict[str, list[str]] = {}
    if _history_days(con, spec, "drift_history"):
        rows = con.execute(
            f"""SELECT window_end, list(DISTINCT feature ORDER BY feature)
                FILTER (WHERE status = 'alert' AND feature <> '{DATASET}')
                FROM {spec.schema("monitoring")}.drift_history
                GROUP BY window_end
                HAVING bool_or(status = 'alert' AND feature IN ('{DATASET}', '{PREDICTION}'))
                ORDER BY window_end"""
        ).fetchall()
        for day, features in rows:
            found.setdefault(str(day), []).append("drift: " + ", ".join(features or []))
    if _history_days(con, spec, "performance_history"):
        rows = con.execute(
            f"""SELECT DISTINCT window_end, metric FROM {spec.schema("monitoring")}.performance_history
                WHERE status = 'alert' ORDER BY 1"""
        ).fetchall()
        for day, metric in rows:
            found.setdefault(str(day), []).append(f"performance: {metric}")
    return found


def _promotions(instance: dg.DagsterInstance, spec: ProductSpec) -> list[Promotion]:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=ml_key(spec, "champion")), limit=1000, ascending=True
    ).records
    promotions = []
    for record in records:
        metadata = {k: v.value for k, v in (record.asset_materialization.metadata or {}).items()}
        run = instance.get_run_by_id(record.run_id)
        tags = run.tags if run else {}
        trigger = (
            f"retraining for the alert of {tags['medallion/alert_day']}"
            if "medallion/alert_day" in tags
            else tags.get("medallion/trigger", "a run")
        )
        promotions.append(
            Promotion(
                trigger=trigger,
                champion=str(metadata.get("champion_version", "none")),
                promoted=bool(metadata.get("promoted", False)),
                decision=str(metadata.get("decision", "")),
            )
        )
    return promotions


def _skipped(instance: dg.DagsterInstance, spec: ProductSpec) -> list[str]:
    """The latest monitoring materializations that evaluated nothing, with the reason."""
    lines = []
    for kind in (names.DRIFT, names.PERFORMANCE):
        event = instance.get_latest_materialization_event(monitoring_key(spec, kind))
        if event is None or event.asset_materialization is None:
            lines.append(f"{kind}: never evaluated (run `{spec.name}_monitoring`)")
            continue
        metadata = {k: v.value for k, v in event.asset_materialization.metadata.items()}
        record = MonitoringRecord.from_metadata(metadata)
        if record.skipped:
            lines.append(f"{kind}: skipped: {record.skipped}")
    return lines


def product_story(
    con: duckdb.DuckDBPyConnection, instance: dg.DagsterInstance, spec: ProductSpec
) -> ProductStory:
    """What the warehouse and the instance say happened to `spec` over time."""
    story = ProductStory(spec.name)
    if not has_model(spec):
        return story
    story.drift_days = _history_days(con, spec, "drift_history")
    story.performance_days = _history_days(con, spec, "performance_history")
    story.alerts = _alerts(con, spec)
    story.promotions = _promotions(instance, spec)
    story.skipped = _skipped(instance, spec)
    return story


def _span(days: list[str]) -> str:
    return f"{len(days)} day(s)" + (f" ({days[0]}..{days[-1]})" if days else "")


def format_story(story: ProductStory) -> list[str]:
    """The summary lines of one product."""
    lines = [
        f"{story.product}: monitored {_span(story.drift_days)} for drift, "
        f"{_span(story.performance_days)} for performance; alerts on "
        f"{len(story.alerts)} day(s)"
    ]
    lines += [f"  alert {day}: {'; '.join(what)}" for day, what in story.alerts.items()]
    retrainings = [p for p in story.promotions if p.trigger.startswith("retraining")]
    lines.append(f"  retrainings triggered by the retrain sensor: {len(retrainings)}")
    history, previous = [], None
    for promotion in story.promotions:
        outcome = (
            f"champion v{previous} -> v{promotion.champion}"
            if promotion.promoted and previous is not None
            else f"champion v{promotion.champion}"
            if promotion.promoted
            else f"champion stays v{previous or promotion.champion}"
        )
        history.append(f"  {promotion.trigger}: {outcome}. {promotion.decision}")
        if promotion.promoted:
            previous = promotion.champion
    lines += history or ["  champion history: no training yet"]
    lines += [f"  monitoring {line}" for line in story.skipped]
    return lines
