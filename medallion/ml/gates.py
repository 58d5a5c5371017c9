"""Gate decisions, pure: accuracy vs the baseline, bias, responsiveness, and promotion.

A variant may become champion only when it passes all three gates. The thresholds come from
the spec's `model.gates`; these functions only compare and explain, so the Dagster checks,
the MLflow tags and the promotion all say the same thing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from medallion.spec import GatesSpec, greater_is_better

if TYPE_CHECKING:  # the reports' modules import Fairlearn and scikit-learn (about 3 s)
    from medallion.ml.fairness import AttributeFairness
    from medallion.ml.group_error import AttributeErrors
    from medallion.ml.latency import LatencyReport

ACCURACY, BIAS, LATENCY = "accuracy", "bias", "latency"
FLOAT_SLACK = 1e-9
"""Relative difference below which two metric values count as equal."""
GATES = (ACCURACY, BIAS, LATENCY)


@dataclass(frozen=True)
class GateOutcome:
    """One gate's decision, the numbers behind it and a one-line reason."""

    gate: str
    passed: bool
    summary: str
    observed: dict[str, float] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)


def verdict(outcomes: Sequence[GateOutcome], pending: Sequence[str] = ()) -> str:
    """One short word on a model's gates, for the MLflow runs table: `failed: bias, latency`,
    `pending: latency` while a gate is still to be judged, else `passed`."""
    failed = [g.gate for g in outcomes if not g.passed]
    if failed:
        return "failed: " + ", ".join(failed)
    return "pending: " + ", ".join(pending) if pending else "passed"


def accuracy_gate(
    metric: str, candidate: float, baseline: float, baseline_label: str, tolerance: float
) -> GateOutcome:
    """The candidate's primary metric must not be worse than the baseline's beyond `tolerance`.

    Args:
        metric: the primary metric's name (its direction decides "worse").
        candidate: the variant's value on the holdout.
        baseline: the current champion's (or the trivial baseline's) value on the same holdout.
        baseline_label: what the baseline is, for the reason.
        tolerance: how much worse is still acceptable.
    """
    # A retrained identical model can differ from the reloaded champion in the last bits of
    # a float (summation order); that is not a drop.
    slack = FLOAT_SLACK * max(abs(baseline), 1.0) if math.isfinite(baseline) else 0.0
    if greater_is_better(metric):
        bound = baseline - tolerance
        passed = candidate >= bound - slack
        relation = ">=" if passed else "<"
    else:
        bound = baseline + tolerance
        passed = candidate <= bound + slack
        relation = "<=" if passed else ">"
    if math.isnan(candidate) or math.isnan(baseline):
        passed, relation = False, "not comparable with"
    summary = (
        f"{metric} {candidate:.4f} {relation} {bound:.4f} "
        f"({baseline_label} {baseline:.4f}, tolerance {tolerance:g})"
    )
    return GateOutcome(
        gate=ACCURACY,
        passed=passed,
        summary=summary,
        observed={metric: candidate, f"baseline_{metric}": baseline},
        thresholds={"bound": bound, "tolerance": tolerance},
    )


@dataclass(frozen=True)
class Usefulness:
    """What a classifier's decisions at its threshold achieve on the holdout, overall."""

    threshold: float
    rows: int
    positives: int
    selected: int
    true_positives: int
    min_recall: float
    min_lift: float

    @property
    def recall(self) -> float:
        return self.true_positives / self.positives if self.positives else math.nan

    @property
    def selection_rate(self) -> float:
        return self.selected / self.rows if self.rows else math.nan

    @property
    def lift(self) -> float:
        """Precision over the positive rate: 1.0 is selecting at random (the prior)."""
        if not self.selected or not self.positives:
            return 0.0
        return (self.true_positives / self.selected) / (self.positives / self.rows)

    def failures(self) -> list[str]:
        found = []
        if not self.recall >= self.min_recall:
            found.append(f"recall {self.recall:.3f} < {self.min_recall:g}")
        if not self.lift >= self.min_lift:
            found.append(f"lift {self.lift:.2f} < {self.min_lift:g}")
        return found

    def summary(self) -> str:
        return (
            f"at threshold {self.threshold:.4f}: {self.selected:,} of {self.rows:,} selected, "
            f"recall {self.recall:.3f}, lift {self.lift:.2f}"
        )

    def observed(self) -> dict[str, float]:
        return {
            "decision_threshold": self.threshold,
            "selected": float(self.selected),
            "selection_rate": self.selection_rate,
            "recall": self.recall,
            "lift": self.lift,
        }


def bias_gate(
    reports: Sequence[AttributeFairness],
    max_difference: float,
    usefulness: Usefulness | None = None,
) -> GateOutcome:
    """Demographic parity and equalized odds differences at most `max_difference` for every
    sensitive attribute, and, given `usefulness`, decisions worth comparing: recall and lift
    at the threshold at least their minimums, so that selecting (almost) nobody cannot pass
    vacuously. With no sensitive attribute declared the differences pass and say so."""
    observed: dict[str, float] = {}
    failures: list[str] = []
    thresholds = {"max_difference": max_difference}
    if usefulness is not None:
        observed |= usefulness.observed()
        failures += usefulness.failures()
        thresholds |= {"min_recall": usefulness.min_recall, "min_lift": usefulness.min_lift}
    if not reports:
        summary = "no sensitive attributes declared"
        if usefulness is not None:
            summary = "; ".join([*failures, usefulness.summary(), summary])
        return GateOutcome(BIAS, not failures, summary, observed, thresholds)
    parts = []
    for r in reports:
        observed[f"{r.attribute}.demographic_parity_difference"] = r.demographic_parity_difference
        observed[f"{r.attribute}.equalized_odds_difference"] = r.equalized_odds_difference
        observed[f"{r.attribute}.demographic_parity_ratio"] = r.demographic_parity_ratio
        observed[f"{r.attribute}.equalized_odds_ratio"] = r.equalized_odds_ratio
        for label, value in (
            ("demographic parity", r.demographic_parity_difference),
            ("equalized odds", r.equalized_odds_difference),
        ):
            if not value <= max_difference:
                failures.append(
                    f"{r.attribute} {label} difference {value:.3f} > {max_difference:g}"
                )
        parts.append(
            f"{r.attribute} DP {r.demographic_parity_difference:.3f} "
            f"EO {r.equalized_odds_difference:.3f}"
        )
    passed = not failures
    summary = "; ".join(failures) if failures else f"all <= {max_difference:g}: " + ", ".join(parts)
    if usefulness is not None:
        summary += f" ({usefulness.summary()})"
    return GateOutcome(BIAS, passed, summary, observed=observed, thresholds=thresholds)


def error_bias_gate(reports: Sequence[AttributeErrors], gates: GatesSpec, unit: str) -> GateOutcome:
    """Regression bias: for every sensitive attribute, the gap between the worst and best
    group's MAE, the gap between the groups' mean signed errors, and the ratio of the worst
    group's MAE to the best's, each within its bound in the spec (an unset bound is not
    checked). With no sensitive attribute the gate passes and says so. `unit` names what the
    gaps are in (the target, e.g. delay_hours)."""
    if not reports:
        return GateOutcome(BIAS, True, "no sensitive attributes declared")
    bounds = {
        "mae_difference": ("MAE gap", gates.bias_max_mae_difference),
        "mean_error_difference": ("mean error gap", gates.bias_max_mean_error_difference),
        "mae_ratio": ("MAE ratio", gates.bias_max_mae_ratio),
    }
    observed: dict[str, float] = {}
    failures, parts = [], []
    for r in reports:
        for name, (label, bound) in bounds.items():
            value = float(getattr(r, name))
            observed[f"{r.attribute}.{name}"] = value
            if bound is not None and not value <= bound:
                failures.append(f"{r.attribute} {label} {value:.3f} > {bound:g}")
        parts.append(
            f"{r.attribute} MAE gap {r.mae_difference:.3f} (x{r.mae_ratio:.2f}), "
            f"mean error gap {r.mean_error_difference:.3f}"
        )
    thresholds = {f"max_{name}": bound for name, (_, bound) in bounds.items() if bound is not None}
    limits = ", ".join(f"{k} {v:g}" for k, v in thresholds.items())
    summary = "; ".join(failures) if failures else f"within {limits}: " + ", ".join(parts)
    summary += f" (gaps in units of {unit})"
    return GateOutcome(BIAS, not failures, summary, observed=observed, thresholds=thresholds)


def latency_gate(report: LatencyReport, gates: GatesSpec) -> GateOutcome:
    """p95 CPU time of single-row scoring within its budget and the batch's CPU time within
    its budget. CPU time is what the model costs; other processes barely change it, so the
    verdict does not depend on machine load. Wall percentiles are reported beside it."""
    failures = []
    if not report.cpu_p95_ms <= gates.latency_p95_ms:
        failures.append(f"CPU p95 {report.cpu_p95_ms:.2f} ms > {gates.latency_p95_ms:g} ms")
    if not report.batch_cpu_seconds <= gates.batch_seconds:
        failures.append(
            f"{report.batch_rows:,} rows in {report.batch_cpu_seconds:.3f} CPU s > "
            f"{gates.batch_seconds:g} s"
        )
    wall = f"(wall p95 {report.p95_ms:.2f} ms, batch {report.batch_seconds:.3f} s)"
    summary = "; ".join(failures) or (
        f"CPU p95 {report.cpu_p95_ms:.2f} ms <= {gates.latency_p95_ms:g} ms, "
        f"{report.batch_rows:,} rows in {report.batch_cpu_seconds:.3f} CPU s <= "
        f"{gates.batch_seconds:g} s"
    )
    return GateOutcome(
        LATENCY,
        not failures,
        f"{summary} {wall}",
        observed={
            "cpu_p50_ms": report.cpu_p50_ms,
            "cpu_p95_ms": report.cpu_p95_ms,
            "cpu_p99_ms": report.cpu_p99_ms,
            "batch_cpu_seconds": report.batch_cpu_seconds,
            "p50_ms": report.p50_ms,
            "p95_ms": report.p95_ms,
            "p99_ms": report.p99_ms,
            "batch_seconds": report.batch_seconds,
        },
        thresholds={"cpu_p95_ms": gates.latency_p95_ms, "batch_cpu_seconds": gates.batch_seconds},
    )


@dataclass(frozen=True)
class Candidate:
    """A variant's registered model version and its gate outcomes, as promotion sees it."""

    variant: str
    version: str
    score: float
    """Its primary metric on the holdout."""
    failures: tuple[str, ...] = ()
    """Summaries of the gates it failed; empty when it passed all."""
    identical_to_champion: bool = False
    """Its holdout scores are the champion's: promoting it would change nothing."""

    @property
    def passed(self) -> bool:
        return not self.failures and not math.isnan(self.score)


@dataclass(frozen=True)
class Promotion:
    """The promotion decision: the new champion (None to keep the current one) and why."""

    champion: Candidate | None
    reason: str
    challengers: tuple[Candidate, ...]


def choose_champion(
    candidates: Sequence[Candidate], metric: str, champion_version: str | None = None
) -> Promotion:
    """The best candidate by the primary metric among those passing every gate.

    Ties go to the variant whose name sorts first, so the decision is deterministic. With no
    candidate passing, the champion stays and the reason lists each candidate's failures.
    When the best is the champion itself (a reused training) or scores the holdout exactly
    as the champion does, the champion stays too: `previous` never moves to a copy.
    """
    passing = [c for c in candidates if c.passed]
    if not passing:
        why = "; ".join(
            f"{c.variant} (v{c.version}): {', '.join(c.failures) or f'{metric} undefined'}"
            for c in sorted(candidates, key=lambda c: c.variant)
        )
        reason = (
            "no variant passed all gates; the champion is unchanged. " + why
            if candidates
            else "no candidates trained on the current data version; the champion is unchanged"
        )
        return Promotion(None, reason, tuple(candidates))
    sign = -1.0 if greater_is_better(metric) else 1.0
    best = min(passing, key=lambda c: (sign * c.score, c.variant))
    reason = (
        f"{best.variant} (v{best.version}) has the best {metric} ({best.score:.4f}) of "
        f"{len(passing)} variant(s) passing all gates"
    )
    others = tuple(c for c in candidates if c is not best)
    if champion_version is not None and best.version == champion_version:
        return Promotion(None, f"{reason}; it is the champion already: unchanged", others)
    if best.identical_to_champion:
        return Promotion(
            None,
            f"{reason}; it scores exactly as champion v{champion_version}: unchanged",
            (best, *others),
        )
    return Promotion(best, reason, others)
