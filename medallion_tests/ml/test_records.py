"""The records the ML assets hand on survive the trip through Dagster metadata whole."""

from __future__ import annotations

import json
import math

from medallion.ml.gates import GateOutcome
from medallion.ml.records import BaselineResult, CandidateRecord


def _through_json(metadata: dict) -> dict:
    """As Dagster stores a JSON metadata value and gives it back."""
    return json.loads(json.dumps(metadata))


def test_a_candidate_record_round_trips_with_its_gates_and_nan():
    gates = (
        GateOutcome("accuracy", True, "roc_auc 0.8 >= 0.5", {"roc_auc": 0.8}, {"bound": 0.5}),
        GateOutcome("bias", False, "recall 0.1 < 0.2", {"recall": 0.1, "lift": math.nan}),
    )
    record = CandidateRecord("rf", "3", "run", "abc", 0.8, gates, reused=True, fingerprint="f")
    back = CandidateRecord.from_metadata(_through_json(record.to_metadata()))
    assert back.failures == ("bias: recall 0.1 < 0.2",)
    assert math.isnan(back.gates[1].observed["lift"])
    assert back.gates[0] == gates[0] and back.reused and back.fingerprint == "f"
    undefined = CandidateRecord("rf", "3", "run", "abc", math.nan, ())
    assert math.isnan(CandidateRecord.from_metadata(_through_json(undefined.to_metadata())).score)


def test_a_baseline_round_trips_with_its_scores_digest():
    baseline = BaselineResult(
        "champion", "v2", "abc", "run", {"roc_auc": 0.7, "f1": math.nan}, "2", "d"
    )
    back = BaselineResult.from_metadata(_through_json(baseline.to_metadata()))
    assert back.metrics["roc_auc"] == 0.7 and math.isnan(back.metrics["f1"])
    assert (back.version, back.scores_digest, back.kind) == ("2", "d", "champion")
