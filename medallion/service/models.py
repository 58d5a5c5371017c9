"""The models a product serves: the champion answers, every `challenger-*` alias scores the
same request in the shadow. Loaded once from the MLflow registry (read only); when there is
no champion, the reason names which gates failed for which versions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import polars as pl

from medallion.ml import registry
from medallion.ml.loading import load_sklearn
from medallion.spec import ProductSpec

ROLE_ANSWER = "answer"
ROLE_SHADOW = "shadow"


@dataclass(frozen=True)
class ModelRef:
    """A registered version and the alias under which it is served."""

    name: str
    version: str
    alias: str
    variant: str
    threshold: float | None = None
    """Classification: the score from which the answer is positive, as the version recorded
    it (else the spec's)."""

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    @property
    def role(self) -> str:
        return ROLE_ANSWER if self.alias == registry.CHAMPION else ROLE_SHADOW


@dataclass(frozen=True)
class Lineup:
    """What a product serves: its champion (or why none) and its challengers."""

    champion: ModelRef | None
    challengers: list[ModelRef]
    reason: str | None = None


def _store_missing(tracking_uri: str) -> bool:
    return (
        tracking_uri.startswith("sqlite:///")
        and not Path(tracking_uri.removeprefix("sqlite:///")).exists()
    )


def no_champion_reason(client, name: str) -> str:
    """Which gates failed for which versions (or that nothing was trained yet)."""
    versions = client.search_model_versions(f"name = '{name}'")
    if not versions:
        return f"no model version of {name!r} is registered yet: materialize {name}/ml/* first"
    failures = []
    for version in sorted(versions, key=lambda v: int(v.version)):
        failed = [
            f"{key.removeprefix('gate.')} ({version.tags.get(key + '.reason', 'no reason')})"
            for key, value in sorted(version.tags.items())
            if key.startswith("gate.") and not key.endswith(".reason") and value == "failed"
        ]
        if failed:
            variant = version.tags.get("variant", "?")
            failures.append(f"v{version.version} ({variant}) failed " + "; ".join(failed))
    detail = " | ".join(failures) or "no version has passed every gate"
    return f"no champion for {name}: {detail}"


def lineup(spec: ProductSpec, tracking, answer: str = registry.CHAMPION) -> Lineup:
    """The product's answering version (the `champion` alias unless told otherwise) and the
    challenger aliases scored in its shadow."""
    if spec.model is None or not spec.model.variants:
        return Lineup(None, [], f"{spec.name} declares no model")
    if _store_missing(tracking.tracking_uri):
        return Lineup(None, [], f"no model store yet: materialize {spec.name}/ml/* first")
    from mlflow.exceptions import MlflowException

    client = tracking.activate()
    name = registry.registered_model_name(spec)
    try:
        model = client.get_registered_model(name)
    except MlflowException:
        return Lineup(None, [], f"no registered model {name!r}: materialize {spec.name}/ml/* first")
    refs = []
    for alias, version in sorted(model.aliases.items()):
        if alias in (registry.CHAMPION, answer) or alias.startswith(registry.CHALLENGER_PREFIX):
            found = client.get_model_version(name, version)
            params = client.get_run(found.run_id).data.params
            recorded = params.get("decision_threshold") or spec.model.decision_threshold
            threshold = None if spec.model.is_regression or recorded is None else float(recorded)
            variant = found.tags.get("variant", "?")
            refs.append(ModelRef(name, str(version), alias, variant, threshold))
    champion = next((r for r in refs if r.alias == answer), None)
    challengers = [r for r in refs if r.alias != answer]
    reason = None if champion else no_champion_reason(client, name)
    if champion is None and answer != registry.CHAMPION:
        reason = f"no version of {name!r} has alias {answer!r}"
    return Lineup(champion, challengers, reason)


def load(ref: ModelRef):
    """The scikit-learn pipeline of a version (skops, with the trusted types it was saved with)."""
    return load_sklearn(ref.uri)


def feature_frame(rows: list[dict], features: list[str], categorical: set[str]) -> pl.DataFrame:
    """Client-given feature rows as a typed frame; a ValueError names missing or unknown
    fields and values of the wrong type."""
    from medallion.service.catalog import QueryError

    if not rows:
        raise QueryError("rows must hold at least one row of features")
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise QueryError(f"rows[{index}] must be an object of feature values")
        missing = [f for f in features if f not in row]
        unknown = [f for f in row if f not in features]
        if missing or unknown:
            raise QueryError(f"rows[{index}]: missing features {missing}, unknown fields {unknown}")
    schema = {f: pl.String if f in categorical else pl.Float64 for f in features}
    try:
        return pl.DataFrame(rows, schema=schema, strict=False).select(features)
    except (pl.exceptions.PolarsError, TypeError, ValueError) as error:
        raise QueryError(f"rows: a feature value does not fit its type: {error}") from None


def model_input(frame: pl.DataFrame, features: list[str], categorical: set[str]) -> pd.DataFrame:
    """The pipeline's input, as training built it: text categories, float64 numbers."""
    return pd.DataFrame(
        {
            name: frame[name].cast(pl.String if name in categorical else pl.Float64).to_numpy()
            for name in features
        }
    )


def predict(model, features: pd.DataFrame):
    from medallion.ml.training import predict_scores

    return predict_scores(model, features)
