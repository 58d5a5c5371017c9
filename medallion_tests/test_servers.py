"""Servers: the Dagster webserver serves the asset graph over GraphQL on loopback, and server
groups stop together. That `medallion ui` stops with all its children on SIGTERM is
asserted by every test that starts it (ui_servers.assert_stopped_cleanly)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
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
