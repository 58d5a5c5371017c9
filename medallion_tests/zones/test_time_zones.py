"""Time and precision are explicit: offsets converted to UTC, naive times read in the source's
declared zone, the same silver whatever the machine's zone; formats the spec does not allow and
lossy conversions are quarantined with a reason; Parquet values are not rewritten in bronze."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import polars as pl

from medallion.resources.pseudonymization import hmac_pads
from medallion.resources.warehouse import connect
from medallion.spec import load_spec
from medallion.zones.bronze import ingest_source
from medallion.zones.silver import build_silver
from medallion_tests.conftest import write
from medallion_tests.records import assert_every_record_landed

ROOT = Path(__file__).resolve().parents[2]
KEY = b"time-zone-test-key-0123456789"
TIMES_SPEC = """
name: times
sources:
  visits:
    format: csv
    key: [visit_id]
    timezone: Europe/Amsterdam
    quiet_seconds: 0
    columns:
      visit_id: {type: BIGINT, required: true}
      seen_at: {type: TIMESTAMP}
      seen_tz: {type: TIMESTAMPTZ}
      day: {type: DATE}
  payments:
    format: parquet
    key: [payment_id]
    quiet_seconds: 0
    columns:
      payment_id: {type: BIGINT, required: true}
      paid_at: {type: TIMESTAMP}
      amount: {type: "DECIMAL(10,2)"}
"""
VISITS = """visit_id,seen_at,seen_tz,day
1,2026-02-14T10:00:00+05:00,2026-02-14T10:00:00+05:00,2026-02-14
2,2026-02-14 10:00:00,2026-02-14 10:00:00,2026-02-14
3,2026-07-14 10:00:00Z,2026-07-14 10:00:00,2026-07-14
4,2026/03/01 10:00,2026-03-01 10:00,01/03/2026
"""


def build_times(home: Path) -> dict[str, list]:
    """Deliver, ingest and build silver in `home`; silver and quarantine as JSON-ready rows."""
    spec = load_spec(write(home / "products" / "times" / "product.yaml", TIMES_SPEC))
    landing = home / "landing" / "times"
    write(landing / "visits" / "visits.csv", VISITS)
    paid = datetime(2026, 2, 14, 10, 0, tzinfo=timezone(timedelta(hours=5)))
    (landing / "payments").mkdir(parents=True)
    pl.DataFrame(
        {"payment_id": [1, 2, 3], "paid_at": [paid] * 3, "amount": [19.999, 0.005, 20.5]}
    ).write_parquet(landing / "payments" / "payments.parquet")
    found: dict[str, list] = {}
    with connect(home / "warehouse.duckdb") as con:
        for source in spec.sources:
            ingest_source(con, spec, source, landing)
            build_silver(con, spec, source, hmac_pads(KEY))
            for zone in ("silver", "quarantine"):
                rows = con.execute(
                    f"SELECT * EXCLUDE (_batch_id, _source_file, _ingested_at) "
                    f"FROM times_{zone}.{source} ORDER BY ALL"
                ).fetchall()
                found[f"{zone}.{source}"] = [[str(v) for v in row] for row in rows]
        assert_every_record_landed(con)
    return found


def _in_zone(tmp_path: Path, zone: str) -> dict[str, list]:
    home = tmp_path / zone.replace("/", "_")
    code = (
        "import json, sys; from pathlib import Path; "
        "from medallion_tests.zones.test_time_zones import build_times; "
        "print(json.dumps(build_times(Path(sys.argv[1]))))"
    )
    env = {**os.environ, "TZ": zone, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code, str(home)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_silver_is_identical_under_two_process_time_zones(tmp_path):
    kolkata = _in_zone(tmp_path, "Asia/Kolkata")
    los_angeles = _in_zone(tmp_path, "America/Los_Angeles")
    assert kolkata == los_angeles
    visits = {row[0]: row for row in kolkata["silver.visits"]}
    assert visits["1"][1:3] == ["2026-02-14 05:00:00", "2026-02-14 05:00:00+00:00"]
    assert visits["2"][1:3] == ["2026-02-14 09:00:00", "2026-02-14 09:00:00+00:00"]  # CET
    assert visits["3"][1:3] == ["2026-07-14 10:00:00", "2026-07-14 08:00:00+00:00"]  # CEST
    [rejected] = kolkata["quarantine.visits"]
    assert rejected[0] == "4" and "seen_at is not a TIMESTAMP in an allowed format" in rejected[-1]
    assert "day is not a DATE in an allowed format (ISO 8601)" in rejected[-1]
    payments = kolkata["silver.payments"]
    assert payments == [["3", "2026-02-14 05:00:00", "20.50", "3"]]


def test_parquet_values_land_as_delivered_and_lossy_casts_are_quarantined(tmp_path):
    build = build_times(tmp_path)
    quarantined = {row[0]: row for row in build["quarantine.payments"]}
    assert set(quarantined) == {"1", "2"}
    for payment_id, delivered in (("1", "19.999"), ("2", "0.005")):
        row = quarantined[payment_id]
        retyped = json.loads(row[-3])
        assert retyped["amount"] == delivered
        assert retyped["paid_at"] == "2026-02-14 05:00:00+00"
        assert (
            row[-1]
            == "amount has more decimal places than DECIMAL(10,2) keeps (it would be rounded)"
        )
    with connect(tmp_path / "warehouse.duckdb", read_only=True) as con:
        ledger = con.execute(
            "SELECT retyped_columns FROM times_bronze._ingested_files WHERE source = 'payments'"
        ).fetchone()[0]
    assert ledger == [
        "paid_at: TIMESTAMP WITH TIME ZONE (declared TIMESTAMP)",
        "amount: DOUBLE (declared DECIMAL(10,2))",
    ]


def _orders_with(spec, **column_changes):
    orders = spec.sources["orders"]
    columns = dict(orders.columns)
    for name, changes in column_changes.items():
        columns[name] = columns[name].model_copy(update=changes)
    changed = orders.model_copy(update={"columns": columns})
    return spec.model_copy(update={"sources": {**spec.sources, "orders": changed}})


ODD_ORDERS = """order_id,customer_id,ordered_at,amount,coupon
1,10,2026-01-01 10:00:00,19.999,
2,10.5,2026-01-01 10:00:00,1.00,
3,10,2026/01/01 10:00,1.00,
4,10,2026-01-01 10:00:00.1234567,1.00,
5,10,2026-01-01 10:00:00,99999999999.00,
"""


def test_lossy_and_unknown_formats_are_quarantined_with_a_reason(con, spec, tmp_path):
    write(tmp_path / "l" / "orders" / "orders.csv", ODD_ORDERS)
    ingest_source(con, spec, "orders", tmp_path / "l")
    counts = build_silver(con, spec, "orders", hmac_pads(KEY))
    assert counts.silver_rows == 0
    reasons = dict(con.execute("SELECT order_id, _reason FROM shop_quarantine.orders").fetchall())
    assert reasons == {
        "1": "amount has more decimal places than DECIMAL(10,2) keeps (it would be rounded)",
        "2": "customer_id has a fraction that BIGINT cannot keep (it would be rounded)",
        "3": "ordered_at is not a TIMESTAMP in an allowed format (ISO 8601)",
        "4": "ordered_at is finer than microseconds (it would be rounded)",
        "5": "amount does not convert to DECIMAL(10,2)",
    }


def test_declared_formats_and_a_warn_severity_keep_the_rows(con, spec, tmp_path):
    lenient = _orders_with(
        spec,
        ordered_at={"formats": ["%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M:%S"]},
        amount={"lossy": "warn"},
    )
    write(tmp_path / "l" / "orders" / "orders.csv", ODD_ORDERS)
    ingest_source(con, lenient, "orders", tmp_path / "l")
    counts = build_silver(con, lenient, "orders", hmac_pads(KEY))
    kept = dict(
        con.execute("SELECT order_id, (ordered_at, amount) FROM shop_silver.orders").fetchall()
    )
    assert kept[1] == (datetime(2026, 1, 1, 10, 0), Decimal("20.00"))
    assert kept[3] == (datetime(2026, 1, 1, 10, 0), Decimal("1.00"))
    assert counts.rule_counts["lossy(amount)"] == 1 and counts.warned_rows == 1
