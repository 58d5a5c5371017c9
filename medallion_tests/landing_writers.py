"""Landing files in flight, for the tests of files still being written (local and lake):
a writer that appends rows slowly, and a spec whose orders wait a given quiet period."""

from __future__ import annotations

import threading
import time
from pathlib import Path

HEADER = "order_id,customer_id,ordered_at,amount,coupon\n"


def quiet(spec, seconds: float):  # type: ignore[no-untyped-def]
    """The spec with its orders taken only after `seconds` without a change."""
    orders = spec.sources["orders"].model_copy(update={"quiet_seconds": seconds})
    return spec.model_copy(update={"sources": {**spec.sources, "orders": orders}})


def slow_writer(path: Path, rows: int, pause_s: float) -> threading.Thread:
    """A thread writing an orders file one row every `pause_s` seconds."""

    def run() -> None:
        with path.open("w") as handle:
            handle.write(HEADER)
            for i in range(rows):
                handle.write(f"{i},10,2026-01-01 10:00:00,1.00,\n")
                handle.flush()
                time.sleep(pause_s)

    thread = threading.Thread(target=run)
    thread.start()
    return thread
