"""Run a server as a supervised child: loopback by default, stopped cleanly with its children.

`dagster dev` started from a non-interactive shell inherits an ignored SIGINT and then
ignores SIGINT and SIGTERM. The child gets the default SIGINT handler back and its own
process group, and on Ctrl-C or SIGTERM the whole group is interrupted, then terminated,
then killed, each after a grace period.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

LOOPBACK = "127.0.0.1"


def warn_if_exposed(host: str, what: str) -> None:
    """Binding beyond loopback must be explicit; say that the server has no authentication."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        print(
            f"WARNING: {what} will listen on {host}, reachable from other machines. "
            "It has no authentication; put it behind an authenticating proxy.",
            file=sys.stderr,
        )


def _child_setup() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def start_group(
    command: Sequence[str], env: dict[str, str] | None = None, cwd: str | None = None
) -> subprocess.Popen:
    """Start a command in its own process group with default signal handlers."""
    return subprocess.Popen(
        list(command), env=env, cwd=cwd, start_new_session=True, preexec_fn=_child_setup
    )


def stop_group(process: subprocess.Popen, grace_s: float = 15.0) -> int:
    """Interrupt, then terminate, then kill a process group; returns the exit code."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=grace_s)
            break
        except subprocess.TimeoutExpired:
            continue
    _reap_group(process.pid)
    return process.wait()


def _reap_group(pgid: int) -> None:
    """Kill anything left in the group after its leader exited (orphaned grandchildren)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def supervise(processes: list[subprocess.Popen]) -> int:
    """Wait until a child exits or we get SIGINT/SIGTERM, then stop every child group."""
    stopping = False

    def _stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stopping and all(p.poll() is None for p in processes):
            time.sleep(0.2)
    finally:
        codes = [stop_group(p) for p in processes]
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if stopping else max(codes)
