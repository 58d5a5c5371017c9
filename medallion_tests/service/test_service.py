"""`medallion serve` over HTTP: discovery, queries (JSON, Arrow, Parquet), validation,
scoring by the champion with two challengers in the shadow, the prediction log, the token."""

from __future__ import annotations

import io
import json
import subprocess
import time
import urllib.error
import urllib.request

import mlflow.sklearn
import numpy as np
import polars as pl
import pytest

from medallion.service.models import model_input, no_champion_reason
from medallion.service.predictions import predictions_root, read_log
from medallion.service.server import check_exposure
from medallion_tests.service.world import (
    BIN,
    make_world,
    service_env,
    start_service,
    stop_service,
)
from medallion_tests.worlds import memory_instance

ARROW = "application/vnd.apache.arrow.stream"


def _call(url: str, path: str, body: dict | None = None, headers: dict | None = None):
    """(status, headers, body bytes) of one request; HTTP errors are answers too."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _json(url: str, path: str, body: dict | None = None) -> tuple[int, object]:
    status, _, payload = _call(url, path, body)
    return status, json.loads(payload)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    world = make_world(tmp_path_factory.mktemp("served"))
    process, url = start_service(world.home)
    yield world, url
    stop_service(process)


@pytest.mark.slow
def test_discovery_lists_versions_schemas_and_freshness(served):
    world, url = served
    assert _json(url, "/health")[1]["champions"] == {"shop": True}
    status, products = _json(url, "/products")
    assert status == 200 and [p["name"] for p in products] == ["shop"]
    tables = {t["table"]: t for t in products[0]["tables"]}
    assert (tables["features"]["version"], tables["features_v2"]["version"]) == ("v1", "v2")
    assert tables["features_v2"]["version_of"] == "features"
    assert tables["features_v2"]["published"] is False
    features = tables["features"]
    assert features["rows"] == world.frame.height and features["checks_passed"]["no_pii"]
    assert features["age_seconds"] >= 0 and features["time_column"] == "day"
    described = {c["name"]: c["description"] for c in features["columns"]}
    assert described["visits"] == "Visits on the day."
    assert described["plan"] == "The customer's plan."
    assert "email" not in described
    model = products[0]["model"]
    assert model["champion"]["version"] in world.versions.values()
    assert len(model["challengers"]) == 2
    status, openapi = _json(url, "/openapi.json")
    assert status == 200 and "/products/{product}/score" in openapi["paths"]


@pytest.mark.slow
def test_queries_by_key_time_range_columns_and_pages_in_json_arrow_and_parquet(served):
    world, url = served
    expected = world.frame.filter(pl.col("id") == 7).sort("day")
    status, answer = _json(url, "/products/shop/tables/features/rows/7")
    assert status == 200 and answer["total"] == expected.height
    assert [r["visits"] for r in answer["rows"]] == expected["visits"].to_list()
    query = "/products/shop/tables/features/rows?from=2026-01-10&to=2026-01-12&columns=id,day"
    pages, offset = [], 0
    while offset is not None:
        _, page = _json(url, f"{query}&limit=50&offset={offset}")
        pages += page["rows"]
        offset = page["next_offset"]
    window = world.frame.filter(
        pl.col("day").is_between(pl.date(2026, 1, 10), pl.date(2026, 1, 11))
    )
    assert len(pages) == window.height and set(pages[0]) == {"id", "day"}
    assert len({(r["id"], r["day"]) for r in pages}) == window.height
    status, headers, payload = _call(url, f"{query}&limit=1000", headers={"Accept": ARROW})
    assert status == 200 and headers["content-type"] == ARROW
    arrow = pl.read_ipc_stream(io.BytesIO(payload))
    assert arrow.height == window.height and arrow.schema["day"] == pl.Date
    status, headers, payload = _call(url, "/products/shop/tables/features/download")
    assert status == 200
    downloaded = pl.read_parquet(io.BytesIO(payload))
    assert downloaded.sort(["id", "day"]).equals(world.frame.sort(["id", "day"]))
    assert headers["x-medallion-data-version"] == answer["data_version"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/products/nope/tables/features/rows", 404, "unknown product 'nope'"),
        ("/products/shop/tables/nope/rows", 404, "no gold table 'nope'"),
        ("/products/shop/tables/features_v2/rows", 404, "no published version"),
        ("/products/shop/tables/features/rows?key=1;DROP", 400, "key='1;DROP' is not a valid"),
        ("/products/shop/tables/features/rows?from=yesterday", 400, "from='yesterday'"),
        (
            "/products/shop/tables/features/rows?columns=id,email",
            400,
            "unknown column(s) ['email']",
        ),
        ("/products/shop/tables/features/rows?limit=100000", 400, "limit must be between 1"),
        ("/products/shop/tables/features/rows?limit=x", 422, "limit"),
    ],
)
def test_bad_requests_get_a_4xx_naming_the_problem(served, path, status, words):
    _, url = served
    answered, _, payload = _call(url, path)
    assert answered == status
    assert words in payload.decode()


@pytest.mark.slow
def test_the_champion_answers_and_both_challengers_are_logged_in_the_shadow(served):
    world, url = served
    status, answer = _json(url, "/products/shop/score", {"key": 7})
    assert status == 200 and answer["model"]["alias"] == "champion"
    assert (
        sorted(answer["shadow"]) == ["challenger-hgb", "challenger-rf"]
        or len(answer["shadow"]) == 2
    )
    last = world.frame.filter(pl.col("id") == 7).sort("day").tail(1)
    champion = mlflow.sklearn.load_model(f"models:/shop/{answer['model']['version']}")
    expected = champion.predict_proba(model_input(last, ["amount", "visits", "plan"], {"plan"}))
    prediction = answer["predictions"][0]
    assert prediction["as_of"] == "2026-01-20" and prediction["key"] == "7"
    assert np.isclose(prediction["output"], expected[0, 1])
    row = {"amount": 40.0, "visits": 3, "plan": "pro"}
    status, by_rows = _json(url, "/products/shop/score", {"rows": [row, row]})
    assert status == 200 and len(by_rows["predictions"]) == 2
    assert _json(url, "/products/shop/score", {"rows": [{"visits": 3}]})[0] == 400
    assert _json(url, "/products/shop/score", {"key": 7, "rows": [row]})[0] == 400
    log = _wait_for_log(world, {answer["request_id"]: 3, by_rows["request_id"]: 6})
    mine = log.filter(pl.col("request_id") == answer["request_id"])
    assert sorted(mine["role"].to_list()) == ["answer", "shadow", "shadow"]
    assert mine["entity_key"].to_list() == ["7"] * 3 and mine["input_hash"].n_unique() == 1
    assert set(log.columns).isdisjoint({"amount", "visits", "plan", "email"})


def _wait_for_log(world, expected: dict[str, int], timeout_s: float = 60) -> pl.DataFrame:
    """The logged predictions once every request has its expected count of records."""
    root = predictions_root(world.settings.warehouse)
    deadline = time.monotonic() + timeout_s
    while True:
        log = read_log(root, "shop").collect()
        counts = dict(log.group_by("request_id").len().iter_rows())
        if all(counts.get(r, 0) == n for r, n in expected.items()):
            return log
        assert time.monotonic() < deadline, f"log has {counts}, expected {expected}"
        time.sleep(0.5)


@pytest.mark.slow
def test_without_a_champion_gold_is_served_and_scoring_says_why(tmp_path):
    world = make_world(tmp_path, train=False)
    process, url = start_service(world.home)
    try:
        assert _json(url, "/products/shop/tables/features/rows/3")[0] == 200
        status, answer = _json(url, "/products/shop/score", {"key": 3})
        assert status == 503 and "materialize shop/ml/* first" in answer["error"]
    finally:
        stop_service(process)


def test_the_reason_names_failed_gates_per_version(tmp_path):
    from mlflow import MlflowClient

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=store, registry_uri=store)
    assert "no model version of 'shop'" in no_champion_reason(client, "shop")
    client.create_registered_model("shop")
    version = client.create_model_version("shop", source=str(tmp_path), tags={"variant": "rf"})
    for key, value in {
        "gate.latency_gate": "failed",
        "gate.latency_gate.reason": "p95 31.0 ms > 10 ms",
        "gate.bias_gate": "passed",
    }.items():
        client.set_model_version_tag("shop", version.version, key, value)
    reason = no_champion_reason(client, "shop")
    assert reason == "no champion for shop: v1 (rf) failed latency_gate (p95 31.0 ms > 10 ms)"


@pytest.mark.slow
def test_a_token_is_required_on_every_request_when_set(tmp_path):
    world = make_world(tmp_path, train=False)
    env = service_env(world.home, MEDALLION_SERVICE_TOKEN="s3cret-token")
    process, url = start_service(world.home, env=env)
    try:
        assert _call(url, "/health")[0] == 401
        assert _call(url, "/products", headers={"Authorization": "Bearer wrong"})[0] == 401
        good = {"Authorization": "Bearer s3cret-token"}
        assert _call(url, "/products/shop/tables/features/rows/3", headers=good)[0] == 200
    finally:
        stop_service(process)


def test_listening_beyond_loopback_needs_a_token_and_says_so():
    with pytest.raises(SystemExit, match="needs a token: set MEDALLION_SERVICE_TOKEN"):
        check_exposure("0.0.0.0", {})
    assert "token required on every request" in check_exposure(
        "0.0.0.0", {"MEDALLION_SERVICE_TOKEN": "x"}
    )
    assert "loopback" in check_exposure("127.0.0.1", {})


@pytest.mark.slow
def test_serve_refuses_a_public_address_without_a_token(tmp_path):
    world = make_world(tmp_path, train=False)
    done = subprocess.run(
        [str(BIN / "medallion"), "serve", "--host", "0.0.0.0", "--port", "9"],
        env=service_env(world.home),
        cwd=world.home,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "needs a token" in done.stderr


@pytest.mark.slow
def test_the_budget_check_measures_the_service_against_the_spec(served):
    """On the served world (a service of its own beside the running one: each process logs
    its predictions in segments of its own)."""
    import dagster as dg

    from medallion.assets.service import build_responsiveness_asset
    from medallion.build import build_resources
    from medallion.service.budget import SERVICE_BUDGET

    world, _ = served
    tight = {"lookup_p95_ms": 0.001, "load_requests": 60, "load_seconds": 3.0}
    spec = world.spec.model_copy(update={"service": world.spec.service.model_copy(update=tight)})
    resources = build_resources(world.settings)
    with memory_instance() as instance:
        result = dg.materialize(
            [build_responsiveness_asset(spec, "features")],
            resources={"warehouse": resources["warehouse"], "tracking": resources["tracking"]},
            instance=instance,
        )
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.check_name == SERVICE_BUDGET
    levels = evaluation.metadata["levels"].value
    assert [(lv["name"], lv["concurrency"]) for lv in levels] == [
        ("lookup", 1),
        ("lookup", 10),
        ("score", 1),
    ]
    assert all(lv["failed"] == 0 and 0 < lv["requests"] <= 60 for lv in levels)
    assert not evaluation.passed  # no lookup answers within a microsecond
    assert "lookup at 10 client(s): p95" in evaluation.description
