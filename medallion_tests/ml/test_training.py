"""Time-based split, estimator factory and the Pipeline, on a tiny frame."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from medallion.ml.metrics import classification_metrics
from medallion.ml.training import (
    build_pipeline,
    feature_kinds,
    make_estimator,
    predict_scores,
    time_split,
    to_features,
    to_target,
)
from medallion.spec import VariantSpec


def test_split_holds_out_the_last_labelled_days_and_drops_unlabelled(frame, model_spec):
    split = time_split(frame, model_spec)
    assert split.holdout_end == date(2026, 1, 8)
    assert split.holdout_start == date(2026, 1, 6)
    assert split.train_end == date(2026, 1, 5)
    assert split.holdout["day"].unique().sort().to_list() == [
        date(2026, 1, 6),
        date(2026, 1, 7),
        date(2026, 1, 8),
    ]
    assert split.train["day"].max() == date(2026, 1, 5)
    assert split.train.height == 5 * 40 and split.holdout.height == 3 * 40
    assert split.unlabelled_rows == 2 * 40
    assert split.train["label"].null_count() == 0 and split.holdout["label"].null_count() == 0
    assert not split.sampled


def test_gap_days_leave_days_out_between_train_and_holdout(frame, model_spec):
    split = time_split(frame, model_spec.model_copy(update={"gap_days": 2}))
    assert split.train_end == date(2026, 1, 3)
    assert split.holdout_start == date(2026, 1, 6)


def test_split_is_lazy_friendly_and_sampling_is_seeded_bounded_and_ordered(frame, model_spec):
    capped = model_spec.model_copy(update={"max_train_rows": 100, "max_holdout_rows": 100})
    first = time_split(frame.lazy(), capped)
    again = time_split(frame, capped)
    assert first.train.height == 100 and first.holdout.height == 100
    assert first.train_rows_available == 200 and first.sampled
    assert first.train.equals(again.train) and first.holdout.equals(again.holdout)
    order = first.train.select("day", "id").rows()
    assert order == sorted(order)
    other_seed = time_split(frame, capped.model_copy(update={"seed": 7}))
    assert not other_seed.train.equals(first.train)


def test_split_errors_name_the_problem(frame, model_spec):
    with pytest.raises(ValueError, match="no labelled rows"):
        time_split(frame.with_columns(pl.lit(None).alias("label")), model_spec)
    with pytest.raises(ValueError, match="holdout_days=9"):
        time_split(frame, model_spec.model_copy(update={"holdout_days": 9}))


def test_features_keep_spec_order_and_types(frame, model_spec):
    numeric, categorical = feature_kinds(frame, model_spec)
    assert (numeric, categorical) == (["amount", "visits"], ["plan"])
    features = to_features(frame, model_spec.features, categorical)
    assert list(features.columns) == ["amount", "visits", "plan"]
    assert features["amount"].dtype == np.float64 and features["amount"].isna().any()
    assert set(features["plan"]) == {"basic", "plus", "pro"}
    with pytest.raises(ValueError, match="feature 'day' has type Date"):
        feature_kinds(frame, model_spec.model_copy(update={"features": ["day"]}))


def test_target_must_be_binary(frame, model_spec):
    labelled = frame.filter(pl.col("label").is_not_null())
    assert set(to_target(labelled, model_spec).tolist()) == {0, 1}
    with pytest.raises(ValueError, match="must be 0/1"):
        to_target(labelled.with_columns(pl.col("label") * 2), model_spec)


def test_regression_target_must_be_a_finite_number(frame, regression_spec):
    labelled = frame.filter(pl.col("hours").is_not_null())
    values = to_target(labelled, regression_spec)
    assert values.dtype == np.float64 and values.size == labelled.height
    broken = labelled.with_columns(
        pl.when(pl.col("id") == 3).then(float("inf")).otherwise(pl.col("hours")).alias("hours")
    )
    with pytest.raises(ValueError, match=r"target 'hours' must be a finite number, found 8 row"):
        to_target(broken, regression_spec)
    with pytest.raises(ValueError, match="must be numeric, got String"):
        to_target(labelled.with_columns(pl.col("plan").alias("hours")), regression_spec)


def test_estimator_is_seeded_and_unknown_params_are_refused():
    forest = make_estimator(VariantSpec(estimator="random_forest"), seed=42)
    assert forest.random_state == 42
    fixed = make_estimator(
        VariantSpec(estimator="random_forest", params={"random_state": 1}), seed=42
    )
    assert fixed.random_state == 1
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['n_trees'\] for random_forest"):
        make_estimator(VariantSpec(estimator="random_forest", params={"n_trees": 3}), seed=1)


@pytest.mark.parametrize("variant", ["lr", "rf", "hgb"])
def test_pipeline_takes_raw_columns_with_missing_and_unknown_values(frame, model_spec, variant):
    split = time_split(frame, model_spec)
    numeric, categorical = feature_kinds(frame, model_spec)
    x_train = to_features(split.train, model_spec.features, categorical)
    pipeline = build_pipeline(model_spec.variants[variant], numeric, categorical, seed=42)
    pipeline.fit(x_train, to_target(split.train, model_spec))
    x_new = to_features(split.holdout, model_spec.features, categorical)
    x_new.loc[0, "plan"] = "never-seen"
    x_new.loc[1, "amount"] = np.nan
    scores = predict_scores(pipeline, x_new)
    assert scores.shape == (len(x_new),) and np.all((scores >= 0) & (scores <= 1))


@pytest.mark.parametrize("variant", ["lr", "rf", "hgb"])
def test_same_data_and_seed_give_identical_predictions(frame, model_spec, variant):
    def fit_and_score():
        split = time_split(frame, model_spec)
        numeric, categorical = feature_kinds(frame, model_spec)
        pipeline = build_pipeline(model_spec.variants[variant], numeric, categorical, seed=42)
        pipeline.fit(
            to_features(split.train, model_spec.features, categorical),
            to_target(split.train, model_spec),
        )
        return predict_scores(
            pipeline, to_features(split.holdout, model_spec.features, categorical)
        )

    assert np.array_equal(fit_and_score(), fit_and_score())


@pytest.mark.parametrize("variant", ["ridge", "rf", "hgb"])
def test_regressors_predict_values_and_beat_the_mean(frame, regression_spec, variant):
    split = time_split(frame, regression_spec)
    numeric, categorical = feature_kinds(frame, regression_spec)
    pipeline = build_pipeline(regression_spec.variants[variant], numeric, categorical, seed=42)
    pipeline.fit(
        to_features(split.train, regression_spec.features, categorical),
        to_target(split.train, regression_spec),
    )
    x_holdout = to_features(split.holdout, regression_spec.features, categorical)
    x_holdout.loc[0, "plan"] = "never-seen"
    predicted = predict_scores(pipeline, x_holdout)
    truth = to_target(split.holdout, regression_spec)
    assert predicted.shape == truth.shape and predicted.dtype == np.float64
    model_error = np.mean(np.abs(predicted - truth))
    mean_error = np.mean(np.abs(truth.mean() - truth))
    assert model_error < 0.8 * mean_error, (model_error, mean_error)


def test_frame_to_array_codes_categories_and_keeps_missing_apart():
    import pandas as pd

    from medallion.ml.training import MISSING, FrameToArray

    train = pd.DataFrame({"x": [1.0, None, 3.0], "plan": ["pro", None, "basic"]})
    step = FrameToArray(["x"], ["plan"]).fit(train)
    assert step.categories_ == {"plan": sorted([MISSING, "basic", "pro"])}
    new = pd.DataFrame({"x": [2.0, 5.0, None], "plan": ["basic", "gold", None]})
    out = step.transform(new)
    codes = {label: code for code, label in enumerate(step.categories_["plan"])}
    assert out[:, 1].tolist() == [codes["basic"], -1, codes[MISSING]]
    assert np.isnan(out[2, 0]) and out[0, 0] == 2.0
    many = pd.concat([new] * 40, ignore_index=True)  # the vectorized path of a batch
    assert np.array_equal(step.transform(many)[:3], out, equal_nan=True)
    assert list(step.feature_names_in_) == ["x", "plan"]


def test_bootstrap_intervals_are_seeded_and_use_the_holdout_metrics():
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        log_loss,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    from medallion.ml.metrics import bootstrap_intervals

    rng = np.random.default_rng(1)
    y = (rng.random(300) < 0.3).astype(int)
    scores = np.round(np.clip(0.3 * y + rng.random(300) * 0.7, 0, 1), 2)  # with ties
    predicted = (scores >= 0.4).astype(int)
    assert classification_metrics(y, scores, 0.4) == pytest.approx(  # scikit-learn's definitions
        {
            "roc_auc": roc_auc_score(y, scores),
            "accuracy": accuracy_score(y, predicted),
            "f1": f1_score(y, predicted),
            "precision": precision_score(y, predicted),
            "recall": recall_score(y, predicted),
            "log_loss": log_loss(y, np.clip(scores, 1e-15, 1 - 1e-15), labels=[0, 1]),
        }
    )
    first = bootstrap_intervals("classification", y, scores, 0.4, resamples=50, seed=7)
    assert first == bootstrap_intervals("classification", y, scores, 0.4, resamples=50, seed=7)
    point = classification_metrics(y, scores, 0.4)
    for name, (low, high) in first.items():
        assert low <= point[name] <= high, name


def test_regression_bootstrap_uses_the_holdout_metrics():
    from sklearn.metrics import (
        mean_absolute_error,
        median_absolute_error,
        r2_score,
        root_mean_squared_error,
    )

    from medallion.ml.metrics import bootstrap_intervals, regression_metrics

    rng = np.random.default_rng(2)
    y = rng.normal(5.0, 3.0, 400)
    predictions = y + rng.normal(0.5, 1.0, 400)
    assert regression_metrics(y, predictions) == pytest.approx(  # scikit-learn's definitions
        {
            "rmse": root_mean_squared_error(y, predictions),
            "mae": mean_absolute_error(y, predictions),
            "r2": r2_score(y, predictions),
            "median_ae": median_absolute_error(y, predictions),
            "mean_error": float(np.mean(predictions - y)),
        }
    )
    constant = np.full(3, 2.0)
    assert np.isnan(regression_metrics(constant, constant + 1)["r2"])
    first = bootstrap_intervals("regression", y, predictions, None, resamples=50, seed=7)
    assert first == bootstrap_intervals("regression", y, predictions, None, resamples=50, seed=7)
    point = regression_metrics(y, predictions)
    assert set(first) == set(point)
    for name, (low, high) in first.items():
        assert low <= point[name] <= high, name
