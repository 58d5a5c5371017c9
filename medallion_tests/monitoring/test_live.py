"""Live comparison: requests scored by the service (champion and two shadow challengers) are
joined with labels as they arrive in gold; per version and window the primary metric, group
metrics and counts; a challenger beats the champion only beyond the noise."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from datetime import date

import dagster as dg
import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from medallion.assets.live import LIVE_CHECK, build_live_asset
from medallion.build import build_resources
from medallion.monitoring.live import compare, labelled_predictions, window_rows
from medallion.service.predictions import SCHEMA, predictions_root, read_log
from medallion_tests.service.world import make_world, start_service, stop_service, write_gold
from medallion_tests.worlds import memory_instance


def _score_all(url: str, keys: list[int], days: list[str]) -> int:
    """Score every (key, day) over one kept-alive connection; returns the count."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    done = 0
    for day in days:
        for key in keys:
            body = json.dumps({"key": key, "as_of": day})
            connection.request(
                "POST", "/products/shop/score", body, {"Content-Type": "application/json"}
            )
            response = connection.getresponse()
            assert response.status == 200, response.read()
            response.read()
            done += 1
    connection.close()
    return done


def _materialize(world) -> dg.ExecuteInProcessResult:
    with memory_instance() as instance:
        return dg.materialize(
            [build_live_asset(world.spec)],
            resources={"warehouse": build_resources(world.settings)["warehouse"]},
            instance=instance,
        )


@pytest.mark.slow
def test_live_comparison_of_champion_and_shadow_challengers_as_labels_arrive(tmp_path):
    world = make_world(tmp_path)
    unlabelled = world.frame.with_columns(pl.lit(None, pl.Int64).alias("label"))
    write_gold(world.settings, world.spec, "features", unlabelled)
    days = [f"2026-01-{d:02d}" for d in range(11, 21)]
    process, url = start_service(world.home)
    try:
        requests = _score_all(url, list(range(40)), days)
    finally:
        stop_service(process)  # flushes the log, waits for the shadow
    log = read_log(predictions_root(world.settings.warehouse), "shop").collect()
    assert log.height == 3 * requests and log["request_id"].n_unique() == requests

    before = _materialize(world)
    evaluation = before.get_asset_check_evaluations()[0]
    assert evaluation.check_name == LIVE_CHECK and evaluation.passed
    assert "no live labelled predictions" in evaluation.description

    write_gold(world.settings, world.spec, "features", world.frame)  # the labels arrive
    after = _materialize(world)
    evaluation = after.get_asset_check_evaluations()[0]
    compared = evaluation.metadata["comparisons"].value
    assert sorted(c["alias"] for c in compared) == ["challenger-hgb", "challenger-rf"]
    assert all(c["rows"] == requests for c in compared)
    for c in compared:
        better = c["challenger"] - c["champion"] > c["margin"]
        assert c["beats"] == better and evaluation.passed == (not any(x["beats"] for x in compared))

    import duckdb

    with duckdb.connect(str(world.settings.warehouse), read_only=True) as con:
        windows = con.sql("SELECT * FROM shop_monitoring.live_comparison").pl()
    assert (
        windows.group_by("model_version").agg(pl.col("predictions").sum())["predictions"].to_list()
        == [requests] * 3
    )
    champion = log.filter(pl.col("alias") == "champion")
    joined = champion.join(
        world.frame.with_columns(pl.col("id").cast(pl.String), pl.col("day").cast(pl.String)),
        left_on=["entity_key", "as_of"],
        right_on=["id", "day"],
    ).with_columns(pl.col("as_of").str.to_date())
    first = joined.filter(pl.col("as_of").is_between(date(2026, 1, 8), date(2026, 1, 14)))
    row = windows.filter(
        (pl.col("alias") == "champion") & (pl.col("window_start") == date(2026, 1, 8))
    )
    assert row["labelled"][0] == first.height == 4 * 40
    assert np.isclose(row["value"][0], roc_auc_score(first["label"], first["output"]))
    groups = json.loads(row["groups"][0])
    assert set(groups) == {"group=a", "group=b"}
    assert groups["group=a"]["rows"] + groups["group=b"]["rows"] == first.height


def _log(rows: list[tuple]) -> pl.LazyFrame:
    """A prediction log from (alias, version, key, day, output) tuples."""
    return pl.LazyFrame(
        [
            ("r", None, "shop", "shop", version, alias, "v", "shadow", key, day, "h", output, 1.0)
            for alias, version, key, day, output in rows
        ],
        schema=SCHEMA,
        orient="row",
    )


def test_a_challenger_beats_the_champion_only_beyond_the_noise(tmp_path):
    world = make_world(tmp_path, train=False)
    gold = world.frame
    labels = gold["label"].to_numpy()
    rng = np.random.default_rng(1)
    noisy = rng.random(labels.size)
    keys, days = gold["id"].cast(pl.String).to_list(), gold["day"].cast(pl.String).to_list()
    rows = [("champion", "1", k, d, float(s)) for k, d, s in zip(keys, days, noisy, strict=True)]
    perfect = [
        ("challenger-a", "2", k, d, float(y)) for k, d, y in zip(keys, days, labels, strict=True)
    ]
    nudged = [
        ("challenger-b", "3", k, d, float(s) + 1e-9)
        for k, d, s in zip(keys, days, noisy, strict=True)
    ]
    frame = labelled_predictions(_log(rows + perfect + nudged), gold, world.spec)
    found = {c.alias: c for c in compare(frame, world.spec)}
    assert found["challenger-a"].beats and found["challenger-a"].challenger_value == 1.0
    assert not found["challenger-b"].beats
    assert found["challenger-b"].margin >= world.spec.monitoring.performance_warn_drop
    assert found["challenger-a"].rows == gold.height
    windows = window_rows(frame, world.spec)
    assert set(windows["alias"]) == {"champion", "challenger-a", "challenger-b"}
    assert (
        windows.group_by("alias").agg(pl.col("labelled").sum())["labelled"].to_list()
        == [gold.height] * 3
    )
