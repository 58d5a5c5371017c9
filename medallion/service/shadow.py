"""Shadow scoring off the response path: a separate process scores every request the
champion answered with each challenger and appends those predictions to the log.

A process, not a thread: a challenger's predict holds the interpreter lock for milliseconds,
which a thread would add to the caller's latency; and a niced one, so that on a busy machine
the answering process gets the CPU first. The request only puts a small task (plain tuples,
cheap to pickle) on a bounded queue; when the queue is full the shadow scores are dropped
and counted, the caller is never slowed.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from medallion.service.models import ModelRef, load, predict
from medallion.service.predictions import PredictionLog

NICE = 10
BATCH = 256
"""Queued requests scored together at most."""
"""How much lower the shadow process's CPU priority is than the serving process's."""


@dataclass(frozen=True)
class ShadowTask:
    """One answered request to score again with a product's challengers."""

    product: str
    request_id: str
    predicted_at: object
    keys: list[str | None]
    as_of: list[str | None]
    hashes: list[str]
    columns: list[str]
    rows: list[tuple]
    """The model input, as plain values (categories text, numbers float)."""


def _score(models, tasks: list[ShadowTask], log: PredictionLog) -> None:
    """Score a batch of tasks of one product with each challenger in one call per model:
    a batch costs about what one row does, so the shadow keeps up with the traffic."""
    first = tasks[0]
    features = pd.DataFrame.from_records(
        [row for task in tasks for row in task.rows], columns=first.columns
    )
    meta = [
        (task.request_id, task.predicted_at, key, as_of, digest)
        for task in tasks
        for key, as_of, digest in zip(task.keys, task.as_of, task.hashes, strict=True)
    ]
    for ref, model in models.get(first.product, []):
        started = time.perf_counter()
        outputs = predict(model, features)
        each_ms = (time.perf_counter() - started) * 1000 / max(len(outputs), 1)
        log.append(
            [
                (request_id, at, first.product, ref.name, ref.version, ref.alias, ref.variant,
                 "shadow", key, as_of, digest, float(output), each_ms)
                for (request_id, at, key, as_of, digest), output in zip(meta, outputs, strict=True)
            ]
        )  # fmt: skip


def _next_batch(tasks, most: int, wait_s: float) -> tuple[list[ShadowTask], bool]:
    """The next task (waiting for it), then whatever else arrives within `wait_s`, up to
    `most`; and whether the stop sentinel was met. Waiting a little makes batches of a
    trickle of requests too, so the shadow costs a fraction of the answering work."""
    task = tasks.get()
    if task is None:
        return [], True
    batch = [task]
    deadline = time.monotonic() + wait_s
    while len(batch) < most:
        try:
            task = tasks.get(timeout=max(deadline - time.monotonic(), 0.0))
        except queue.Empty:
            break
        if task is None:
            return batch, True
        batch.append(task)
    return batch, False


def shadow_main(
    tasks,
    ready,
    tracking_uri: str,
    refs: dict[str, list[ModelRef]],
    log_root: str,
    flush: tuple,
    wait_s: float,
) -> None:
    """The shadow process: load the challengers once, score every task, log the outputs."""
    import mlflow

    with contextlib.suppress(OSError):
        os.nice(NICE)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    models = {product: [(ref, load(ref)) for ref in group] for product, group in refs.items()}
    log = PredictionLog(Path(log_root), *flush).start()
    ready.set()
    try:
        stop = False
        while not stop:
            batch, stop = _next_batch(tasks, BATCH, wait_s)
            for product in dict.fromkeys(task.product for task in batch):
                _score(models, [task for task in batch if task.product == product], log)
    finally:
        log.close()


class ShadowScorer:
    """The request side of shadow scoring: a bounded queue to a scoring process."""

    def __init__(
        self,
        tracking_uri: str,
        refs: dict[str, list[ModelRef]],
        log_root: Path,
        flush: tuple[int, float],
        maxsize: int,
        wait_s: float = 0.1,
        threads: int = 1,
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self.tasks = context.Queue(maxsize=maxsize)
        self.ready = context.Event()
        self.dropped = 0
        self.submitted = 0
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(name, str(threads))
        self.process = context.Process(
            target=shadow_main,
            args=(self.tasks, self.ready, tracking_uri, refs, str(log_root), flush, wait_s),
            name="medallion-shadow",
            daemon=True,
        )
        self.process.start()

    def wait_ready(self, timeout_s: float = 300.0) -> bool:
        """Wait until the challengers are loaded (so that loading them does not compete with
        the first requests); False when the process died or took too long."""
        deadline = time.monotonic() + timeout_s
        while not self.ready.wait(0.2):
            if not self.process.is_alive() or time.monotonic() > deadline:
                return False
        return True

    def submit(self, task: ShadowTask) -> bool:
        """Queue a task; False (and counted) when the queue is full or the scorer is gone."""
        try:
            self.tasks.put_nowait(task)
        except (queue.Full, ValueError, OSError):
            self.dropped += 1
            return False
        self.submitted += 1
        return True

    def close(self, timeout_s: float = 60.0) -> None:
        """Score what is queued, flush the log and stop the process."""
        with contextlib.suppress(ValueError, OSError):
            self.tasks.put(None, timeout=timeout_s)
        self.process.join(timeout=timeout_s)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)
        self.tasks.close()
        self.tasks.join_thread()
