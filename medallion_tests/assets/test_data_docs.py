"""Every `expectations` check links its Great Expectations Data Docs page, so a person can open
the validation report from the check in the Dagster UI."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import dagster as dg

from medallion.checks import names
from medallion.demo import materialize_all
from medallion_tests.worlds import memory_instance


def test_silver_and_gold_expectations_link_their_data_docs_page(spec, settings):
    with memory_instance() as instance:
        result = materialize_all([spec], settings, instance)
    assert result.success
    checks = {
        e.asset_key.to_user_string(): e
        for e in result.get_asset_check_evaluations()
        if e.check_name == names.EXPECTATIONS
    }
    assert set(checks) == {
        "shop/silver/customers",
        "shop/silver/orders",
        "shop/silver/refunds",
        "shop/gold/revenue_by_country",
        "shop/gold/orders_per_customer",
    }
    site = settings.warehouse.parent / "gx" / "shop" / "docs"
    for asset, evaluation in checks.items():
        link = evaluation.metadata["data_docs"]
        assert isinstance(link, dg.UrlMetadataValue), asset
        page = Path(unquote(urlparse(link.url).path))
        assert page.is_file() and page.is_relative_to(site / "validations"), asset
        zone, table = asset.split("/")[1:]
        assert f"/shop/{zone}/{table}/{result.run_id}/" in link.url
        assert f"shop.{zone}.{table}" in page.read_text(encoding="utf-8")
    assert (site / "index.html").is_file()
