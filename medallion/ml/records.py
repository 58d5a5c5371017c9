"""What the ML assets hand to each other, as typed records.

The snapshot hands every ML step the file and data version to read; the baseline hands the
variants the bar to clear; each variant hands the promotion its registered version and gate
outcomes. Each record is written as one JSON metadata value of its asset's materialization
and read back whole (medallion.handoff), so no asset reads another's metadata keys by name,
and a field added here travels without touching the readers.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from medallion.handoff import build, floats, json_safe, payload
from medallion.ml.gates import GateOutcome

SNAPSHOT_KEY, BASELINE_KEY, CANDIDATE_KEY = "snapshot_record", "baseline_record", "candidate_record"


def _json(record: dict[str, Any]) -> Any:
    return json.loads(json.dumps(json_safe(record)))


@dataclass(frozen=True)
class SnapshotRecord:
    """The Parquet file every ML step reads, and the data version it records."""

    path: str
    data_version: str
    rows: int

    def to_metadata(self) -> dict[str, Any]:
        return {SNAPSHOT_KEY: _json(asdict(self))}

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> SnapshotRecord:
        return build(cls, payload(metadata, SNAPSHOT_KEY))

    @property
    def file(self) -> Path:
        return Path(self.path)


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
        return {BASELINE_KEY: _json(asdict(self))}

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> BaselineResult:
        record = payload(metadata, BASELINE_KEY)
        return build(cls, record | {"metrics": floats(record.get("metrics", {}))})


def _gate(record: dict[str, Any]) -> GateOutcome:
    return build(GateOutcome, record | {"observed": floats(record.get("observed", {}))})


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
        return {CANDIDATE_KEY: _json(asdict(self))}

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> CandidateRecord:
        record = payload(metadata, CANDIDATE_KEY)
        gates = tuple(_gate(g) for g in record.get("gates", ()))
        score = record.get("score")
        return build(
            cls, record | {"gates": gates, "score": math.nan if score is None else float(score)}
        )

    @property
    def failures(self) -> tuple[str, ...]:
        return tuple(f"{g.gate}: {g.summary}" for g in self.gates if not g.passed)
