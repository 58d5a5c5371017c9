"""Busy-looping processes that load the machine's cores, for the tests proving that a verdict
does not depend on machine load."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

HOG = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


@contextmanager
def cpu_hogs(count: int = 2, seconds: float = 240.0) -> Iterator[list[int]]:
    """`count` busy-looping processes, each ending by itself after `seconds`, killed by PID
    on the way out."""
    hogs = [
        subprocess.Popen([sys.executable, "-c", HOG.format(seconds=seconds)]) for _ in range(count)
    ]
    try:
        yield [hog.pid for hog in hogs]
    finally:
        for hog in hogs:
            hog.kill()
        for hog in hogs:
            hog.wait(timeout=30)
