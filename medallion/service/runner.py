"""A `medallion serve` child process on a free loopback port, for the budget check and the
benchmark: started, waited for, and stopped by its process id."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_service(
    products: list[str], env: dict[str, str], *args: str, timeout_s: float = 180.0
) -> Iterator[tuple[str, dict]]:
    """Yields (base URL, /health answer) of a service started for `products`."""
    port = free_port()
    command = [sys.executable, "-m", "medallion.cli", "serve", "--port", str(port), *args]
    for product in products:
        command += ["--product", product]
    process = subprocess.Popen(command, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        yield url, _wait_for_health(process, url, timeout_s)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_for_health(process: subprocess.Popen, url: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
                return json.loads(response.read())
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"medallion serve exited with {process.returncode}") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url}/health did not answer in {timeout_s:.0f} s") from None
            time.sleep(0.3)
