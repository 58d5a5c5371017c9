"""The service benchmark: key lookups and scoring against 127.0.0.1, on a quiet service,
while a pipeline run writes (re-materializing the product's zones, which republishes gold),
and scoring without the shadow challengers for comparison. The verdict against the spec's
budgets is reported to the Dagster instance as the `service_budget` check, so the UI shows
whether the service meets them.

`python -m medallion.bench.service --write <product>` is the writer: zone runs one after
another until it is stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from medallion.service.budget import budget_outcome, measure, sample_keys, served_table
from medallion.service.load import run_load, scoring_calls
from medallion.service.publishing import published_root
from medallion.service.runner import running_service
from medallion.settings import Settings
from medallion.spec import ProductSpec


def _writer(spec: ProductSpec, env: dict[str, str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "medallion.bench.service", "--write", spec.name]
    return subprocess.Popen(command, env=env, start_new_session=True)


def _stop(process: subprocess.Popen, grace_s: float = 10.0) -> int:
    """Interrupt the writer, then kill it: its writes are atomic, a killed run leaves the last
    good version in place (and the service reading it)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            return process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            continue
    return process.wait()


def run_service_bench(spec: ProductSpec, settings: Settings, tracking_uri: str, out: Path) -> dict:
    """Measure, write `out/service.json`, report the check; returns the report."""
    from medallion.assets.service import service_env

    table = served_table(spec)
    keys = sample_keys(spec, table or "", published_root(settings.warehouse)) if table else []
    if not keys:
        raise SystemExit(f"{spec.name}: nothing published yet; run `medallion demo` first")
    env = service_env(spec, str(settings.warehouse), tracking_uri)
    env |= {"MEDALLION_HOME": str(settings.home), "MEDALLION_DATA": str(settings.data)}
    report: dict[str, object] = {"product": spec.name, "table": table, "keys": len(keys)}
    with running_service([spec.name], env) as (url, health):
        scoring = bool(health["champions"].get(spec.name))
        report["quiet"] = [r.as_dict() for r in measure(spec, url, keys, scoring)]
        writer = _writer(spec, env)
        time.sleep(5)  # the writer's run is under way (imports done, zones building)
        try:
            writing = measure(spec, url, keys, scoring)
        finally:
            report["writer_still_running"] = writer.poll() is None
            _stop(writer)
        report["while_writing"] = [r.as_dict() for r in writing]
    if scoring:
        with running_service([spec.name], env, "--no-shadow") as (url, _):
            service = spec.service
            alone = run_load("score", url, scoring_calls(spec.name, keys), 1,
                             service.load_requests, service.load_seconds)  # fmt: skip
        report["score_without_shadow"] = alone.as_dict()
    outcome = budget_outcome(spec, writing)
    report["verdict"] = {"passed": outcome.passed, "summary": outcome.description}
    out.mkdir(parents=True, exist_ok=True)
    (out / "service.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    _report_check(spec, outcome)
    return report


def _report_check(spec: ProductSpec, outcome) -> None:
    """The verdict as the `service_budget` check of the product's responsiveness asset."""
    import dagster as dg

    from medallion.assets.checks import to_result
    from medallion.assets.service import GROUP

    key = dg.AssetKey([spec.name, GROUP, "responsiveness"])
    result = to_result(outcome, key)
    with dg.DagsterInstance.get() as instance:
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=key,
                check_name=result.check_name,
                passed=result.passed,
                metadata=result.metadata,
                severity=result.severity,
                description=result.description,
            )
        )


def _write_forever(product: str) -> None:
    """Zone runs one after another (each republishes gold) until SIGTERM."""
    import dagster as dg

    from medallion.demo import materialize_all
    from medallion.spec import load_specs

    settings = Settings.from_env()
    [spec] = [s for s in load_specs(settings.product_files()) if s.name == product]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with dg.DagsterInstance.ephemeral() as instance:
        while True:
            materialize_all([spec], settings, instance)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"]:
        _write_forever(sys.argv[2])
