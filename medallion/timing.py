"""Timing the phases of a step (training, evaluation) into one dict of seconds."""

import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def timed(phases: dict[str, float], name: str) -> Iterator[None]:
    """Record the seconds a block takes under `name`, even when it raises."""
    started = time.perf_counter()
    try:
        yield
    finally:
        phases[name] = time.perf_counter() - started
