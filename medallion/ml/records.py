"""What the ML assets hand to each other, as typed records.

The baseline hands the variants the bar to clear; each variant hands the promotion its
registered version and gate outcomes. Each record is written as one JSON metadata value of
its asset's materialization and read back whole, so no asset reads another's metadata keys
by name, and a field added here travels without touching the readers.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from medallion.ml.gates import GateOutcome

BASELINE_KEY, CANDIDATE_KEY = "baseline_record", "candidate_record"


def _clean(values: dict[str, float]) -> dict[str, float | None]:
    """NaN is not JSON: it travels as None and comes back as NaN."""
    return {k: (None if v is None or math.isnan(v) else float(v)) for k, v in values.items()}


def _floats(values: dict[str, Any]) -> dict[str, float]:
    return {k: (math.nan if v is None else float(v)) for k, v in values.items()}


@dataclass(frozen=True)
class BaselineResult:
    """What each variant must at least match on this holdout."""

    kind: str
    """'champion' (the current champion re-scored), 'dummy' (no champion yet) or
    'unavailable' (the champion cannot score this snapshot; nothing can be promoted)."""
    label: str
    data_version: str
    run_id: str
    metrics: dict[str, float]
    version: str | None = None
    scores_digest: str | None = None
    """Digest of the champion's holdout scores: a candidate with the same is the same model."""

    def to_metadata(self) -> dict[str, Any]:
        return {
            BASELINE_KEY: json.loads(json.dumps(asdict(self) | {"metrics": _clean(self.metrics)}))
        }

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> BaselineResult:
        record = dict(metadata[BASELINE_KEY])
        return cls(**record | {"metrics": _floats(record["metrics"])})


@dataclass(frozen=True)
class CandidateRecord:
    """A variant's registered version, its primary metric and its gates so far."""

    variant: str
    version: str
    run_id: str
    data_version: str
    score: float
    gates: tuple[GateOutcome, ...]
    reused: bool = False
    """True when an identical earlier training (same fingerprint) was reused."""
    identical_to_champion: bool = False
    decision_threshold: float | None = None
    fingerprint: str = ""
    notes: dict[str, str] = field(default_factory=dict)

    def to_metadata(self) -> dict[str, Any]:
        record = asdict(self) | {
            "score": None if math.isnan(self.score) else self.score,
            "gates": [asdict(g) | {"observed": _clean(g.observed)} for g in self.gates],
        }
        return {CANDIDATE_KEY: json.loads(json.dumps(record))}

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> CandidateRecord:
        record = dict(metadata[CANDIDATE_KEY])
        gates = tuple(
            GateOutcome(**g | {"observed": _floats(g["observed"])}) for g in record["gates"]
        )
        score = math.nan if record["score"] is None else float(record["score"])
        return cls(**record | {"gates": gates, "score": score})

    @property
    def failures(self) -> tuple[str, ...]:
        return tuple(f"{g.gate}: {g.summary}" for g in self.gates if not g.passed)
