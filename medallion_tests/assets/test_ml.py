"""The ML zone on the small demo: snapshot, baseline, three variants, gates and promotion,
materialized with Dagster into tmp_path MLflow stores, then read back from MLflow.

Gold is built once and only read. Each scenario that changes a registry has a store (and a
Dagster instance) of its own, so every test passes alone and in any order."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
from pathlib import Path

import dagster as dg
import mlflow
import mlflow.sklearn
import numpy as np
import pytest

from medallion.assets.constants import DUCKDB_TAG
from medallion.assets.ml import (
    GATE_CHECKS,
    PROMOTED_CHECK,
    TRACKING,
    latency_check,
    ml_assets,
    ml_key,
)
from medallion.build import build_resources
from medallion.ml import promotion, workflow
from medallion.ml.gates import Candidate
from medallion.ml.retention import aliased_data_versions, plan_retention, snapshot_files
from medallion.ml.snapshot import snapshot_columns, snapshot_path
from medallion.resources.tracking import TrackingResource
from medallion.settings import Settings
from medallion.spec import CLASSIFICATION_METRICS, ProductSpec
from medallion_tests.assets.ml_runs import CHURN_LENIENT, check_evaluations, ml_metadata, ml_spec
from medallion_tests.worlds import memory_instance

VARIANTS = ("hist_gradient_boosting", "logistic_regression", "random_forest")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[a-z]{2,}")


@pytest.fixture(scope="module")
def world(built_world):
    """Churn's gold from 80 days of 300 customers (21 labelled days); ML runs only read it."""
    return built_world.settings, built_world.specs["churn"]


@dataclasses.dataclass(frozen=True)
class Store:
    """One scenario's MLflow store, snapshots and Dagster instance, reading the world's gold."""

    settings: Settings
    instance: dg.DagsterInstance

    def materialize(self, spec: ProductSpec, selection=None) -> dg.ExecuteInProcessResult:
        resources = build_resources(self.settings)
        return dg.materialize(
            ml_assets(spec),
            selection=selection,
            resources={"warehouse": resources["warehouse"], TRACKING: resources[TRACKING]},
            instance=self.instance,
            raise_on_error=False,
        )

    @property
    def tracking(self) -> TrackingResource:
        return build_resources(self.settings)[TRACKING]


@contextlib.contextmanager
def _store(world, folder: Path):
    settings = dataclasses.replace(world[0], data=folder / "data")
    with memory_instance() as instance:
        yield Store(settings, instance)


def _checks(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], bool]:
    return {key: evaluation.passed for key, evaluation in check_evaluations(result).items()}


def _metadata(result: dg.ExecuteInProcessResult, name: str) -> dict:
    return ml_metadata(result, "churn", name)


@dataclasses.dataclass(frozen=True)
class Trained:
    """A lenient training in a fresh store, and the run tags as that training left them."""

    result: dg.ExecuteInProcessResult
    store: Store
    run_tags: dict[str, dict[str, str]]

    def activate(self):
        """This store's client, and this process's MLflow pointed at it (other tests' stores
        may have been activated since)."""
        return self.store.tracking.activate()


@pytest.fixture(scope="module")
def registry_store(world, tmp_path_factory):
    """The store of `first` and `second`: the only scenarios sharing one registry."""
    with _store(world, tmp_path_factory.mktemp("registry")) as store:
        yield store


@pytest.fixture(scope="module")
def first(world, registry_store) -> Trained:
    """Lenient gates: every variant passes, the best becomes champion."""
    result = registry_store.materialize(ml_spec(world[1], **CHURN_LENIENT))
    assert result.success
    client = registry_store.tracking.activate()
    run_tags = {
        str(v.version): dict(client.get_run(v.run_id).data.tags)
        for v in client.search_model_versions("name='churn'")
    }
    return Trained(result, registry_store, run_tags)


@pytest.fixture(scope="module")
def second(world, first) -> dg.ExecuteInProcessResult:
    """Then, in the same store, an impossible latency budget: nothing passes, the champion
    stays. It re-gates the same versions: aliases and versions stay as `first` left them."""
    result = first.store.materialize(ml_spec(world[1], **CHURN_LENIENT | {"latency_p95_ms": 1e-6}))
    assert result.success
    return result


def test_only_the_snapshot_touches_duckdb(world):
    assets = {a.key.path[-1]: a for a in ml_assets(ml_spec(world[1]))}
    assert set(assets) == {"snapshot", "baseline", "champion", *VARIANTS}
    assert assets["snapshot"].op.tags.items() >= DUCKDB_TAG.items()
    for name in ("baseline", "champion", *VARIANTS):
        assert "medallion/db" not in assets[name].op.tags, name
    for name in VARIANTS:
        assert assets[name].group_names_by_key[assets[name].key] == "ml"
        assert {"scikitlearn", "mlflow"} <= set(assets[name].specs_by_key[assets[name].key].kinds)


def test_variants_register_versions_with_reproducibility_tags(world, first):
    client, spec = first.activate(), world[1]
    snapshot = _metadata(first.result, "snapshot")
    versions = client.search_model_versions("name='churn'")
    assert sorted(v.tags["variant"] for v in versions) == sorted(VARIANTS)
    for version in versions:
        run = client.get_run(version.run_id)
        tags, params = first.run_tags[str(version.version)], run.data.params
        assert tags["data_version"] == snapshot["data_version"]
        assert tags["seed"] == "42" and params["seed"] == "42"
        assert re.fullmatch(r"git:[0-9a-f]{12}|medallion==.+", tags["code_version"])
        assert re.fullmatch(r"[0-9a-f]{16}", tags["spec_hash"])
        assert set(CLASSIFICATION_METRICS) <= set(run.data.metrics)
        assert tags["gates"] == "passed" and tags["gate.bias"] == "passed"
        assert {i.dataset.digest for i in run.inputs.dataset_inputs} == {snapshot["data_version"]}
        assert params["threshold_rule"] == "max_f1" and int(params["validation_rows"]) > 0
        assert params["validation_end"] < params["holdout_start"]
        cards = {a.path for a in client.list_artifacts(run.info.run_id, "model_card")}
        assert cards == {"model_card/model_card.md", "model_card/model_card.html"}
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "fairness")}
        assert artifacts == {"fairness/by_group.csv", "fairness/by_group.png"}
        model = mlflow.models.get_model_info(f"models:/churn/{version.version}")
        assert model.signature is not None
        assert model.signature.inputs.input_names() == spec.model.features
    metric_names = [
        set(client.get_run(v.run_id).data.metrics) - {"train_seconds"} for v in versions
    ]
    assert metric_names[0] == metric_names[1] == metric_names[2]
    assert any(name.startswith("group/gender/") for name in metric_names[0])


def test_gates_are_asset_checks_and_the_best_variant_is_champion(first):
    result, client = first.result, first.activate()
    checks = _checks(result)
    for name in VARIANTS:
        for check in GATE_CHECKS.values():
            assert checks[(name, check)] is True, (name, check)
        assert checks[("champion", latency_check(name))] is True, name
    assert checks[("champion", PROMOTED_CHECK)] is True
    assert _metadata(result, "baseline")["baseline"] == "dummy"
    scores = {name: _metadata(result, name)["roc_auc"] for name in VARIANTS}
    best = max(scores, key=scores.get)
    champion = client.get_model_version_by_alias("churn", "champion")
    assert champion.tags["variant"] == best
    assert _metadata(result, "champion")["champion_version"] == str(champion.version)
    for name in set(VARIANTS) - {best}:
        assert (
            client.get_model_version_by_alias("churn", f"challenger-{name}").tags["variant"] == name
        )
    with pytest.raises(mlflow.exceptions.MlflowException):
        client.get_model_version_by_alias("churn", "previous")


def test_retraining_an_identical_snapshot_reuses_the_versions(first, second):
    """Same data, code and model spec (only a gate changed): every variant reuses its
    version, re-gated; nothing is registered and `previous` does not move."""
    client = first.activate()
    assert len(client.search_model_versions("name='churn'")) == len(VARIANTS)
    for name in VARIANTS:
        again, before = _metadata(second, name), _metadata(first.result, name)
        assert again["reused"] is True and again["model_version"] == before["model_version"]
        assert again["fingerprint"] == before["fingerprint"]
        assert again["roc_auc"] == pytest.approx(before["roc_auc"], abs=1e-12)
    with pytest.raises(mlflow.exceptions.MlflowException):
        client.get_model_version_by_alias("churn", "previous")


def test_no_variant_passing_keeps_the_champion_and_says_why(first, second):
    client = first.activate()
    champion_before = _metadata(first.result, "champion")["champion_version"]
    assert _metadata(second, "snapshot")["reused"] is True
    baseline = _metadata(second, "baseline")
    assert baseline["baseline"] == "champion"
    assert baseline["champion_version"] == champion_before
    checks = _checks(second)
    champion_variant = client.get_model_version("churn", champion_before).tags["variant"]
    for name in VARIANTS:
        assert checks[("champion", latency_check(name))] is False
        # same snapshot and seed: the champion's variant scores exactly the champion's metric
        beats = _metadata(second, name)["roc_auc"] >= baseline["roc_auc"]
        assert checks[(name, GATE_CHECKS["accuracy"])] is beats
        assert beats is (name == champion_variant)
    assert checks[("champion", PROMOTED_CHECK)] is False
    decision = _metadata(second, "champion")
    assert decision["promoted"] is False
    assert decision["decision"].startswith("no variant passed all gates")
    assert "latency: CPU p95" in decision["decision"]
    assert str(client.get_model_version_by_alias("churn", "champion").version) == champion_before
    for name in set(VARIANTS) - {champion_variant}:
        challenger = client.get_model_version_by_alias("churn", f"challenger-{name}")
        assert str(challenger.version) == _metadata(second, name)["model_version"]
        assert challenger.tags["gate.latency"] == "failed"
    with pytest.raises(mlflow.exceptions.MlflowException):
        client.get_model_version_by_alias("churn", f"challenger-{champion_variant}")


def _with_variants(spec: ProductSpec, names: tuple[str, ...], **params) -> ProductSpec:
    """The spec with only the named variants, their parameters updated by `params`."""
    variants = {
        name: v.model_copy(update={"params": v.params | params})
        for name, v in spec.model.variants.items()
        if name in names
    }
    return spec.model_copy(update={"model": spec.model.model_copy(update={"variants": variants})})


def test_promotion_moves_the_old_champion_to_previous(world, tmp_path):
    """A variant with other hyper-parameters is a new version; promoting it moves the old
    champion to `previous`. Promoting the champion itself changes nothing."""
    spec = _with_variants(ml_spec(world[1], **CHURN_LENIENT), ("random_forest",))
    with _store(world, tmp_path) as store:
        trained = store.materialize(spec)
        assert trained.success
        tracking = store.tracking
        client = tracking.activate()
        old = str(client.get_model_version_by_alias("churn", "champion").version)
        unchanged = promotion.promote(spec, [Candidate("x", old, 0.99)], tracking)
        assert not unchanged.changed and unchanged.previous_version is None
        assert "champion already" in unchanged.decision.reason
        spec = _with_variants(spec, ("random_forest",), random_state=7)
        third = store.materialize(
            spec,
            selection=[
                ml_key(spec, name) for name in ("snapshot", "baseline", *spec.model.variants)
            ],
        )
        assert third.success
    new = _metadata(third, "random_forest")["model_version"]
    assert new != old and _metadata(trained, "random_forest")["model_version"] == old
    candidate = Candidate("random_forest", new, _metadata(third, "random_forest")["roc_auc"])
    promoted = promotion.promote(spec, [candidate], tracking)
    assert promoted.changed and promoted.previous_version == old
    assert str(client.get_model_version_by_alias("churn", "previous").version) == old
    champion = client.get_model_version_by_alias("churn", "champion")
    assert str(champion.version) == promoted.champion_version == new
    with pytest.raises(mlflow.exceptions.MlflowException):
        client.get_model_version_by_alias("churn", "challenger-random_forest")


@pytest.mark.parametrize("variant", VARIANTS)
def test_retraining_from_the_recorded_data_version_and_seed_is_identical(world, first, variant):
    client, tracking = first.activate(), first.store.tracking
    version = _metadata(first.result, variant)["model_version"]
    run = client.get_run(client.get_model_version("churn", version).run_id)
    spec = ml_spec(world[1])
    spec = spec.model_copy(
        update={"model": spec.model.model_copy(update={"seed": int(run.data.tags["seed"])})}
    )
    snapshot = snapshot_path(tracking.snapshots(), spec, run.data.tags["data_version"])
    retrained, data = workflow.retrain(spec, variant, snapshot)
    logged = mlflow.sklearn.load_model(f"models:/churn/{version}")
    assert np.array_equal(
        retrained.predict_proba(data.x_holdout), logged.predict_proba(data.x_holdout)
    )


def test_no_raw_pii_in_snapshot_runs_or_metadata(world, first, second):
    client, spec = first.activate(), world[1]
    pii = {c for source in spec.sources.values() for c in source.pii_columns}
    assert not pii & set(snapshot_columns(spec))
    texts = []
    for run in client.search_runs([client.get_experiment_by_name("churn").experiment_id]):
        texts += [*run.data.params.values(), *run.data.tags.values()]
        texts += list(run.data.params) + list(run.data.tags) + list(run.data.metrics)
    for result in (first.result, second):
        for event in result.get_asset_materialization_events():
            materialization = event.step_materialization_data.materialization
            texts += [json.dumps(v.value, default=str) for v in materialization.metadata.values()]
    for path in Path(first.store.tracking.artifact_root).rglob("*"):
        if path.suffix in {".json", ".csv", ".txt", ".yaml"} or path.name == "MLmodel":
            texts.append(path.read_text(encoding="utf-8", errors="ignore"))
    assert texts
    for text in texts:
        assert not EMAIL.search(text), text[:200]
        assert not any(column in text for column in ("full_name", "date_of_birth")), text[:200]


def test_too_few_labelled_days_skip_the_ml_zone(world, tmp_path):
    spec = ml_spec(world[1])
    spec = spec.model_copy(update={"model": spec.model.model_copy(update={"holdout_days": 40})})
    with _store(world, tmp_path) as store:
        result = store.materialize(spec)
    assert result.success
    assert not result.get_asset_materialization_events()
    skipped = {e.step_key for e in result.all_events if e.event_type_value == "STEP_SKIPPED"}
    assert "churn__ml__baseline" in skipped and "churn__ml__champion" in skipped
    assert not (tmp_path / "data" / "mlflow").exists()


def test_a_bad_hyper_parameter_fails_its_variant_naming_the_spec(world, tmp_path):
    spec = ml_spec(world[1])
    variants = dict(spec.model.variants)
    variants["random_forest"] = variants["random_forest"].model_copy(
        update={"params": {"n_trees": 3}}
    )
    spec = spec.model_copy(update={"model": spec.model.model_copy(update={"variants": variants})})
    with _store(world, tmp_path) as store:
        result = store.materialize(
            spec, selection=[ml_key(spec, n) for n in ("snapshot", "baseline", "random_forest")]
        )
    assert not result.success
    failed = {e.step_key: e for e in result.get_step_failure_events()}
    assert set(failed) == {"churn__ml__random_forest"}
    failure = failed["churn__ml__random_forest"].event_specific_data.error.message
    assert "product.yaml: model.variants.random_forest.params: unknown parameter(s)" in failure
    assert "['n_trees']" in failure


@dataclasses.dataclass(frozen=True)
class OnTwoVersions:
    """A champion trained on gold v1, then a variant trained on gold v2, in one store."""

    on_v1: dg.ExecuteInProcessResult
    on_v2: dg.ExecuteInProcessResult
    store: Store

    def activate(self):
        return self.store.tracking.activate()


@pytest.fixture(scope="module")
def two_versions(world, tmp_path_factory) -> OnTwoVersions:
    spec = _with_variants(ml_spec(world[1], **CHURN_LENIENT), ("logistic_regression",))
    on_v2 = spec.model_copy(
        update={"model": spec.model.model_copy(update={"table": "customer_features_v2"})}
    )
    with _store(world, tmp_path_factory.mktemp("two_versions")) as store:
        first_result = store.materialize(spec)
        second_result = store.materialize(on_v2)
        assert first_result.success and second_result.success
        yield OnTwoVersions(first_result, second_result, store)


def test_a_model_trained_on_a_gold_version_records_it(two_versions):
    """model.table picks the gold version; every run says which one, so the MLflow UI can
    compare models across versions of the data product (filter or group by the tags)."""
    client = two_versions.activate()
    snapshot = _metadata(two_versions.on_v2, "snapshot")
    assert Path(snapshot["path"]).name.startswith("customer_features_v2-")
    experiment = client.get_experiment_by_name("churn").experiment_id
    on_v2 = client.search_runs([experiment], "tags.gold_version = 'customer_features_v2'")
    assert {r.data.tags["role"] for r in on_v2} == {"baseline", "variant"}
    for run in on_v2:
        assert run.data.tags["gold_product"] == "customer_features"
        assert run.data.tags["gold_table"] == "churn_gold.customer_features_v2"
        assert run.data.tags["data_version"] == snapshot["data_version"]
        assert run.data.params["table"] == "churn_gold.customer_features_v2"
    on_v1 = client.search_runs([experiment], "tags.gold_version = 'customer_features'")
    assert {r.data.tags["role"] for r in on_v1} == {"baseline", "variant"}
    assert all(r.data.tags["gold_product"] == "customer_features" for r in on_v1)


def test_snapshots_in_use_are_kept_and_the_rest_pruned(world, two_versions, tmp_path):
    """Both snapshots are ones an aliased model version was trained on (the champion on one,
    `previous` or a challenger on the other); an older one no alias uses goes."""
    spec = world[1]
    used = aliased_data_versions(two_versions.activate(), spec)
    on = {
        table: _metadata(result, "snapshot")["data_version"]
        for table, result in (
            ("customer_features", two_versions.on_v1),
            ("customer_features_v2", two_versions.on_v2),
        )
    }
    promoted = _metadata(two_versions.on_v2, "champion")["promoted"]
    champion_on = "customer_features_v2" if promoted else "customer_features"
    for table, data_version in on.items():
        labels = used[(table, data_version)]
        assert any(label.endswith(" champion") for label in labels) is (table == champion_on)
    root = tmp_path / "snapshots"
    shutil.copytree(two_versions.store.tracking.snapshots(), root)
    current = snapshot_path(root, ml_spec(spec), on["customer_features"])
    stale = current.with_name("customer_features-00000000deadbeef.parquet")
    shutil.copyfile(current, stale)
    os.utime(stale, (1_600_000_000, 1_600_000_000))
    files = snapshot_files(root, spec)
    kept, removable = plan_retention(files, used, keep_latest=0)
    assert {f.table for f in kept} == {"customer_features", "customer_features_v2"}
    assert all(f.used_by for f in kept)
    assert [f.path for f in removable] == [stale]
    _, newest_kept = plan_retention(files, used, keep_latest=3)
    assert newest_kept == []


def _card_tables(markdown: str) -> dict[str, list[list[str]]]:
    """Section heading -> the rows of its Markdown table (header and rule left out)."""
    tables: dict[str, list[list[str]]] = {}
    heading = ""
    for line in markdown.splitlines():
        if line.startswith("## "):
            heading = line[3:]
        elif line.startswith("| ") and not line.startswith("|---"):
            tables.setdefault(heading, []).append([c.strip() for c in line.strip("|").split("|")])
    return {k: rows[1:] for k, rows in tables.items()}


def test_every_model_card_states_what_the_run_logged(first, tmp_path):
    """A reviewer with only the card can check it: every number on it is a logged metric or
    param of the version's run, to the card's four decimals."""
    client = first.activate()
    for version in client.search_model_versions("name='churn'"):
        run = client.get_run(version.run_id)
        metrics, params = run.data.metrics, run.data.params
        folder = mlflow.artifacts.download_artifacts(
            run_id=version.run_id, artifact_path="model_card", dst_path=str(tmp_path)
        )
        markdown = (Path(folder) / "model_card.md").read_text(encoding="utf-8")
        assert (Path(folder) / "model_card.html").read_text(encoding="utf-8").count("<table>") >= 4
        tables = _card_tables(markdown)
        rows = tables["Holdout metrics"]
        assert {r[0].strip("`") for r in rows} == set(CLASSIFICATION_METRICS)
        for name, value, interval in rows:
            name = name.strip("`")
            assert float(value) == pytest.approx(metrics[name], abs=5e-5)
            low, high = (float(x) for x in interval.split(" – "))
            assert low == pytest.approx(metrics[f"ci95/{name}/low"], abs=5e-5)
            assert high == pytest.approx(metrics[f"ci95/{name}/high"], abs=5e-5)
            assert low <= metrics[name] + 1e-9 or name == "log_loss"
        groups = tables["Per group (holdout)"]
        assert {r[0] for r in groups} == {"gender", "age_band"}
        columns = ["rows", "positives", *CLASSIFICATION_METRICS]
        for attribute, group, *values in groups:
            for column, value in zip(columns, values, strict=True):
                logged = metrics[f"group/{attribute}/{group}/{column}"]
                assert float(value) == pytest.approx(logged, abs=5e-5), (attribute, group, column)
        threshold = float(params["decision_threshold"])
        assert f"**{threshold:.4f}**, rule `{params['threshold_rule']}`" in markdown
        verdicts = {r[0]: r[1] for r in tables["Gates"]}
        assert {"accuracy", "bias"} <= set(verdicts), "written when the variant is trained"
        assert verdicts == {
            g: ("passed" if version.tags[f"gate.{g}"] == "passed" else "FAILED") for g in verdicts
        }
        assert f"`{run.data.tags['data_version']}`" in markdown
        assert params["holdout_start"] in markdown and params["train_end"] in markdown
