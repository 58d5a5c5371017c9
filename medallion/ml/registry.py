"""MLflow bookkeeping: experiments, reproducibility tags, logged models and aliases.

One experiment and one registered model per product, both named after it and created once,
before variants log in parallel (sqlite does not like concurrent creation). Every run carries
the data version, code version, spec hash and seed that reproduce it. Aliases say what each
version is: `champion`, `previous` (the champion before it) and `challenger-<variant>`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from importlib import metadata
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from medallion.ml import links
from medallion.spec import ProductSpec

FINGERPRINT = "fingerprint"
"""Model version tag: hash of what decides the fitted model (data, code, model spec)."""
CHAMPION = "champion"
PREVIOUS = "previous"
CHALLENGER_PREFIX = "challenger-"

DEFAULT_EXPERIMENT_ID = "0"

REQUIREMENTS = ("mlflow", "scikit-learn", "skops", "numpy", "pandas", "scipy")


def experiment_name(spec: ProductSpec) -> str:
    return spec.name


def registered_model_name(spec: ProductSpec) -> str:
    return spec.name


def challenger_alias(variant: str) -> str:
    return f"{CHALLENGER_PREFIX}{variant}"


def ensure_experiment(
    client: MlflowClient,
    name: str,
    artifact_location: str | None,
    tags: dict[str, str] | None = None,
) -> str:
    """The experiment's id, creating it (or restoring it when deleted) if needed, with `tags`
    set (an experiment made by an earlier version gets them too). MLflow's empty `Default`
    experiment is deleted on the way, so the UI lists the products' experiments only."""
    drop_empty_default(client)
    tags = tags or {}
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return client.create_experiment(name, artifact_location=artifact_location, tags=tags)
        except MlflowException:
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
    if experiment.lifecycle_stage == "deleted":
        client.restore_experiment(experiment.experiment_id)
    for key, value in tags.items():
        if experiment.tags.get(key) != value:
            client.set_experiment_tag(experiment.experiment_id, key, value)
    return experiment.experiment_id


def product_experiment(
    client: MlflowClient, spec: ProductSpec, artifact_location: str | None
) -> str:
    """The product's experiment, tagged so that the MLflow UI opens its runs table
    (medallion.ml.links)."""
    return ensure_experiment(
        client, experiment_name(spec), artifact_location, links.experiment_tags(spec)
    )


def drop_empty_default(client: MlflowClient) -> None:
    """Delete MLflow's `Default` experiment (id 0, created with every new tracking database)
    while no run uses it; a deleted experiment is not created again."""
    try:
        default = client.get_experiment(DEFAULT_EXPERIMENT_ID)
    except MlflowException:
        return
    if default.lifecycle_stage != "active" or default.name != "Default":
        return
    runs = client.search_runs([DEFAULT_EXPERIMENT_ID], max_results=1, run_view_type=ViewType.ALL)
    if not runs:
        with contextlib.suppress(MlflowException):
            client.delete_experiment(DEFAULT_EXPERIMENT_ID)


def runs_links(client: MlflowClient, specs: list[ProductSpec], ui_url: str) -> list[str]:
    """One line per product with models: the link to its runs table in the MLflow UI at
    `ui_url` (what `medallion ui` and the demo summary print)."""
    names = [experiment_name(s) for s in specs if s.model is not None and s.model.variants]
    return links.product_links(ui_url, experiment_ids(client, names))


def experiment_ids(client: MlflowClient, names: list[str]) -> dict[str, str | None]:
    """Each name's active experiment id, None where there is none yet."""
    found = {}
    for name in names:
        experiment = client.get_experiment_by_name(name)
        active = experiment is not None and experiment.lifecycle_stage == "active"
        found[name] = experiment.experiment_id if active else None
    return found


def ensure_registered_model(client: MlflowClient, name: str, description: str | None) -> None:
    """Create the product's registered model once."""
    try:
        client.get_registered_model(name)
    except MlflowException:
        try:
            client.create_registered_model(name, description=description)
        except MlflowException:
            client.get_registered_model(name)


def version_by_alias(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    """The version holding an alias, or None."""
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def version_by_fingerprint(
    client: MlflowClient, name: str, fingerprint: str
) -> ModelVersion | None:
    """The earliest version trained from the same data, code and model spec, or None."""
    found = client.search_model_versions(f"name='{name}' and tags.{FINGERPRINT}='{fingerprint}'")
    ready = [v for v in found if v.status == "READY"]
    return min(ready, key=lambda v: int(v.version)) if ready else None


def git_commit() -> str | None:
    """The source tree's commit by MLflow's own lookup (the one behind its
    `mlflow.source.git.commit` tag), or None outside a git checkout. Read at each call, so a
    long-lived process records the commit checked out when a run starts."""
    from mlflow.utils.git_utils import get_git_commit

    return get_git_commit(str(Path(__file__).resolve().parent))


def code_version() -> str:
    """`git:<commit>` of the source tree when it is a checkout, else the package version."""
    commit = git_commit()
    if commit:
        return f"git:{commit[:12]}"
    try:
        return f"medallion=={metadata.version('medallion')}"
    except metadata.PackageNotFoundError:
        return "medallion==unknown"


def git_tags() -> dict[str, str]:
    """MLflow's own source-commit tag, for runs started outside a script MLflow can see."""
    from mlflow.utils.mlflow_tags import MLFLOW_GIT_COMMIT

    commit = git_commit()
    return {MLFLOW_GIT_COMMIT: commit} if commit else {}


def spec_hash(spec: ProductSpec) -> str:
    """Content hash of the whole product spec, including its gold SQL."""
    document = {"spec": spec.model_dump(mode="json"), "gold_sql": spec.gold_sql}
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def pip_requirements() -> list[str]:
    """The logged model's requirements, pinned to this environment (no inference run)."""
    pinned = []
    for package in REQUIREMENTS:
        try:
            pinned.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pinned.append(package)
    return pinned


def log_sklearn_model(pipeline, estimator: str, input_example, registered_name: str | None):
    """Log a fitted Pipeline to the active run, with signature and input example, and
    register it as a new version of `registered_name`.

    The pyfunc flavour of a DecisionModel (a classifier and its threshold) returns each row's
    score and decision, that of a bare classifier class probabilities (`predict_proba`), that
    of a regressor the predicted values (`predict`), so scoring and serving give what the
    gates and monitoring measured.

    Returns:
        mlflow's ModelInfo; `registered_model_version` is the new version.
    """
    import mlflow.sklearn
    from mlflow.models import infer_signature

    from medallion.ml.decision import TRUSTED_TYPE, DecisionModel
    from medallion.ml.training import trusted_types

    decides = isinstance(pipeline, DecisionModel)
    predict_fn = "predict_proba" if hasattr(pipeline, "predict_proba") else "predict"
    predict_fn = "predict" if decides else predict_fn
    output_example = getattr(pipeline, predict_fn)(input_example)
    return mlflow.sklearn.log_model(
        pipeline,
        name="model",
        serialization_format="skops",
        skops_trusted_types=trusted_types(estimator) + ([TRUSTED_TYPE] if decides else []),
        pyfunc_predict_fn=predict_fn,
        signature=infer_signature(input_example, output_example),
        input_example=input_example,
        registered_model_name=registered_name,
        pip_requirements=pip_requirements(),
    )


def log_and_register(
    pipeline, estimator: str, input_example, registered_name: str, tags: dict[str, str]
) -> tuple[str, str]:
    """Log the model to the active run and register it as a new version carrying `tags` in
    the same registry write (one write, not one per tag). Returns the version and the
    logged model's id."""
    import mlflow

    info = log_sklearn_model(pipeline, estimator, input_example, None)
    version = mlflow.register_model(info.model_uri, registered_name, tags=tags)
    return str(version.version), info.model_id


def set_alias(client: MlflowClient, name: str, alias: str, version: str) -> None:
    client.set_registered_model_alias(name, alias, version)


def delete_alias(client: MlflowClient, name: str, alias: str) -> None:
    with contextlib.suppress(MlflowException):
        client.delete_registered_model_alias(name, alias)


def log_batch(
    client: MlflowClient,
    run_id: str,
    metrics: dict[str, float],
    params: dict[str, object],
    tags: dict[str, str],
    model_id: str | None = None,
) -> None:
    """Metrics, params and tags of a run in as few writes as MLflow allows (1,000 metrics,
    100 params and 100 tags per call): on one sqlite store shared by variants training side
    by side, every write waits for the file lock, and one write per value made parallel
    training no faster than sequential. With `model_id`, the metrics are also the logged
    model's."""
    import time

    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    metric_list = [Metric(k, float(v), now, 0, model_id) for k, v in metrics.items() if v == v]
    param_list = [Param(k, str(v)[:6000]) for k, v in params.items()]
    tag_list = [RunTag(k, str(v)[:5000]) for k, v in tags.items()]
    while metric_list or param_list or tag_list:
        client.log_batch(
            run_id, metrics=metric_list[:1000], params=param_list[:100], tags=tag_list[:100]
        )
        metric_list, param_list, tag_list = metric_list[1000:], param_list[100:], tag_list[100:]
