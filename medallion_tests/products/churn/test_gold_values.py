"""churn's gold computes what it says: four customers over three months, written into silver by
hand, run through the real gold builders; every expected value below was worked out by hand.

The world (usage observed from 2026-01-01 to 2026-04-01, so snapshots start on 2026-01-30,
the first day with 30 days of history, and labels are known up to 2026-03-02):
- customer 1: a subscription cancelled in 2025 and the current one since 2025-12-01, never
  cancelled; usage on Jan 1, 25, 28, 30 and Apr 1; payments, one failed and one refunded;
  two tickets.
- customer 2: subscribed 2026-01-10, cancelled 2026-02-20; one event, two payments.
- customer 3: subscribed 2026-01-20, no customer record, no usage, no payments.
- customer 4: subscribed 2025-12-01, cancelled 2026-03-20.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from medallion.resources.warehouse import connect
from medallion.settings import PACKAGE_PRODUCTS
from medallion.spec import load_spec
from medallion.zones.gold import build_gold
from medallion_tests.silver_by_hand import empty_silver, insert

SPEC = load_spec(PACKAGE_PRODUCTS / "churn" / "product.yaml")

CUSTOMERS = [
    {"customer_id": 1, "gender": "F", "region": "north", "age_band": "25-34",
     "acquisition_channel": "organic"},
    {"customer_id": 2, "gender": "M", "region": "south", "age_band": "18-24",
     "acquisition_channel": "paid_search"},
    {"customer_id": 4, "gender": "X", "region": "east", "age_band": "35-49",
     "acquisition_channel": "referral"},
]  # fmt: skip
SUBSCRIPTIONS = [
    (100, 1, "standard", "monthly", "12.00", date(2025, 6, 1), date(2025, 11, 30)),
    (101, 1, "premium", "monthly", "20.00", date(2025, 12, 1), None),
    (201, 2, "basic", "monthly", "10.00", date(2026, 1, 10), date(2026, 2, 20)),
    (301, 3, "standard", "annual", "15.00", date(2026, 1, 20), None),
    (401, 4, "premium", "monthly", "20.00", date(2025, 12, 1), date(2026, 3, 20)),
]
EVENTS = [  # (customer, time, feature, device, seconds)
    (1, datetime(2026, 1, 1, 10), "play", "mobile", 600.0),
    (1, datetime(2026, 1, 25, 9), "search", "web", 120.0),
    (1, datetime(2026, 1, 28, 20), "play", "mobile", 1800.0),
    (1, datetime(2026, 1, 30, 8), "download", "tv", 60.0),
    (1, datetime(2026, 4, 1, 12), "play", "web", 300.0),
    (2, datetime(2026, 1, 29, 10), "share", "mobile", 30.0),
]
PAYMENTS = [  # (customer, subscription, time, amount, status)
    (1, 101, datetime(2026, 1, 1, 9), "20.00", "succeeded"),
    (1, 101, datetime(2026, 1, 15, 9), "20.00", "failed"),
    (1, 101, datetime(2026, 1, 16, 9), "20.00", "succeeded"),
    (1, 101, datetime(2026, 2, 1, 9), "20.00", "succeeded"),
    (1, 101, datetime(2026, 3, 1, 9), "20.00", "refunded"),
    (2, 201, datetime(2026, 1, 10, 12), "10.00", "succeeded"),
    (2, 201, datetime(2026, 2, 10, 12), "10.00", "failed"),
]
TICKETS = [(1, datetime(2026, 1, 5, 11), "high"), (1, datetime(2026, 2, 20, 11), "low")]


@pytest.fixture(scope="module")
def gold(tmp_path_factory):
    """The four customers in silver; gold built by the product's own SQL and Polars."""
    con = connect(tmp_path_factory.mktemp("churn_values") / "warehouse.duckdb")
    empty_silver(con, SPEC)
    insert(con, SPEC, "customers", "b1", CUSTOMERS)
    insert(con, SPEC, "subscriptions", "b1", [
        {"subscription_id": s, "customer_id": c, "plan": plan, "billing_cycle": cycle,
         "monthly_price": Decimal(price), "started_at": started, "cancelled_at": cancelled,
         "status": "cancelled" if cancelled else "active"}
        for s, c, plan, cycle, price, started, cancelled in SUBSCRIPTIONS
    ])  # fmt: skip
    insert(con, SPEC, "usage_events", "b1", [
        {"event_id": i, "customer_id": c, "event_at": at, "feature": f, "device": d,
         "duration_sec": s}
        for i, (c, at, f, d, s) in enumerate(EVENTS)
    ])  # fmt: skip
    insert(con, SPEC, "payments", "b1", [
        {"payment_id": i, "customer_id": c, "subscription_id": s, "paid_at": at,
         "amount": Decimal(amount), "currency": "EUR", "status": status}
        for i, (c, s, at, amount, status) in enumerate(PAYMENTS)
    ])  # fmt: skip
    insert(con, SPEC, "support_tickets", "b1", [
        {"ticket_id": i, "customer_id": c, "opened_at": at, "priority": p, "category": "app",
         "status": "open"}
        for i, (c, at, p) in enumerate(TICKETS)
    ])  # fmt: skip
    for name in ("customer_features", "daily_revenue"):
        assert build_gold(con, SPEC, name).window.full
    yield con
    con.close()


def _features(con, customer: int, day: date) -> dict:
    cursor = con.execute(
        "SELECT * EXCLUDE (customer_id, snapshot_date) FROM churn_gold.customer_features "
        "WHERE customer_id = ? AND snapshot_date = ?",
        [customer, day],
    )
    rows = cursor.fetchall()
    assert len(rows) == 1, (customer, day, rows)
    return dict(zip([c[0] for c in cursor.description], rows[0], strict=True))


PREMIUM_NORTH = {
    "age_band": "25-34", "gender": "F", "region": "north", "acquisition_channel": "organic",
    "plan": "premium", "billing_cycle": "monthly", "monthly_price": 20.0,
}  # fmt: skip
NO_USAGE = {
    "events_7d": 0, "events_30d": 0, "active_days_30d": 0, "minutes_7d": 0.0,
    "minutes_30d": 0.0, "usage_trend": 0.0, "distinct_features_30d": 0, "mobile_share_30d": 0.0,
}  # fmt: skip


def test_one_row_per_active_customer_day_from_the_first_full_30_days(gold):
    spans = gold.execute(
        "SELECT customer_id, min(snapshot_date), max(snapshot_date), count(*) "
        "FROM churn_gold.customer_features GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert spans == [
        (1, date(2026, 1, 30), date(2026, 4, 1), 62),
        (2, date(2026, 1, 30), date(2026, 2, 19), 21),  # the day before its cancellation
        (3, date(2026, 1, 30), date(2026, 4, 1), 62),
        (4, date(2026, 1, 30), date(2026, 3, 19), 49),
    ]


def test_trailing_7_and_30_day_usage_windows_on_their_boundaries(gold):
    # Jan 30: 7 days = Jan 24-30 (3 events, 33 min); 30 days = Jan 1-30 (4 events, 43 min)
    assert _features(gold, 1, date(2026, 1, 30)) == PREMIUM_NORTH | {
        "tenure_days": 60, "events_7d": 3, "events_30d": 4, "active_days_30d": 4,
        "minutes_7d": 33.0, "minutes_30d": 43.0, "usage_trend": 3.2143,  # 3·30/7/4
        "days_since_last_event": 0, "distinct_features_30d": 3, "mobile_share_30d": 0.5,
        "payments_failed_90d": 1, "amount_paid_90d": 40.0,
        "tickets_30d": 1, "tickets_90d": 1, "high_priority_tickets_90d": 1, "churned_30d": 0,
    }  # fmt: skip
    # Jan 31: Jan 1's event leaves the 30 days (Jan 2-31); the 7 days are unchanged
    jan31 = _features(gold, 1, date(2026, 1, 31))
    assert (jan31["events_7d"], jan31["events_30d"], jan31["active_days_30d"]) == (3, 3, 3)
    assert (jan31["minutes_30d"], jan31["usage_trend"], jan31["mobile_share_30d"]) == (
        33.0, 4.2857, 0.3333,
    )  # fmt: skip
    assert jan31["days_since_last_event"] == 1 and jan31["distinct_features_30d"] == 3
    # Feb 1: Jan 25's search leaves the 7 days (Jan 26-Feb 1); Feb 1's payment arrives
    feb1 = _features(gold, 1, date(2026, 2, 1))
    assert (feb1["events_7d"], feb1["minutes_7d"], feb1["usage_trend"]) == (2, 31.0, 2.8571)
    assert (feb1["events_30d"], feb1["days_since_last_event"]) == (3, 2)
    assert feb1["amount_paid_90d"] == 60.0


def test_90_day_windows_and_a_long_idle_customer(gold):
    # Mar 31: 90 days = Jan 1-Mar 31: paid Jan 1, Jan 16, Feb 1 (the refund is not paid)
    assert _features(gold, 1, date(2026, 3, 31)) == PREMIUM_NORTH | NO_USAGE | {
        "tenure_days": 120, "days_since_last_event": 60,
        "payments_failed_90d": 1, "amount_paid_90d": 60.0,
        "tickets_30d": 0, "tickets_90d": 2, "high_priority_tickets_90d": 1, "churned_30d": None,
    }  # fmt: skip
    # Apr 1: Jan 1's payment leaves the 90 days (Jan 2-Apr 1); a 5-minute web session
    assert _features(gold, 1, date(2026, 4, 1)) == PREMIUM_NORTH | {
        "tenure_days": 121, "events_7d": 1, "events_30d": 1, "active_days_30d": 1,
        "minutes_7d": 5.0, "minutes_30d": 5.0, "usage_trend": 4.2857,
        "days_since_last_event": 0, "distinct_features_30d": 1, "mobile_share_30d": 0.0,
        "payments_failed_90d": 1, "amount_paid_90d": 40.0,
        "tickets_30d": 0, "tickets_90d": 2, "high_priority_tickets_90d": 1, "churned_30d": None,
    }  # fmt: skip


def test_windows_start_with_the_subscription_and_missing_records_are_unknown(gold):
    # customer 2's calendar starts on Jan 10: 21 days in its "30-day" window on Jan 30
    assert _features(gold, 2, date(2026, 1, 30)) == {
        "tenure_days": 20, "age_band": "18-24", "gender": "M", "region": "south",
        "acquisition_channel": "paid_search", "plan": "basic", "billing_cycle": "monthly",
        "monthly_price": 10.0, "events_7d": 1, "events_30d": 1, "active_days_30d": 1,
        "minutes_7d": 0.5, "minutes_30d": 0.5, "usage_trend": 4.2857,
        "days_since_last_event": 1, "distinct_features_30d": 1, "mobile_share_30d": 1.0,
        "payments_failed_90d": 0, "amount_paid_90d": 10.0,
        "tickets_30d": 0, "tickets_90d": 0, "high_priority_tickets_90d": 0, "churned_30d": 1,
    }  # fmt: skip
    # customer 3: no customer record, never active: days since its subscription started
    assert _features(gold, 3, date(2026, 1, 30)) == NO_USAGE | {
        "tenure_days": 10, "age_band": "unknown", "gender": "unknown", "region": "unknown",
        "acquisition_channel": "unknown", "plan": "standard", "billing_cycle": "annual",
        "monthly_price": 15.0, "days_since_last_event": 10,
        "payments_failed_90d": 0, "amount_paid_90d": 0.0,
        "tickets_30d": 0, "tickets_90d": 0, "high_priority_tickets_90d": 0, "churned_30d": 0,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("customer", "day", "label"),
    [
        (1, date(2026, 3, 2), 0),  # Mar 2 + 30 days = Apr 1, the last observed day
        (1, date(2026, 3, 3), None),  # its 30 days are not all observed yet
        (4, date(2026, 2, 17), 0),  # cancelled Mar 20, 31 days later
        (4, date(2026, 2, 18), 1),  # cancelled exactly 30 days later
        (2, date(2026, 2, 19), 1),
    ],
)
def test_the_30_day_churn_label_and_its_horizon(gold, customer, day, label):
    """The current subscription decides (customer 1's cancellation in 2025 does not count)."""
    assert _features(gold, customer, day)["churned_30d"] == label


def _revenue(con, day: date, plan: str, region: str) -> tuple:
    return con.execute(
        "SELECT revenue, refunds, payments, failed_payments, new_customers, "
        "cancelled_customers, active_customers FROM churn_gold.daily_revenue "
        "WHERE day = ? AND plan = ? AND region = ?",
        [day, plan, region],
    ).fetchone()


def test_daily_revenue_per_day_plan_and_region(gold):
    # Jan 1 (first payment) to Mar 1 (last payment): 60 days x 5 (plan, region) segments
    assert gold.execute(
        "SELECT count(*), min(day), max(day), sum(revenue), sum(refunds), sum(payments), "
        "sum(failed_payments) FROM churn_gold.daily_revenue"
    ).fetchone() == (300, date(2026, 1, 1), date(2026, 3, 1), 70.0, 20.0, 7, 2)
    # (revenue, refunds, payments, failed, new customers, cancelled customers, active)
    assert _revenue(gold, date(2026, 1, 1), "premium", "north") == (20.0, 0.0, 1, 0, 0, 0, 1)
    assert _revenue(gold, date(2026, 1, 15), "premium", "north") == (0.0, 0.0, 1, 1, 0, 0, 1)
    assert _revenue(gold, date(2026, 3, 1), "premium", "north") == (0.0, 20.0, 1, 0, 0, 0, 1)
    assert _revenue(gold, date(2026, 1, 1), "standard", "north") == (0.0, 0.0, 0, 0, 0, 0, 0)


def test_active_customers_follow_starts_and_cancellations(gold):
    assert _revenue(gold, date(2026, 1, 9), "basic", "south")[-1] == 0
    assert _revenue(gold, date(2026, 1, 10), "basic", "south") == (10.0, 0.0, 1, 0, 1, 0, 1)
    assert _revenue(gold, date(2026, 2, 10), "basic", "south") == (0.0, 0.0, 1, 1, 0, 0, 1)
    assert _revenue(gold, date(2026, 2, 19), "basic", "south")[-1] == 1
    assert _revenue(gold, date(2026, 2, 20), "basic", "south") == (0.0, 0.0, 0, 0, 0, 1, 0)
    # customer 3 has no customer record: its region is "unknown"
    assert _revenue(gold, date(2026, 1, 20), "standard", "unknown")[4:] == (1, 0, 1)
    assert _revenue(gold, date(2026, 3, 1), "premium", "east")[-1] == 1  # cancels Mar 20
