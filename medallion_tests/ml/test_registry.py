"""MLflow bookkeeping that needs no server: skops trust lists, hashes, versions, aliases."""

from __future__ import annotations

import re

import pytest
import skops.io as sio

from medallion.ml.registry import (
    challenger_alias,
    code_version,
    pip_requirements,
    spec_hash,
)
from medallion.ml.training import (
    ESTIMATOR_TABLE,
    build_pipeline,
    feature_kinds,
    time_split,
    to_features,
    to_target,
    trusted_types,
)
from medallion.spec import ESTIMATORS


@pytest.mark.parametrize(
    ("task", "variant"),
    [("classification", v) for v in ("lr", "rf", "hgb")]
    + [("regression", v) for v in ("ridge", "rf", "hgb")],
)
def test_trusted_types_cover_what_skops_refuses_for_each_estimator(
    frame, model_spec, regression_spec, task, variant
):
    model_spec = regression_spec if task == "regression" else model_spec
    split = time_split(frame, model_spec)
    numeric, categorical = feature_kinds(frame, model_spec)
    declared = model_spec.variants[variant]
    pipeline = build_pipeline(declared, numeric, categorical, seed=1).fit(
        to_features(split.train, model_spec.features, categorical),
        to_target(split.train, model_spec),
    )
    untrusted = set(sio.get_untrusted_types(data=sio.dumps(pipeline)))
    assert untrusted <= set(trusted_types(declared.estimator)), untrusted
    assert set(ESTIMATOR_TABLE) == set(ESTIMATORS)


def test_spec_hash_follows_the_spec(spec, model_spec):
    product = spec.model_copy(update={"model": model_spec})
    assert spec_hash(product) == spec_hash(product)
    changed = product.model_copy(update={"model": model_spec.model_copy(update={"seed": 7})})
    assert spec_hash(changed) != spec_hash(product)
    assert re.fullmatch(r"[0-9a-f]{16}", spec_hash(product))


def test_code_version_and_requirements():
    assert re.fullmatch(r"git:[0-9a-f]{12}|medallion==.+", code_version())
    pinned = pip_requirements()
    assert any(r.startswith("scikit-learn==") for r in pinned)
    assert any(r.startswith("mlflow==") for r in pinned)


def test_the_commit_is_mlflows_source_commit_of_this_checkout():
    import subprocess
    from pathlib import Path

    import medallion
    from medallion.ml.registry import git_commit, git_tags

    source = Path(medallion.__file__).parent
    head = subprocess.run(
        ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    if head.returncode != 0:
        pytest.skip("not a git checkout")
    assert git_commit() == head.stdout.strip()
    assert git_tags() == {"mlflow.source.git.commit": head.stdout.strip()}
    assert code_version() == f"git:{head.stdout.strip()[:12]}"


def test_challenger_alias_is_a_valid_mlflow_alias():
    assert challenger_alias("hist_gradient_boosting") == "challenger-hist_gradient_boosting"
    assert re.fullmatch(r"[\w\-]+", challenger_alias("rf_2"))
