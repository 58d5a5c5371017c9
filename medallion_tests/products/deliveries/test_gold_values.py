"""deliveries' gold computes what it says: six shipments written into silver by hand, run
through the real gold builders, in full and then through the incremental window a later
delivery reaches; every expected value below was worked out by hand.

2026-03-02 is a Monday. Hubs: BER (region DE-BE, capacity 4), HAM (DE-HH, capacity 2).
Shipments (created, promised, delivered):
- 1: BER Feb 2 10:00, Feb 3 10:00, Feb 3 09:00 (a month before the others)
- 11: BER Mar 2 08:00 to DE-HH, promised Mar 3 18:00, delivered Mar 3 19:30 (1.5 h late);
  received, sorted and in transit the first day, an exception at Mar 3 07:00 (within 24 h)
- 12: BER Mar 2 14:30 to DE-BE, address corrected, promised Mar 4 12:00, delivered Mar 4
  10:00 (2 h early); an exception at Mar 3 16:00 (after its first 24 h)
- 13: HAM Mar 3 09:00, promised Mar 5 09:00, delivered Mar 5 09:00 (on time to the second)
- 14: HAM Mar 3 10:00, received, then nothing until the later delivery
- 15: BER Mar 4 11:00, promised Mar 5 11:00, delivered Mar 5 10:00
Weather: storm in DE-HH on Mar 3 (12.5 mm); DE-BE dry on Mar 2. Events end on Mar 11, so
labels are known for shipments created up to Mar 3 (Mar 11 - 8 days), and every shipment's
first 24 hours are observed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from medallion.resources.warehouse import connect
from medallion.settings import PACKAGE_PRODUCTS
from medallion.spec import load_spec
from medallion.zones.gold import build_gold
from medallion_tests.silver_by_hand import empty_silver, insert, record_merge

SPEC = load_spec(PACKAGE_PRODUCTS / "deliveries" / "product.yaml")
T = datetime

HUBS = [
    {"hub": "BER", "name": "Berlin", "region": "DE-BE", "daily_capacity": 4},
    {"hub": "HAM", "name": "Hamburg", "region": "DE-HH", "daily_capacity": 2},
]
SHIPMENTS = [  # (id, hub, destination, area, service, created, promised, updated)
    (1, "BER", "DE-BE", "urban", "standard", T(2026, 2, 2, 10), T(2026, 2, 3, 10), None),
    (11, "BER", "DE-HH", "urban", "express", T(2026, 3, 2, 8), T(2026, 3, 3, 18), None),
    (12, "BER", "DE-BE", "rural", "standard", T(2026, 3, 2, 14, 30), T(2026, 3, 4, 12),
     T(2026, 3, 2, 16)),
    (13, "HAM", "DE-BE", "suburban", "economy", T(2026, 3, 3, 9), T(2026, 3, 5, 9), None),
    (14, "HAM", "DE-BE", "rural", "economy", T(2026, 3, 3, 10), T(2026, 3, 6, 10), None),
    (15, "BER", "DE-BE", "urban", "express", T(2026, 3, 4, 11), T(2026, 3, 5, 11), None),
]  # fmt: skip
EVENTS = [  # (shipment, status, time)
    (1, "received", T(2026, 2, 2, 11)),
    (1, "delivered", T(2026, 2, 3, 9)),
    (11, "received", T(2026, 3, 2, 8, 10)),
    (11, "sorted", T(2026, 3, 2, 12)),
    (11, "in_transit", T(2026, 3, 2, 20)),
    (11, "exception", T(2026, 3, 3, 7)),
    (11, "delivered", T(2026, 3, 3, 19, 30)),
    (12, "received", T(2026, 3, 2, 15)),
    (12, "exception", T(2026, 3, 3, 16)),
    (12, "delivered", T(2026, 3, 4, 10)),
    (13, "received", T(2026, 3, 3, 9, 30)),
    (13, "in_transit", T(2026, 3, 4, 8)),
    (13, "delivered", T(2026, 3, 5, 9)),
    (14, "received", T(2026, 3, 3, 10, 15)),
    (15, "received", T(2026, 3, 4, 11, 30)),
    (15, "delivered", T(2026, 3, 5, 10)),
    (14, "in_transit", T(2026, 3, 11, 8)),
]
WEATHER = [("DE-BE", date(2026, 3, 2), 0.0, False), ("DE-HH", date(2026, 3, 3), 12.5, True)]


def _shipments(rows) -> list[dict]:
    return [
        {"shipment_id": i, "sender_id": 7, "recipient_name": "p", "recipient_address": "p",
         "origin_hub": hub, "destination_region": dest, "area_type": area,
         "service_level": service, "weight_kg": 2.0, "distance_km": 100.0,
         "created_at": created, "promised_at": promised, "updated_at": updated or created}
        for i, hub, dest, area, service, created, promised, updated in rows
    ]  # fmt: skip


def _events(rows, first_id: int) -> list[dict]:
    return [
        {"event_id": first_id + n, "shipment_id": s, "status": status, "event_at": at,
         "hub": "BER", "exception_code": "weather" if status == "exception" else None}
        for n, (s, status, at) in enumerate(rows)
    ]  # fmt: skip


@pytest.fixture
def warehouse(tmp_path):
    """Silver as merged by batch b1 (every source), gold built in full."""
    con = connect(tmp_path / "warehouse.duckdb")
    empty_silver(con, SPEC)
    insert(con, SPEC, "hubs", "b1", HUBS)
    insert(con, SPEC, "shipments", "b1", _shipments(SHIPMENTS))
    insert(con, SPEC, "tracking_events", "b1", _events(EVENTS, 1))
    insert(con, SPEC, "weather", "b1", [
        {"region": r, "day": d, "precipitation_mm": mm, "storm": storm,
         "updated_at": datetime.combine(d, datetime.min.time()) + timedelta(hours=20)}
        for r, d, mm, storm in WEATHER
    ])  # fmt: skip
    for source in SPEC.sources:
        record_merge(con, SPEC, source, "b1", 1)
    for name in ("delivery_features", "hub_daily"):
        assert build_gold(con, SPEC, name).window.full
    yield con
    con.close()


def _rows(con, sql: str) -> dict:
    cursor = con.execute(sql)
    columns = [c[0] for c in cursor.description]
    return {row[0]: dict(zip(columns[1:], row[1:], strict=True)) for row in cursor.fetchall()}


def _features(con) -> dict[int, dict]:
    return _rows(
        con,
        "SELECT shipment_id, * EXCLUDE (shipment_id, service_level, origin_hub, "
        "destination_region, area_type, distance_km, weight_kg) "
        "FROM deliveries_gold.delivery_features ORDER BY 1",
    )


def test_delivery_features_of_each_shipment(warehouse):
    features = _features(warehouse)
    assert set(features) == {1, 11, 12, 13, 14, 15}
    assert features[11] == {
        "created_date": date(2026, 3, 2), "promised_hours": 34.0, "created_hour": 8,
        "created_dow": 1, "promised_dow": 2,
        "hub_load": 2, "hub_load_ratio": 0.5,  # 11 and 12 handed in at BER (capacity 4)
        "origin_storm": 0, "dest_storm": 1, "dest_precipitation_mm": 12.5,
        "address_corrected": 0, "scans_24h": 3, "exceptions_24h": 1,
        "delivered_at": T(2026, 3, 3, 19, 30), "delay_hours": 1.5,
    }  # fmt: skip
    assert features[12] == {
        "created_date": date(2026, 3, 2), "promised_hours": 45.5, "created_hour": 14,
        "created_dow": 1, "promised_dow": 3, "hub_load": 2, "hub_load_ratio": 0.5,
        "origin_storm": 0, "dest_storm": 0, "dest_precipitation_mm": 0.0,
        "address_corrected": 1, "scans_24h": 1, "exceptions_24h": 0,
        "delivered_at": T(2026, 3, 4, 10), "delay_hours": -2.0,
    }  # fmt: skip
    assert features[13] == {
        "created_date": date(2026, 3, 3), "promised_hours": 48.0, "created_hour": 9,
        "created_dow": 2, "promised_dow": 4,
        "hub_load": 2, "hub_load_ratio": 1.0,  # 13 and 14 at HAM (capacity 2)
        "origin_storm": 1, "dest_storm": 0, "dest_precipitation_mm": 0.0,  # storm at HAM
        "address_corrected": 0, "scans_24h": 2, "exceptions_24h": 0,
        "delivered_at": T(2026, 3, 5, 9), "delay_hours": 0.0,
    }  # fmt: skip
    # created Mar 4, after Mar 11 - 8 days: delivered, but the label is not known yet
    assert (features[15]["hub_load_ratio"], features[15]["delay_hours"]) == (0.25, None)
    # not delivered yet: in the table with what its first 24 hours showed, no label
    assert features[14] == {
        "created_date": date(2026, 3, 3), "promised_hours": 72.0, "created_hour": 10,
        "created_dow": 2, "promised_dow": 5, "hub_load": 2, "hub_load_ratio": 1.0,
        "origin_storm": 1, "dest_storm": 0, "dest_precipitation_mm": 0.0,
        "address_corrected": 0, "scans_24h": 1, "exceptions_24h": 0,
        "delivered_at": None, "delay_hours": None,
    }  # fmt: skip


def test_a_shipment_enters_once_its_first_24_hours_are_observed(warehouse):
    """16 is handed in on Mar 11 at 09:00, after the last scan so far (Mar 11 08:00): not in
    the table until a scan of Mar 12 09:00 or later is seen."""
    created = T(2026, 3, 11, 9)
    row = (16, "BER", "DE-BE", "urban", "standard", created, T(2026, 3, 12, 9), None)
    insert(warehouse, SPEC, "shipments", "b2", _shipments([row]))
    record_merge(warehouse, SPEC, "shipments", "b2", 2)
    insert(warehouse, SPEC, "tracking_events", "b2", _events([(16, "received", created)], 100))
    record_merge(warehouse, SPEC, "tracking_events", "b2", 2)
    build_gold(warehouse, SPEC, "delivery_features")
    assert 16 not in _features(warehouse)  # observed for 0 hours

    late = [(14, "delivered", T(2026, 3, 12, 8, 59)), (16, "sorted", T(2026, 3, 11, 12))]
    insert(warehouse, SPEC, "tracking_events", "b3", _events(late, 200))
    record_merge(warehouse, SPEC, "tracking_events", "b3", 3)
    build_gold(warehouse, SPEC, "delivery_features")
    assert 16 not in _features(warehouse)  # observed for 23 hours 59 minutes

    insert(
        warehouse, SPEC, "tracking_events", "b4", _events([(15, "sorted", T(2026, 3, 12, 9))], 300)
    )
    record_merge(warehouse, SPEC, "tracking_events", "b4", 4)
    build_gold(warehouse, SPEC, "delivery_features")
    entered = _features(warehouse)[16]
    assert (entered["scans_24h"], entered["delivered_at"], entered["delay_hours"]) == (
        2,
        None,
        None,
    )


def test_hub_daily_counts_each_days_cohort(warehouse):
    rows = warehouse.execute(
        "SELECT day, origin_hub, shipments, delivered, on_time_rate, mean_delay_hours, "
        "exceptions FROM deliveries_gold.hub_daily"
    ).fetchall()
    assert {(day, hub): tuple(values) for day, hub, *values in rows} == {
        (date(2026, 2, 2), "BER"): (1, 1, 1.0, -1.0, 0),
        (date(2026, 3, 2), "BER"): (2, 2, 0.5, -0.25, 2),  # (1.5 - 2.0) / 2; both exceptions
        (date(2026, 3, 3), "HAM"): (2, 1, 1.0, 0.0, 0),  # delivered at the promised second
        (date(2026, 3, 4), "BER"): (1, 1, 1.0, -1.0, 0),
    }


def test_a_later_delivery_recomputes_only_the_window_it_reaches(warehouse):
    """Shipment 14 is delivered on Mar 12 (batch b2). The window is 14 days before the
    table's newest day (Mar 4) to the newest change (Mar 12): Feb 18 to Mar 12. Rows of
    shipments created before it are left as they were, even when silver says otherwise."""
    before = _features(warehouse)
    warehouse.execute(
        "UPDATE deliveries_silver.shipments SET weight_kg = 9.0 WHERE shipment_id = 1"
    )
    insert(
        warehouse,
        SPEC,
        "tracking_events",
        "b2",
        _events([(14, "delivered", T(2026, 3, 12, 10))], 100),
    )
    record_merge(warehouse, SPEC, "tracking_events", "b2", 2)

    features = build_gold(warehouse, SPEC, "delivery_features")
    hubs = build_gold(warehouse, SPEC, "hub_daily")

    for build in (features, hubs):
        assert not build.window.full
        assert (build.window.start, build.window.end) == (date(2026, 2, 18), date(2026, 3, 13))
    assert (features.rows_replaced, features.rows_written, features.table_rows) == (5, 5, 6)
    after = _features(warehouse)
    assert after[1] == before[1]
    assert warehouse.execute(
        "SELECT weight_kg FROM deliveries_gold.delivery_features WHERE shipment_id = 1"
    ).fetchone() == (2.0,)
    # observed up to Mar 12 now: labels known up to Mar 4, so 15's delay appears
    assert after[15]["delay_hours"] == -1.0
    assert after[14]["delay_hours"] == 144.0 and after[14]["scans_24h"] == 1  # 6 days late
    assert after[14]["delivered_at"] == T(2026, 3, 12, 10)
    assert {k: after[k] for k in (11, 12, 13)} == {k: before[k] for k in (11, 12, 13)}
    assert warehouse.execute(
        "SELECT delivered, on_time_rate, mean_delay_hours FROM deliveries_gold.hub_daily "
        "WHERE day = DATE '2026-03-03' AND origin_hub = 'HAM'"
    ).fetchone() == (2, 0.5, 72.0)  # 14 was promised Mar 6 10:00: (0 + 144) / 2
