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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class UiStop:
    """How `medallion ui` ended when stopped: its exit code, how many processes it had
    started (Dagster's webserver, daemon and code server, the MLflow UI), and which of them
    were still alive 20 s after it exited."""

    exit_code: int | None
    children: int
    survivors: list[int]


def stop_medallion_ui(process: subprocess.Popen) -> UiStop:
    """Stop `medallion ui` as Ctrl-C would (SIGTERM, its servers stop together), then make
    sure nothing of its process group is left; what was seen before that clean-up."""
    children = descendants(process.pid)
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=60)
        deadline = time.monotonic() + 20
        while any(alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.2)
    except subprocess.TimeoutExpired:
        code = None
    finally:
        survivors = sorted(pid for pid in children if alive(pid))
        stop_group(process)
    return UiStop(code, len(children), survivors)


def assert_stopped_cleanly(stop: UiStop, *ports: int) -> None:
    """`medallion ui` exited 0 on SIGTERM with every server it started, and its ports are
    closed."""
    assert stop.exit_code == 0, stop
    assert stop.children >= 2, stop  # at least dagster dev and its webserver
    assert not stop.survivors, f"children of medallion ui survived: {stop}"
    for port in ports:
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"


def descendants(pid: int) -> set[int]:
    """Every process below `pid` now (children, their children, ...)."""
    table = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in table.splitlines():
        child, parent = map(int, line.split())
        children.setdefault(parent, []).append(child)
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for its parent)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))
