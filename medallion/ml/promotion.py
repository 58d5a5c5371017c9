"""The promotion step: every candidate timed one after another, then the champion chosen.

Responsiveness is not timed while sibling variants train (the machine is then at its
busiest): this one step loads each candidate from the registry, and the current champion
beside them, and times them in turn, with warm-up, on one thread. The latency gate judges
CPU time per call (medallion.ml.latency), so the verdict is the same on a quiet machine and
a loaded one; wall percentiles and the ratio to the champion measured in the same step are
reported beside it. Then the best candidate passing every gate becomes champion, and every
candidate gets its model card.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient
from threadpoolctl import threadpool_limits

from medallion.ml import links, registry
from medallion.ml.card import CardLinks, write_card
from medallion.ml.gates import (
    Candidate,
    GateOutcome,
    Promotion,
    choose_champion,
    latency_gate,
    verdict,
)
from medallion.ml.latency import LatencyReport, measure_latency
from medallion.ml.loading import load_pyfunc
from medallion.ml.records import CandidateRecord
from medallion.ml.workflow import prepare
from medallion.resources.tracking import TrackingResource
from medallion.spec import ProductSpec


@dataclass(frozen=True)
class Timing:
    """One version's responsiveness and the gate decided on it."""

    version: str
    report: LatencyReport
    gate: GateOutcome
    vs_champion: float | None
    """Its CPU p95 over the champion's, measured in the same step (None with no champion)."""


def measure_versions(
    spec: ProductSpec, rows: pd.DataFrame, versions: list[str], tracking: TrackingResource
) -> dict[str, LatencyReport]:
    """Load each registered version as pyfunc (as it is served) and time it, one after
    another, on model input rows (the holdout), with the spec's thread count."""
    assert spec.model is not None
    gates = spec.model.gates
    tracking.activate()
    name = registry.registered_model_name(spec)
    reports = {}
    with threadpool_limits(limits=spec.model.threads):
        for version in dict.fromkeys(versions):
            loaded = load_pyfunc(f"models:/{name}/{version}")
            reports[version] = measure_latency(
                loaded.predict,
                rows,
                samples=gates.latency_samples,
                batch_rows=gates.batch_rows,
                seed=spec.model.seed,
                rounds=gates.latency_rounds,
                p95_budget_ms=gates.latency_p95_ms,
                batch_budget_s=gates.batch_seconds,
            )
    return reports


def time_candidates(
    spec: ProductSpec,
    snapshot: Path,
    records: list[CandidateRecord],
    tracking: TrackingResource,
) -> dict[str, Timing]:
    """Every candidate's version (and the champion's) timed in this one step and gated;
    returns variant -> timing, and records each on its run and model version."""
    assert spec.model is not None
    client = tracking.activate()
    name = registry.registered_model_name(spec)
    champion = registry.version_by_alias(client, name, registry.CHAMPION)
    versions = [r.version for r in records] + ([str(champion.version)] if champion else [])
    reports = measure_versions(spec, prepare(spec, snapshot).x_holdout, versions, tracking)
    reference = reports.get(str(champion.version)) if champion else None
    timings = {}
    for record in records:
        report = reports[record.version]
        ratio = report.cpu_p95_ms / reference.cpu_p95_ms if reference else None
        timing = Timing(record.version, report, latency_gate(report, spec.model.gates), ratio)
        _record_latency(client, name, record, timing)
        timings[record.variant] = timing
    return timings


def _record_latency(
    client: MlflowClient, name: str, record: CandidateRecord, timing: Timing
) -> None:
    gate = timing.gate
    tags = {
        "gate.latency": "passed" if gate.passed else "failed",
        "gate.latency.reason": gate.summary,
        links.GATES_TAG: verdict([*record.gates, gate]),
    }
    metrics = timing.report.as_metrics() | {"gate/latency": float(gate.passed)}
    if timing.vs_champion is not None:
        metrics["latency/cpu_p95_vs_champion"] = timing.vs_champion
    registry.log_batch(client, record.run_id, metrics, {}, tags)
    for key, value in tags.items():
        client.set_model_version_tag(name, record.version, key, value[:5000])


@dataclass(frozen=True)
class PromotionResult:
    """The decision and the aliases it left."""

    decision: Promotion
    champion_version: str | None
    previous_version: str | None
    changed: bool
    aliases: dict[str, str]
    """Alias -> version, as set by this promotion."""


def promote(
    spec: ProductSpec, candidates: list[Candidate], tracking: TrackingResource
) -> PromotionResult:
    """Give `champion` to the best candidate passing every gate, `previous` to the champion it
    replaces and `challenger-<variant>` to the others; with none passing, or the best being
    the champion already (or scoring exactly as it does), keep the champion."""
    assert spec.model is not None
    client = tracking.activate()
    name = registry.registered_model_name(spec)
    before = registry.version_by_alias(client, name, registry.CHAMPION)
    before_version = str(before.version) if before else None
    decision = choose_champion(candidates, spec.model.primary_metric, before_version)
    aliases: dict[str, str] = {}
    champion_version, previous_version = before_version, None
    if decision.champion is not None:
        champion_version = decision.champion.version
        if before_version and before_version != champion_version:
            registry.set_alias(client, name, registry.PREVIOUS, before_version)
            previous_version = aliases[registry.PREVIOUS] = before_version
        registry.set_alias(client, name, registry.CHAMPION, champion_version)
        aliases[registry.CHAMPION] = champion_version
        registry.delete_alias(client, name, registry.challenger_alias(decision.champion.variant))
    for challenger in decision.challengers:
        alias = registry.challenger_alias(challenger.variant)
        if challenger.version == champion_version:
            registry.delete_alias(client, name, alias)
            continue
        registry.set_alias(client, name, alias, challenger.version)
        aliases[alias] = challenger.version
    client.set_registered_model_tag(name, "last_promotion", decision.reason[:4000])
    return PromotionResult(
        decision=decision,
        champion_version=champion_version,
        previous_version=previous_version,
        changed=decision.champion is not None and champion_version != before_version,
        aliases=aliases,
    )


@dataclass(frozen=True)
class PromotionOutcome:
    """What the promotion step did: timings, the decision, and the model cards written."""

    timings: dict[str, Timing]
    candidates: list[Candidate]
    result: PromotionResult
    cards: dict[str, CardLinks]


def run_promotion(
    spec: ProductSpec,
    snapshot: Path,
    records: list[CandidateRecord],
    tracking: TrackingResource,
) -> PromotionOutcome:
    """Time every candidate, decide the latency gates, promote, and write each candidate's
    model card with every gate's verdict and the promotion's outcome."""
    assert spec.model is not None
    timings = time_candidates(spec, snapshot, records, tracking) if records else {}
    candidates = [
        Candidate(
            variant=r.variant,
            version=r.version,
            score=r.score,
            failures=tuple(
                f"{g.gate}: {g.summary}"
                for g in (*r.gates, timings[r.variant].gate)
                if not g.passed
            ),
            identical_to_champion=r.identical_to_champion,
        )
        for r in records
    ]
    result = promote(spec, candidates, tracking)
    client = tracking.activate()
    cards = {
        r.variant: write_card(
            client,
            spec,
            r,
            (*r.gates, timings[r.variant].gate),
            _alias_of(r, result),
            result.decision.reason,
        )
        for r in records
    }
    return PromotionOutcome(timings, candidates, result, cards)


def _alias_of(record: CandidateRecord, result: PromotionResult) -> str:
    if record.version == result.champion_version:
        return registry.CHAMPION
    found = [a for a, v in result.aliases.items() if v == record.version]
    return ", ".join(found) or "none"


def timings_json(timings: dict[str, Timing]) -> str:
    """The timings as JSON, for the asset's metadata."""
    return json.dumps(
        {
            variant: {"version": t.version, "passed": t.gate.passed, "vs_champion": t.vs_champion}
            | t.gate.observed
            for variant, t in timings.items()
        }
    )
