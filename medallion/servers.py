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
    return stop_groups([process], grace_s)[0]


def stop_groups(processes: Sequence[subprocess.Popen], grace_s: float = 15.0) -> list[int]:
    """Stop process groups together: interrupt them all, then terminate, then kill, until
    every leader has exited, each step after one grace period shared by all (stopping
    several servers takes as long as the slowest, not the sum); returns their exit codes."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        running = [p for p in processes if p.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
        deadline = time.monotonic() + grace_s
        for process in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
    _reap_groups([p.pid for p in processes])
    return [p.wait() for p in processes]


def _reap_groups(pgids: list[int]) -> None:
    """Kill anything left in the groups after their leaders exited (orphaned grandchildren)."""
    deadline = time.monotonic() + 5
    while pgids and time.monotonic() < deadline:
        pgids = [pgid for pgid in pgids if group_exists(pgid)]
        if pgids:
            time.sleep(0.1)
    for pgid in pgids:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)


def group_exists(pgid: int) -> bool:
    """Whether any process of the process group `pgid` is still running."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


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
        codes = stop_groups(processes)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if stopping else max(codes)
