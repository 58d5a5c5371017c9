"""Landing → bronze in real runs: a stray quote costs one record, a refused file blocks its
source until a person acknowledges it with `medallion landing ack`, then the source carries on."""

from __future__ import annotations

import dagster as dg
import duckdb

from medallion.cli import main
from medallion.demo import materialize_all
from medallion_tests.conftest import write
from medallion_tests.worlds import memory_instance

HEADER = "order_id,customer_id,ordered_at,amount,coupon"


def _checks(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }


def _use_cli_settings(monkeypatch, settings, spec_path) -> None:
    for name in ("MEDALLION_DATA", "MEDALLION_WAREHOUSE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MEDALLION_HOME", str(settings.home))
    monkeypatch.setenv("MEDALLION_LANDING", str(settings.landing))
    monkeypatch.setenv("MEDALLION_PRODUCTS", str(spec_path.parent.parent))


def test_a_refused_file_is_acknowledged_and_the_source_carries_on(
    spec, settings, landing, spec_path, monkeypatch, capsys
):
    rows = [f"{i},10,2026-01-02 10:00:00,1.00," for i in range(100, 600)]
    rows[1] = rows[1].replace(",1.00,", ',"1.00,')
    write(landing / "orders" / "orders_2026-01-02.csv", "\n".join([HEADER, *rows]) + "\n")
    refused = write(landing / "orders" / "orders_2026-01-03.csv", "order_id;amount\n1;2\n")
    with memory_instance() as instance:
        first = materialize_all([spec], settings, instance)
    assert not first.success
    checks = _checks(first)
    readable = checks[("shop/bronze/orders", "files_readable")]
    assert not readable.passed and str(refused) in str(readable.metadata["refused"].value)
    assert ("shop/silver/orders", "row_accounting") not in checks  # held back by the refusal

    _use_cli_settings(monkeypatch, settings, spec_path)
    assert main(["landing", "refused"]) == 0
    listed = capsys.readouterr().out
    assert str(refused) in listed and "CSV files must be ','-separated" in listed
    assert main(["landing", "ack", str(refused), "--reason", "resent", "--by", "ann"]) == 0
    assert f"acknowledged {refused}" in capsys.readouterr().out
    assert main(["landing", "ack", str(refused), "--reason", "again"]) == 1

    write(landing / "orders" / "orders_2026-01-04.csv", f"{HEADER}\n900,11,2026-01-04,2.00,\n")
    with memory_instance() as instance:
        second = materialize_all([spec], settings, instance)
    assert second.success
    checks = _checks(second)
    assert checks[("shop/bronze/orders", "files_readable")].passed
    assert checks[("shop/bronze/orders", "file_ledger")].passed
    assert checks[("shop/silver/orders", "row_accounting")].passed
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        silver = con.execute("SELECT count(*) FROM shop_silver.orders").fetchone()[0]
        quarantined = con.execute(
            "SELECT _reason FROM shop_quarantine.orders WHERE list_contains(_rules, 'malformed')"
        ).fetchall()
        acknowledged = con.execute(
            "SELECT acknowledged_by, note FROM shop_bronze._acknowledged_files"
        ).fetchall()
    assert silver == 3 + 499 + 1
    assert len(quarantined) == 1 and "unbalanced quote" in quarantined[0][0]
    assert acknowledged == [("ann", "resent")]
    assert refused.exists()
