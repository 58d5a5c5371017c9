"""The records the ML assets hand on survive the trip through Dagster metadata whole."""

from __future__ import annotations

import json
import math

import pytest

from medallion.handoff import HandoffError
from medallion.ml.gates import GateOutcome
from medallion.ml.records import BaselineResult, CandidateRecord, SnapshotRecord


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


def test_a_snapshot_record_round_trips():
    record = SnapshotRecord("/data/snapshots/churn/customer_features-ab12.parquet", "ab12", 1200)
    back = SnapshotRecord.from_metadata(_through_json(record.to_metadata()))
    assert back == record and back.file.name == "customer_features-ab12.parquet"


def test_a_renamed_record_key_or_field_fails_the_reader_loudly():
    baseline = BaselineResult("dummy", "prior", "abc", "run", {"roc_auc": 0.5})
    [(key, value)] = _through_json(baseline.to_metadata()).items()
    with pytest.raises(HandoffError, match="no 'baseline_record' record"):
        BaselineResult.from_metadata({key + "_v2": value})
    renamed = dict(value)
    renamed["data_snapshot"] = renamed.pop("data_version")
    with pytest.raises(HandoffError, match=r"unknown field\(s\) \['data_snapshot'\]"):
        BaselineResult.from_metadata({key: renamed})
    candidate = _through_json(CandidateRecord("rf", "3", "run", "abc", 0.8, ()).to_metadata())
    del candidate["candidate_record"]["version"]
    with pytest.raises(HandoffError, match="version"):
        CandidateRecord.from_metadata(candidate)
