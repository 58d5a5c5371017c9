"""A classifier and its decision threshold, logged and served as one model.

The pyfunc flavour (what `medallion serve`, the latency gate and monitoring call) answers,
per row, the `score` (probability of the positive class) and the `decision` at the threshold
chosen on the validation days, so a consumer never re-implements the threshold. Loaded with
`mlflow.sklearn.load_model`, `predict_proba` is the wrapped Pipeline's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SCORE, DECISION = "score", "decision"


class DecisionModel:
    """A fitted scikit-learn classifier Pipeline and the score from which a row is positive."""

    def __init__(self, pipeline, threshold: float):
        self.pipeline = pipeline
        self.threshold = float(threshold)

    @property
    def feature_names_in_(self) -> np.ndarray:
        return self.pipeline.feature_names_in_

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        return self.pipeline.predict_proba(features)

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per row the positive-class score and the decision (1 when score >= threshold)."""
        scores = self.pipeline.predict_proba(features)[:, 1]
        return pd.DataFrame({SCORE: scores, DECISION: (scores >= self.threshold).astype(np.int64)})


TRUSTED_TYPE = f"{DecisionModel.__module__}.{DecisionModel.__qualname__}"
"""What skops must trust to load a DecisionModel."""


def scores_of(predicted) -> np.ndarray:
    """The positive-class scores (or predicted values) of any pyfunc output we logged: a
    DecisionModel's frame, a classifier's class probabilities, or a regressor's values."""
    if isinstance(predicted, pd.DataFrame) and SCORE in predicted.columns:
        return predicted[SCORE].to_numpy(dtype=np.float64)
    values = np.asarray(predicted, dtype=np.float64)
    return values[:, 1] if values.ndim == 2 else values
