"""Where the MLflow UI should land for a product: the runs table of its experiment.

MLflow 3.x opens an experiment in its GenAI view. Its "Model training" view is chosen by the
URL parameter `workflowType=machine_learning` (read by the UI before its stored choice), and
an experiment tagged `mlflow.experimentKind = custom_model_development` is one of classic
training where the UI does not switch views. The runs table shows Source, Models and Dataset
by default; a shared view state (experiment tag `mlflow.sharedViewState.<key>`, opened by
`viewStateShareKey=<key>`, the same the UI's Share button writes) adds the primary metric
and the gate verdict and sorts by the metric. Pure: no MLflow import.
"""

from __future__ import annotations

import json

from medallion.spec import ProductSpec, greater_is_better

EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
WORKFLOW = "machine_learning"
VIEW_KEY = "medallion-runs"
VIEW_TAG = f"mlflow.sharedViewState.{VIEW_KEY}"
GATES_TAG = "gates"
"""Run tag: `passed`, `failed: <gates>` or `pending: latency` (until the champion step)."""


def column(kind: str, name: str) -> str:
    """A runs-table column as the UI names it, e.g. metrics.`roc_auc`."""
    return f"{kind}.`{name}`"


def runs_view(primary_metric: str, higher_is_better: bool) -> dict[str, object]:
    """The view the runs link opens: the registered model version, the primary metric and
    the gate verdict beside the run name, the best run first."""
    metric = column("metrics", primary_metric)
    return {
        "selectedColumns": [
            column("attributes", "Models"),
            metric,
            column("tags", GATES_TAG),
        ],
        "orderByKey": metric,
        "orderByAsc": not higher_is_better,
    }


def experiment_tags(spec: ProductSpec) -> dict[str, str]:
    """Tags of a product's experiment: a classic training experiment with the runs view."""
    tags = {EXPERIMENT_KIND_TAG: EXPERIMENT_KIND}
    if spec.model is not None:
        metric = spec.model.primary_metric
        tags[VIEW_TAG] = json.dumps(runs_view(metric, greater_is_better(metric)))
    return tags


def runs_url(ui_url: str, experiment_id: str) -> str:
    """The runs table of an experiment in the MLflow UI at `ui_url`."""
    return (
        f"{ui_url.rstrip('/')}/#/experiments/{experiment_id}/runs"
        f"?workflowType={WORKFLOW}&viewStateShareKey={VIEW_KEY}"
    )


def model_url(ui_url: str, model_name: str) -> str:
    """The registered model's page: its versions and their aliases."""
    return f"{ui_url.rstrip('/')}/#/models/{model_name}"


def product_links(ui_url: str, experiments: dict[str, str | None]) -> list[str]:
    """One line per product: its runs table (and registered model), or why there is none.

    Args:
        ui_url: the MLflow UI, e.g. http://127.0.0.1:5000.
        experiments: product name to its experiment id (None before its first training).
    """
    return [
        f"  {name}: {runs_url(ui_url, experiment_id)}  (model: {model_url(ui_url, name)})"
        if experiment_id is not None
        else f"  {name}: no MLflow experiment yet (the first training creates it)"
        for name, experiment_id in experiments.items()
    ]
