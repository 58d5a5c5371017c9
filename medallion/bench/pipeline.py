"""The pipeline stage: landing → bronze → silver → gold with every boundary check, through
the real Dagster assets in process, timed zone by zone and boundary by boundary.

Times come from the run itself: each zone asset reports `duration_s` (its transform) and
`dagster/row_count`, each check result its own `duration_s`, and the event log gives the
wall time of every step, so framework overhead shows as steps minus transform minus checks.
Model and monitoring assets are left out: they are not part of the data pipeline's cost.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from medallion.assets.constants import FULL_REFRESH_TAG, ZONE_TAG
from medallion.build import build_definitions
from medallion.settings import Settings
from medallion.spec import ZONES, ProductSpec

BOUNDARIES = {"bronze": "landing→bronze", "silver": "bronze→silver", "gold": "silver→gold"}
"""Checks guarding a boundary sit on the assets of the zone it leads into."""

DURATION = "duration_s"
ROW_COUNT = "dagster/row_count"


@dataclass(frozen=True)
class RunEvent:
    """What the benchmark needs of one event of the run's log."""

    step: str
    kind: str
    """start, end, materialization or check"""
    timestamp: float
    asset: str = ""
    name: str = ""
    duration_s: float | None = None
    rows: int | None = None
    passed: bool | None = None


@dataclass
class ZoneTiming:
    """One zone: its steps' wall time, its transforms, and the checks on its assets."""

    steps_s: float = 0.0
    transform_s: float = 0.0
    checks_s: float = 0.0
    assets: int = 0
    rows: int = 0
    checks: int = 0
    untimed: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    transform_by_asset: dict[str, float] = field(default_factory=dict)
    checks_by_name: dict[str, float] = field(default_factory=dict)
    peak_rss_bytes: int = 0
    """Highest resident memory of the process sampled while one of the zone's steps ran."""

    @property
    def overhead_s(self) -> float:
        """Step time that is neither transform nor check: Dagster, metadata, previews."""
        return max(0.0, self.steps_s - self.transform_s - self.checks_s)


@dataclass
class PipelineResult:
    """The whole run: wall time of the materialization call and the per-zone breakdown."""

    seconds: float
    success: bool
    zones: dict[str, ZoneTiming]
    failures: list[str] = field(default_factory=list)
    first_step_at: float | None = None
    """Epoch seconds when the run's first step started (its first SQL follows at once)."""

    @property
    def transform_s(self) -> float:
        return sum(zone.transform_s for zone in self.zones.values())

    @property
    def checks_s(self) -> float:
        return sum(zone.checks_s for zone in self.zones.values())


class RssSampler:
    """Samples this process's resident memory in a thread, to tell which step peaked.

    Reads /proc/self/statm (Linux); elsewhere it records nothing.
    """

    def __init__(self, interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._statm = Path("/proc/self/statm")
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                resident = int(self._statm.read_text().split()[1]) * self._page
            except (OSError, IndexError, ValueError):
                return
            self.samples.append((time.time(), resident))
            self._stop.wait(self.interval_s)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def summarize(
    events: Iterable[RunEvent],
    zone_of: dict[str, str],
    rss_samples: list[tuple[float, int]] | None = None,
) -> dict[str, ZoneTiming]:
    """Add a run's events up per zone.

    Args:
        events: the run's step starts and ends, materializations and check evaluations.
        zone_of: asset key (user string) to zone; assets of other groups are ignored.
        rss_samples: (epoch seconds, resident bytes) taken while the run went on.

    Returns:
        A timing per zone, in zone order, for every zone in `zone_of`.
    """
    events = list(events)
    zones = {zone: ZoneTiming() for zone in ZONES if zone in set(zone_of.values())}
    step_zone: dict[str, str] = {}
    for event in events:
        zone = zone_of.get(event.asset)
        if event.kind not in ("materialization", "check") or zone is None:
            continue
        step_zone.setdefault(event.step, zone)
        timing = zones[zone]
        if event.kind == "materialization":
            timing.assets += 1
            timing.transform_s += event.duration_s or 0.0
            timing.rows += event.rows or 0
            timing.transform_by_asset[event.asset] = event.duration_s or 0.0
        else:
            label = f"{event.asset}:{event.name}"
            timing.checks += 1
            timing.checks_s += event.duration_s or 0.0
            timing.checks_by_name[label] = event.duration_s or 0.0
            if event.duration_s is None:
                timing.untimed.append(label)
            if event.passed is False:
                timing.failed_checks.append(label)
    started: dict[str, float] = {}
    for event in events:
        if event.kind == "start":
            started[event.step] = event.timestamp
        elif event.kind == "end" and event.step in started and event.step in step_zone:
            start = started.pop(event.step)
            timing = zones[step_zone[event.step]]
            timing.steps_s += event.timestamp - start
            during = [rss for at, rss in rss_samples or [] if start <= at <= event.timestamp]
            timing.peak_rss_bytes = max([timing.peak_rss_bytes, *during])
    return zones


def _number(metadata: dict, key: str) -> float | None:
    value = metadata.get(key)
    raw = getattr(value, "value", value)
    return raw if isinstance(raw, int | float) and not isinstance(raw, bool) else None


def run_events(instance: dg.DagsterInstance, run_id: str) -> list[RunEvent]:
    """The events of a finished run that `summarize` reads, from the instance's log."""
    ends = {dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    events = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        kind = event.event_type
        common = {"step": event.step_key, "timestamp": entry.timestamp}
        if kind == dg.DagsterEventType.STEP_START:
            events.append(RunEvent(kind="start", **common))
        elif kind in ends:
            events.append(RunEvent(kind="end", **common))
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.step_materialization_data.materialization
            metadata = dict(materialization.metadata)
            rows = _number(metadata, ROW_COUNT)
            events.append(
                RunEvent(
                    kind="materialization",
                    asset=materialization.asset_key.to_user_string(),
                    duration_s=_number(metadata, DURATION),
                    rows=None if rows is None else int(rows),
                    **common,
                )
            )
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            events.append(
                RunEvent(
                    kind="check",
                    asset=evaluation.asset_key.to_user_string(),
                    name=evaluation.check_name,
                    duration_s=_number(dict(evaluation.metadata), DURATION),
                    passed=evaluation.passed,
                    **common,
                )
            )
    return events


def zone_assets(defs: dg.Definitions) -> dict[str, str]:
    """Asset key (user string) to zone, for the bronze, silver and gold assets only (the zone
    is the asset's `medallion/zone` tag)."""
    graph = defs.resolve_asset_graph()
    zones = {key: graph.get(key).tags.get(ZONE_TAG) for key in graph.get_all_asset_keys()}
    return {key.to_user_string(): zone for key, zone in zones.items() if zone in ZONES}


def run_pipeline(
    spec: ProductSpec, settings: Settings, full_refresh: bool = False
) -> PipelineResult:
    """Materialize the product's bronze, silver and gold assets and their checks in process
    (merging what is new into what the warehouse holds, or rebuilding with `full_refresh`).

    The warehouse and landing folder are the settings'; the run is recorded in an
    ephemeral instance, so nothing is written outside them.
    """
    defs = build_definitions([spec], settings)
    definitions = [*(defs.assets or []), *(defs.asset_checks or [])]
    zone_of = zone_assets(defs)
    with dg.DagsterInstance.ephemeral() as instance, RssSampler() as sampler:
        started = time.perf_counter()
        result = dg.materialize(
            definitions,
            instance=instance,
            resources=defs.resources,
            selection=dg.AssetSelection.assets(*[dg.AssetKey.from_user_string(k) for k in zone_of]),
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            tags={FULL_REFRESH_TAG: "true"} if full_refresh else None,
        )
        seconds = time.perf_counter() - started
        events = run_events(instance, result.run_id)
    failures = [
        f"{event.step_key}: {_root_cause(event.event_specific_data.error)}"
        for event in result.get_step_failure_events()
    ]
    return PipelineResult(
        seconds=seconds,
        success=result.success,
        zones=summarize(events, zone_of, sampler.samples),
        failures=failures,
        first_step_at=min((e.timestamp for e in events if e.kind == "start"), default=None),
    )


def _root_cause(error) -> str:
    """The innermost error of a step failure: Dagster wraps the one that matters."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error.message.strip()
