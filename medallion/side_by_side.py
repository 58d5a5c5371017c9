"""Each product's timeline in a process of its own, the products side by side.

Products share only the warehouse, the Dagster instance and the MLflow store, and each of
those takes writers from several processes (DuckDB's file lock, waited for by
`resources.warehouse.connect`; SQLite in WAL mode; DuckLake and PostgreSQL on the lake), as
when the daemon runs two products' runs at once. Most of a day is Python (Dagster's event
writes, Great Expectations' rendering, training, MLflow logging), which keeps one core busy
per process: on two cores two products take about the time of the slower one. With one
core, one product, or an instance that lives only in this process, the products run one
after the other in this process.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.queues import SimpleQueue

import dagster as dg

from medallion.assets.executors import ML_PRELOAD as PRELOAD
from medallion.build import build_definitions
from medallion.operation import Echo, Operator
from medallion.resources.pseudonymization import PseudonymizationResource
from medallion.resources.tracking import TrackingResource
from medallion.settings import Settings
from medallion.spec import ProductSpec
from medallion.timeline import TimelineOptions, TimelineReport, run_timeline


@dataclass
class RunsDigest:
    """What a summary needs of some in-process runs, in a form that crosses processes."""

    runs: int = 0
    failures: list[str] = field(default_factory=list)
    evaluations: list[dg.AssetCheckEvaluation] = field(default_factory=list)

    @classmethod
    def of(cls, results: list[dg.ExecuteInProcessResult]) -> RunsDigest:
        return cls(
            runs=len(results),
            failures=[
                f"{event.step_key}: {event.event_specific_data.error.message.strip()}"
                for result in results
                for event in result.get_step_failure_events()
            ],
            evaluations=[e for result in results for e in result.get_asset_check_evaluations()],
        )

    def __add__(self, other: RunsDigest) -> RunsDigest:
        return RunsDigest(
            self.runs + other.runs,
            self.failures + other.failures,
            self.evaluations + other.evaluations,
        )


@dataclass
class ProductTimeline:
    """One product's timeline and its runs."""

    product: str
    report: TimelineReport
    runs: RunsDigest


def workers_for(specs: list[ProductSpec], instance: dg.DagsterInstance) -> int:
    """Processes to run the products' timelines in (1: in this process)."""
    if instance.is_ephemeral:
        return 1
    return max(1, min(len(specs), os.cpu_count() or 1))


def run_side_by_side(
    specs: list[ProductSpec],
    settings: Settings,
    instance: dg.DagsterInstance,
    options: TimelineOptions,
    echo: Echo | None = None,
) -> list[ProductTimeline]:
    """Every product's timeline (medallion.timeline), in processes of their own when there
    are cores for it; the timelines in the order of `specs`. Their progress lines reach
    `echo` (print, flushed, by default) in this process, as they come."""
    echo = echo or _print_now
    workers = workers_for(specs, instance)
    if workers == 1:
        return [_timeline(spec, settings, instance, options, echo) for spec in specs]
    _prepare_shared_stores(settings)
    # Forked from a fresh server that imported the package once (no locks or threads of
    # this process copied mid-use), rather than each worker importing it again (~6 s CPU).
    # The server's output is wherever this process's was when the server started, so the
    # workers send their lines here.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([PRELOAD])
    lines = context.SimpleQueue()
    printer = threading.Thread(target=_echo_lines, args=(lines, echo), daemon=True)
    printer.start()
    ref = instance.get_ref()
    try:
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_send_lines_to,
            initargs=(lines,),
        ) as pool:
            futures = [pool.submit(_timeline_in_worker, s, settings, ref, options) for s in specs]
            return [future.result() for future in futures]
    finally:
        lines.put(None)
        printer.join()


def _timeline(
    spec: ProductSpec,
    settings: Settings,
    instance: dg.DagsterInstance,
    options: TimelineOptions,
    echo: Echo,
) -> ProductTimeline:
    operator = Operator(build_definitions([spec], settings), instance)
    report = run_timeline([spec], settings, operator, options, echo)
    return ProductTimeline(spec.name, report, RunsDigest.of(operator.results))


_lines_to_parent: SimpleQueue | None = None
"""In a worker: where its progress lines go (the parent's `echo`)."""


def _send_lines_to(lines: SimpleQueue) -> None:
    global _lines_to_parent
    _lines_to_parent = lines


def _echo_lines(lines: SimpleQueue, echo: Echo) -> None:
    """The parent's side: each worker's line to `echo`, until None."""
    while (line := lines.get()) is not None:
        echo(line)


def _timeline_in_worker(
    spec: ProductSpec, settings: Settings, ref: dg.InstanceRef, options: TimelineOptions
) -> ProductTimeline:
    assert _lines_to_parent is not None
    with dg.DagsterInstance.from_ref(ref) as instance:
        return _timeline(spec, settings, instance, options, _lines_to_parent.put)


def _print_now(line: str) -> None:
    print(line, flush=True)


def _prepare_shared_stores(settings: Settings) -> None:
    """Create what the first writer of a new installation creates (MLflow's tables, the
    development PII key) once, before the workers meet it."""
    TrackingResource.for_settings(settings).activate()
    if not settings.pii_key and not settings.pii_key_env:
        PseudonymizationResource(dev_key_file=str(settings.pii_dev_key)).key_bytes()
