"""The daily operation as the daemon runs it, in process: a churn day dropped into landing is
ingested by the landing sensor's requests (automation then has nothing left to build), evaluated
by the monitoring schedule's run and, its drift alerting, retrained by the retrain sensor's run.

The requests of one tick run as one ingest run (the union of their selections, as `medallion
simulate` does): the same files and tables, each built once; one run per request, as the
daemon launches them, is tested on deliveries in test_automation.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb

from medallion.build import build_definitions
from medallion.generate.options import DriftOptions
from medallion.generate.product import run_generator
from medallion.ml import registry
from medallion.settings import PACKAGE_PRODUCTS
from medallion.spec import ProductSpec, load_spec
from medallion_tests.assets.daemon import Daemon
from medallion_tests.assets.ml_runs import CHURN_LENIENT, FAST_LATENCY
from medallion_tests.conftest import home_settings
from medallion_tests.worlds import memory_instance

HISTORY, CUSTOMERS, DRIFT = 75, 250, 6.0
"""75 days of 250 customers train a champion; the next day's usage drifts strongly."""
START = datetime(2026, 1, 5, tzinfo=UTC)


def _spec() -> ProductSpec:
    """churn with one fast variant, a one-week holdout and lenient gates (a small world)."""
    spec = load_spec(PACKAGE_PRODUCTS / "churn" / "product.yaml")
    model = spec.model
    assert model is not None
    variant = {"estimator": "logistic_regression", "params": {"max_iter": 300}}
    updated = model.model_validate(
        model.model_dump()
        | {
            "holdout_days": 7,
            "validation_days": 5,
            "variants": {"logistic_regression": variant},
            "gates": model.gates.model_dump() | CHURN_LENIENT | FAST_LATENCY,
        }
    )
    return spec.model_copy(update={"model": updated})


def _champion(daemon: Daemon, spec: ProductSpec) -> str | None:
    tracking = daemon.defs.resources["tracking"]
    version = registry.version_by_alias(
        tracking.activate(), registry.registered_model_name(spec), registry.CHAMPION
    )
    return str(version.version) if version else None


def _ingest(daemon: Daemon, requests: list[dg.RunRequest]) -> dg.ExecuteInProcessResult:
    """The landing sensor's requests of one tick as one run of the ingest job."""
    selection = sorted({k for r in requests for k in r.asset_selection or []}, key=str)
    merged = dg.RunRequest(
        asset_selection=selection,
        partition_key=requests[0].partition_key,
        tags={"medallion/product": "churn", "medallion/files": str(len(requests))},
    )
    return daemon.launch("churn_ingest", merged)


def test_a_dropped_day_is_ingested_monitored_and_retrained_on_drift(tmp_path):
    spec = _spec()
    settings = home_settings(tmp_path)
    world = {"seed": 7, "customers": CUSTOMERS, "days": HISTORY + 1}
    options = world | {"drift": DriftOptions(HISTORY, DRIFT)}
    run_generator(spec, settings.landing, deliver_days=range(HISTORY), **options)
    with memory_instance() as instance:
        daemon = Daemon(build_definitions([spec], settings), instance)
        assert daemon.automation("churn_automation") == ({}, [])
        assert _ingest(daemon, daemon.tick("churn_landing")).success  # the history
        assert daemon.launch("churn_retrain", dg.RunRequest()).success
        champion = _champion(daemon, spec)
        assert champion is not None
        assert daemon.automation("churn_automation") == ({}, [])

        run_generator(spec, settings.landing, deliver_days=[HISTORY], **options)
        requests = daemon.tick("churn_landing")
        assert {r.tags["medallion/source"] for r in requests} == set(spec.sources)
        assert _ingest(daemon, requests).success
        assert daemon.automation("churn_automation") == ({}, [])  # nothing built twice

        day = START + timedelta(days=HISTORY)
        [evaluation] = daemon.schedule("churn_monitoring_daily", day + timedelta(days=1, hours=6))
        monitored = daemon.launch("churn_monitoring", evaluation)
        assert monitored.success
        checks = {c.check_name: c.passed for c in monitored.get_asset_check_evaluations()}
        assert checks["data_drift"] is False

        [retrain] = daemon.tick("churn_retrain_on_alert")
        assert retrain.tags["medallion/alert_day"] == day.date().isoformat()
        assert retrain.tags["medallion/champion_version"] == champion
        retrained = daemon.launch("churn_retrain", retrain)
        assert retrained.success
        decision = retrained.asset_materializations_for_node("churn__ml__champion")[0]
        assert decision.metadata["decision"].value  # promoted or not, and why
        assert daemon.tick("churn_retrain_on_alert") == []
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        evaluated = con.execute("SELECT DISTINCT window_end FROM churn_monitoring.drift_history")
        assert [d for (d,) in evaluated.fetchall()] == [day.date()]
        newest = con.execute("SELECT max(snapshot_date) FROM churn_gold.customer_features")
        assert newest.fetchone()[0] == day.date()
