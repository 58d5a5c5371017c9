"""Serving the champion over HTTP, and timing it the way the latency gate times it in process.

`medallion serve` runs MLflow's scoring server (`mlflow models serve --env-manager local`) on
the registered model's `champion` alias, bound to loopback by default. A small keep-alive
HTTP client turns the server into a `predict` callable, so the same latency measurement
runs over HTTP as in process.
"""

from __future__ import annotations

import http.client
import json
import sys
import time
import urllib.parse
from collections.abc import Callable

import numpy as np
import pandas as pd

from medallion.resources.tracking import TrackingResource, mlflow_process_env

THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def model_uri(registered_model: str, alias: str = "champion") -> str:
    return f"models:/{registered_model}@{alias}"


def serve_command(uri: str, host: str, port: int, workers: int = 1) -> list[str]:
    """MLflow's scoring server for a model URI, in this environment (no new virtualenv)."""
    return [
        sys.executable,
        "-m",
        "mlflow",
        "models",
        "serve",
        "-m",
        uri,
        "--env-manager",
        "local",
        "-h",
        host,
        "-p",
        str(port),
        "-w",
        str(workers),
    ]


def serving_env(base: dict[str, str], tracking: TrackingResource, threads: int) -> dict[str, str]:
    """The server's environment: our tracking store, no telemetry, no access log line per
    request, and `threads` BLAS/OpenMP threads (as in the latency gate)."""
    env = mlflow_process_env(base) | {
        "MLFLOW_TRACKING_URI": tracking.tracking_uri,
        "UVICORN_ACCESS_LOG": "false",
    }
    env |= dict.fromkeys(THREAD_ENV, str(threads))
    return env


def wait_until_ready(url: str, timeout_s: float = 60.0) -> float:
    """Poll the server's /ping until it answers 200; returns the seconds waited.

    Raises:
        TimeoutError: when it does not answer in time.
    """
    started = time.monotonic()
    parts = urllib.parse.urlsplit(url)
    while True:
        try:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
            connection.request("GET", "/ping")
            if connection.getresponse().status == 200:
                return time.monotonic() - started
        except OSError:
            pass
        finally:
            connection.close()
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"no answer from {url}/ping within {timeout_s:.0f} s")
        time.sleep(0.25)


def http_predict(url: str, timeout_s: float = 30.0) -> Callable[[pd.DataFrame], np.ndarray]:
    """A `predict(frame)` that posts to the scoring server's /invocations over one kept-alive
    connection, as a client scoring row by row would."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_s)
    headers = {"Content-Type": "application/json"}

    def post(body: str) -> http.client.HTTPResponse:
        connection.request("POST", "/invocations", body=body, headers=headers)
        return connection.getresponse()

    def predict(frame: pd.DataFrame) -> np.ndarray:
        body = '{"dataframe_split": ' + frame.to_json(orient="split", index=False) + "}"
        try:
            response = post(body)
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            connection.close()  # the server closed an idle keep-alive connection: reconnect
            response = post(body)
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"scoring server answered {response.status}: {payload[:500]!r}")
        predictions = json.loads(payload)["predictions"]
        if predictions and isinstance(predictions[0], dict):  # a frame: score and decision
            return pd.DataFrame(predictions).to_numpy(dtype=np.float64)
        return np.asarray(predictions)

    return predict


def no_version_message(client, name: str, alias: str, product: str, store: str) -> str:
    """Why nothing can be served under `alias`: which gates failed for which versions (from
    the model version tags the gates wrote), and how to serve a challenger instead."""
    from mlflow.exceptions import MlflowException

    from medallion.ml.registry import CHALLENGER_PREFIX

    lines = [f"error: no version of model {name!r} has alias {alias!r} in {store}"]
    try:
        model = client.get_registered_model(name)
    except MlflowException:
        return "\n".join([*lines, f"nothing is registered yet: materialize {product}/ml/* first"])
    if model.tags.get("last_promotion"):
        lines.append(f"last promotion: {model.tags['last_promotion']}")
    for held, version in sorted(model.aliases.items()):
        tags = client.get_model_version(name, version).tags
        failed = [
            f"{key.removeprefix('gate.')}: {tags.get(key + '.reason', '')}"
            for key, value in sorted(tags.items())
            if key.startswith("gate.") and not key.endswith(".reason") and value == "failed"
        ]
        verdict = "; ".join(failed) or "passed every gate"
        lines.append(f"  v{version} ({held}, {tags.get('variant', '?')}): {verdict}")
    challengers = sorted(a for a in model.aliases if a.startswith(CHALLENGER_PREFIX))
    if challengers:
        lines.append(
            f"to serve a challenger anyway: medallion serve --product {product} "
            f"--alias {challengers[0]}"
        )
    else:
        lines.append(f"no version is aliased: materialize {product}/ml/* first")
    return "\n".join(lines)
