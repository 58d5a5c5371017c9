"""Servers: the Dagster webserver serves the asset graph over GraphQL on loopback, and
`medallion ui` stops with all its children on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from medallion.servers import (
    group_exists,
    start_group,
    stop_group,
    stop_groups,
    warn_if_exposed,
)
from medallion_tests.ui_servers import free_port, graphql, home_env

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
ASSET_GRAPH = "{ assetNodes { assetKey { path } groupName dependencyKeys { path } } }"


def _descendants(pid: int) -> set[int]:
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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def test_warning_when_bound_beyond_loopback(capsys):
    warn_if_exposed("127.0.0.1", "x")
    warn_if_exposed("localhost", "x")
    assert capsys.readouterr().err == ""
    warn_if_exposed("0.0.0.0", "the Dagster UI")
    assert "no authentication" in capsys.readouterr().err


def test_groups_are_signalled_together_and_share_the_grace_period():
    """Two servers that ignore SIGINT: both get SIGTERM after one grace period, not one
    after the other's."""
    ignores_sigint = (
        "import signal, sys, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(60)"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", ignores_sigint], stdout=subprocess.PIPE, start_new_session=True
        )
        for _ in range(2)
    ]
    for process in processes:
        assert process.stdout.readline() == b"ready\n"
    started = time.monotonic()
    assert stop_groups(processes, grace_s=3.0) == [-signal.SIGTERM, -signal.SIGTERM]
    assert time.monotonic() - started < 5.5  # one after the other: 6 s at least
    assert not any(group_exists(p.pid) for p in processes)
    for process in processes:
        process.stdout.close()


@pytest.mark.slow
def test_webserver_serves_the_asset_graph(tmp_path):
    port = free_port()
    command = [
        str(BIN / "dagster-webserver"),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-m",
        "medallion.definitions",
    ]
    process = start_group(command, env=home_env(tmp_path), cwd=str(tmp_path))
    try:
        nodes = graphql(port, ASSET_GRAPH)["assetNodes"]
    finally:
        stop_group(process)
    by_key = {"/".join(n["assetKey"]["path"]): n for n in nodes}
    assert by_key["churn/bronze/customers"]["groupName"] == "churn_bronze"
    assert by_key["churn/silver/customers"]["groupName"] == "churn_silver"
    assert by_key["churn/gold/customer_features"]["groupName"] == "churn_gold"
    assert ["churn", "bronze", "usage_events"] in [
        d["path"] for d in by_key["churn/silver/usage_events"]["dependencyKeys"]
    ]
    gold_deps = {
        "/".join(d["path"]) for d in by_key["churn/gold/customer_features"]["dependencyKeys"]
    }
    assert gold_deps == {
        f"churn/silver/{s}"
        for s in ("customers", "subscriptions", "usage_events", "payments", "support_tickets")
    }
    assert not group_exists(process.pid)


@pytest.mark.slow
def test_medallion_ui_stops_with_all_children_on_sigterm(tmp_path):
    for name in ("workspace.yaml", "dagster.yaml"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    port = free_port()
    env = home_env(tmp_path)
    env.pop("DAGSTER_HOME")
    process = subprocess.Popen(
        [str(BIN / "medallion"), "ui", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        start_new_session=True,
    )
    try:
        assert graphql(port, "{ version }")["version"]
        children = _descendants(process.pid)
        assert len(children) >= 2  # dagster dev, its webserver and daemon
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in children if _alive(pid)], "children of medallion ui survived"
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/graphql", timeout=2)
        assert (tmp_path / "data" / "dagster" / "storage").is_dir()
    finally:
        if group_exists(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
