"""What a user sees in the UIs, checked in a browser: `medallion ui` over a copy of the built
world, Debian's chromium driven by playwright (never a downloaded browser), the asset lineage
of a product, a silver asset's checks tab and a product's MLflow runs table. Screenshots are
kept in the test's tmp folder."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import dagster as dg
import pytest

from medallion.assets.ml import ml_assets
from medallion.build import build_resources, product_assets
from medallion.ml import links
from medallion.settings import Settings
from medallion_tests.assets.ml_runs import CHURN_LENIENT, ml_spec
from medallion_tests.ui_servers import (
    assert_stopped_cleanly,
    graphql,
    start_medallion_ui,
    stop_medallion_ui,
    wait_for_http,
)
from medallion_tests.worlds import World

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.is_file(),
        reason="no /usr/bin/chromium: install Debian's chromium (apt-get install -y chromium)",
    ),
]
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright missing: pip install -e '.[dev]'"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parent.parent
SILVER = dg.AssetKey(["churn", "silver", "customers"])
VARIANT = "logistic_regression"
TIMEOUT_MS = 60_000


def ui_home(world: World, home: Path) -> Settings:
    """A project folder holding a copy of the world's warehouse and PII key, the project's
    dagster.yaml and workspace.yaml, and a Dagster instance and MLflow store in which the
    churn customers' silver asset was materialized with its checks and one small churn model
    trained, gated and promoted (what the checks tab and the runs table show). Run with
    `home` as the working folder: dagster.yaml's paths are relative."""
    settings = world.copy(home)
    for name in ("dagster.yaml", "workspace.yaml"):
        shutil.copyfile(ROOT / name, home / name)
    shutil.copyfile(world.settings.pii_dev_key, settings.pii_dev_key)
    churn = ml_spec(world.specs["churn"], **CHURN_LENIENT)
    assert churn.model is not None
    model = churn.model.model_copy(update={"variants": {VARIANT: churn.model.variants[VARIANT]}})
    churn = churn.model_copy(update={"model": model})
    silver = [a for a in product_assets(churn) if SILVER in a.keys]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = dg.materialize(
            [*silver, *ml_assets(churn)],
            resources=build_resources(settings),
            instance=instance,
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        )
    assert result.success
    return settings


def _printed_runs_link(out: Path, product: str) -> str:
    """The runs link `medallion ui` printed for a product."""
    for line in out.read_text(errors="replace").splitlines():
        if line.strip().startswith(f"{product}: http"):
            return line.split()[1]
    raise AssertionError(f"medallion ui printed no runs link for {product}:\n{out.read_text()}")


def test_the_uis_show_products_checks_and_the_runs_table(built_world, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ui_home(built_world, tmp_path)
    out = tmp_path / "medallion-ui.log"
    process, dagster_port, mlflow_port = start_medallion_ui(tmp_path, out)
    dagster = f"http://127.0.0.1:{dagster_port}"
    mlflow = f"http://127.0.0.1:{mlflow_port}"
    try:
        assert graphql(dagster_port, "{ assetNodes { id } }")["assetNodes"]
        wait_for_http(f"{mlflow}/health")
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.set_default_timeout(TIMEOUT_MS)

            def shows(*texts: str | re.Pattern, shot: str) -> None:
                """Wait until the page shows each text (whole, or a pattern), then keep
                a screenshot."""
                for text in texts:
                    page.get_by_text(text, exact=True).first.wait_for()
                page.screenshot(path=tmp_path / f"{shot}.png", full_page=True)

            page.goto(f"{dagster}/asset-groups")  # the global lineage: products apart
            shows("churn_bronze", "churn_silver", "churn_gold", "deliveries_gold", shot="lineage")

            page.goto(f"{dagster}/locations/medallion.definitions/asset-groups/churn_silver")
            shows("customers", "payments", "support_tickets", "8 / 8 Passed", shot="silver")

            page.goto(f"{dagster}/assets/churn/silver/customers?view=checks")
            shows("row_accounting", "key_unique", "expectations", shot="checks")
            assert page.get_by_text("Succeeded").count() == 8

            runs = _printed_runs_link(out, "churn")
            assert runs.startswith(f"{mlflow}/#/experiments/") and "workflowType" in runs
            page.goto(runs)
            shows(
                re.compile(f"^{VARIANT}-"), "roc_auc", "gates", "passed", "v1", shot="mlflow_runs"
            )

            page.goto(links.model_url(mlflow, "churn"))
            shows("Version 1", re.compile(r"^@\s*champion$"), shot="mlflow_model")
            browser.close()
    finally:
        stopped = stop_medallion_ui(process)
    assert_stopped_cleanly(stopped, dagster_port, mlflow_port)
    assert (tmp_path / "data" / "mlflow" / "mlflow.db").is_file()  # the store the UI showed
