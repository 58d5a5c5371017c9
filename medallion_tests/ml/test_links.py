"""The MLflow UI lands on runs: links to each product's runs table, experiments tagged for the
classic training view with the primary metric and gate verdict as columns, no empty Default
experiment, and a one-word gate verdict on every run."""

from __future__ import annotations

import json

import pytest

from medallion.ml import links, registry
from medallion.ml.gates import GateOutcome, verdict
from medallion.resources.tracking import TrackingResource
from medallion.settings import PACKAGE_PRODUCTS
from medallion.spec import load_spec


@pytest.fixture(scope="module")
def products():
    return [load_spec(PACKAGE_PRODUCTS / n / "product.yaml") for n in ("churn", "deliveries")]


def test_the_runs_link_opens_the_training_view_with_the_medallion_columns():
    url = links.runs_url("http://127.0.0.1:5000/", "7")
    assert url == (
        "http://127.0.0.1:5000/#/experiments/7/runs"
        "?workflowType=machine_learning&viewStateShareKey=medallion-runs"
    )
    assert links.model_url("http://h:1", "churn") == "http://h:1/#/models/churn"


def test_the_view_shows_the_primary_metric_and_gates_best_first(products):
    churn, deliveries = products
    view = json.loads(links.experiment_tags(churn)[links.VIEW_TAG])
    assert view["selectedColumns"] == [
        "attributes.`Models`",
        "metrics.`roc_auc`",
        "tags.`gates`",
    ]
    assert (view["orderByKey"], view["orderByAsc"]) == ("metrics.`roc_auc`", False)
    errors = json.loads(links.experiment_tags(deliveries)[links.VIEW_TAG])
    assert (errors["orderByKey"], errors["orderByAsc"]) == ("metrics.`rmse`", True)
    assert links.experiment_tags(churn)[links.EXPERIMENT_KIND_TAG] == "custom_model_development"


def test_the_gate_verdict_names_what_failed_or_is_pending():
    passed = GateOutcome("accuracy", True, "ok")
    failed = GateOutcome("bias", False, "too far apart")
    assert verdict([passed, failed], pending=("latency",)) == "failed: bias"
    assert verdict([passed], pending=("latency",)) == "pending: latency"
    assert verdict([passed, GateOutcome("latency", False, "slow"), failed]) == (
        "failed: latency, bias"
    )
    assert verdict([passed]) == "passed"


def test_experiments_are_tagged_and_the_empty_default_is_gone(tmp_path, products):
    churn, deliveries = products
    client = TrackingResource.for_data(tmp_path / "data").activate()
    assert client.get_experiment("0").name == "Default"  # a new store makes it
    assert registry.experiment_ids(client, ["churn"]) == {"churn": None}
    experiment_id = registry.product_experiment(client, churn, None)
    assert client.get_experiment("0").lifecycle_stage == "deleted"
    assert [e.name for e in client.search_experiments()] == ["churn"]
    tags = client.get_experiment(experiment_id).tags
    assert tags[links.VIEW_TAG] == links.experiment_tags(churn)[links.VIEW_TAG]
    client.set_experiment_tag(experiment_id, links.EXPERIMENT_KIND_TAG, "genai_development")
    assert registry.product_experiment(client, churn, None) == experiment_id  # re-tagged
    assert client.get_experiment(experiment_id).tags[links.EXPERIMENT_KIND_TAG] == (
        "custom_model_development"
    )
    lines = registry.runs_links(client, [churn, deliveries], "http://127.0.0.1:5000")
    assert lines == [
        f"  churn: {links.runs_url('http://127.0.0.1:5000', experiment_id)}"
        "  (model: http://127.0.0.1:5000/#/models/churn)",
        "  deliveries: no MLflow experiment yet (the first training creates it)",
    ]


def test_a_default_experiment_with_runs_is_kept(tmp_path, products):
    client = TrackingResource.for_data(tmp_path / "data").activate()
    client.create_run("0")
    registry.product_experiment(client, products[0], None)
    assert client.get_experiment("0").lifecycle_stage == "active"
