"""Helpers of the tests that start servers: free loopback ports, the environment of a scratch
home, and waiting for a server to answer."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from medallion.servers import stop_group


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(port: int, query: str, timeout_s: float = 90) -> dict:
    """The data of a Dagster GraphQL query, retried until the webserver answers it."""
    deadline = time.monotonic() + timeout_s
    body = json.dumps({"query": query}).encode()
    while True:
        try:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/graphql",
                data=body,
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                payload = json.load(response)
            if "errors" not in payload:
                return payload["data"]
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"no GraphQL answer on port {port} within {timeout_s} s")
        time.sleep(0.2)


def wait_for_http(url: str, timeout_s: float = 90) -> None:
    """Return once `url` answers 200."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout_s} s")
        time.sleep(0.2)


def home_env(home: Path) -> dict[str, str]:
    """This process's environment without MEDALLION_* and DAGSTER_*, pointed at `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDALLION_", "DAGSTER_"))}
    (home / "dagster_home").mkdir(exist_ok=True)
    env.update(MEDALLION_HOME=str(home), DAGSTER_HOME=str(home / "dagster_home"))
    return env


def start_medallion_ui(
    home: Path, out: Path, extra_env: dict[str, str] | None = None, *, mlflow: bool = True
) -> tuple[subprocess.Popen, int, int]:
    """`medallion ui` (Dagster webserver and daemon, and the MLflow UI unless `mlflow` is
    False) on free ports in `home`, with the home's dagster.yaml, in a process group of its
    own, its output in `out`; the process and the Dagster and MLflow ports."""
    dagster_port, mlflow_port = free_port(), free_port() if mlflow else 0
    env = home_env(home) | (extra_env or {})
    env.pop("DAGSTER_HOME")  # dagster.yaml of the home, as `medallion ui` finds it
    command = [str(Path(sys.executable).parent / "medallion"), "ui"]
    command += ["--port", str(dagster_port), "--mlflow-port", str(mlflow_port)]
    with open(out, "wb") as log:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=home,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, dagster_port, mlflow_port


def stop_medallion_ui(process: subprocess.Popen) -> None:
    """Stop `medallion ui` as Ctrl-C would (SIGTERM, its servers stop together), then make
    sure nothing of its process group is left."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    finally:
        stop_group(process)
