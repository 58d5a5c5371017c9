"""Simulate the churn product's landing data: a subscription streaming business.

The pipeline, its data-quality checks, the churn model and the drift monitors all need data
with known, realistic structure: weekly seasonality, customers whose usage fades before they
cancel, row versions for mutable records, optional drift and optional defects. The whole world
is simulated up front with numpy (no loop over rows or customers) from one seed, then cut into
one landing file per source and day, so any single day's files are byte-identical whether they
are generated alone or together with all other days.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from medallion.generate import arrays
from medallion.generate.batches import days_to_deliver, write_daily_batches
from medallion.generate.defects import DefectOptions
from medallion.generate.options import DriftOptions

SPEC_PATH = Path(__file__).with_name("product.yaml")

FIRST_NAMES = (
    ("Anna", "anna"),
    ("Lukas", "lukas"),
    ("Marie", "marie"),
    ("Jonas", "jonas"),
    ("Sofia", "sofia"),
    ("Luca", "luca"),
    ("Emma", "emma"),
    ("Noah", "noah"),
    ("Chloé", "chloe"),
    ("Hugo", "hugo"),
    ("Lucía", "lucia"),
    ("Mateo", "mateo"),
    ("Giulia", "giulia"),
    ("Marco", "marco"),
    ("Sanne", "sanne"),
    ("Daan", "daan"),
    ("Zoë", "zoe"),
    ("Elias", "elias"),
    ("Lea", "lea"),
    ("Paul", "paul"),
    ("Inès", "ines"),
    ("José", "jose"),
    ("Mia", "mia"),
    ("Finn", "finn"),
)
LAST_NAMES = (
    ("Müller", "mueller"),
    ("Schmidt", "schmidt"),
    ("Schneider", "schneider"),
    ("Fischer", "fischer"),
    ("Martin", "martin"),
    ("Bernard", "bernard"),
    ("Dubois", "dubois"),
    ("Lefèvre", "lefevre"),
    ("García", "garcia"),
    ("Fernández", "fernandez"),
    ("López", "lopez"),
    ("Martínez", "martinez"),
    ("Rossi", "rossi"),
    ("Russo", "russo"),
    ("Bianchi", "bianchi"),
    ("Romano", "romano"),
    ("de Jong", "dejong"),
    ("Jansen", "jansen"),
    ("van Dijk", "vandijk"),
    ("Bakker", "bakker"),
    ("Weber", "weber"),
    ("Wagner", "wagner"),
    ("Moreau", "moreau"),
    ("Ricci", "ricci"),
)
DOMAINS = ("example.com", "example.net", "example.org")
REGIONS = ("DE", "FR", "ES", "IT", "NL")
PHONE_PREFIXES = ("+49", "+33", "+34", "+39", "+31")
GENDERS = ("F", "M", "X")
CHANNELS = ("organic", "paid_search", "social", "referral", "partner")
PLANS = ("basic", "standard", "premium")
MONTHLY_PRICES = (7.99, 12.99, 19.99)
ANNUAL_PRICES = (79.99, 129.99, 199.99)
BILLING_CYCLES = ("monthly", "annual")
FEATURES = ("play", "search", "download", "share", "settings", "profile")
DEVICES = ("mobile", "web", "tv", "tablet")
METHODS = ("card", "paypal", "sepa")
TICKET_CATEGORIES = ("billing", "technical", "account", "content")
PRIORITIES = ("low", "medium", "high")
SUBSCRIPTION_STATUSES = ("active", "cancelled")
PAYMENT_STATUSES = ("succeeded", "failed", "refunded")
TICKET_STATUSES = ("open", "resolved")

EXISTING_SHARE = 0.4
UPDATED_CUSTOMER_SHARE = 0.05
PLAN_CHANGE_SHARE = 0.04
DECLINE_DAYS = 21
WEEKDAY_USAGE = (1.0, 0.97, 0.98, 1.0, 1.08, 1.3, 1.3)
WEEKDAY_SIGNUPS = (1.15, 1.15, 1.1, 1.1, 1.0, 0.7, 0.65)
BASE_HAZARD = 0.0018
EARLY_TENURE_DAYS = 60
EARLY_TENURE_FACTOR = 1.8

_REGION_P = (0.3, 0.22, 0.18, 0.17, 0.13)
_GENDER_P = (0.48, 0.48, 0.04)
_CHANNEL_P = (0.35, 0.25, 0.2, 0.12, 0.08)
_CHANNEL_RISK = (0.0, 0.25, 0.35, -0.35, 0.1)
_DOMAIN_P = (0.6, 0.25, 0.15)
_PLAN_P = (0.35, 0.45, 0.2)
_PLAN_RISK = (0.2, 0.0, -0.1)
_FEATURE_P = (0.52, 0.2, 0.1, 0.05, 0.05, 0.08)
_FEATURE_SECONDS = (1500.0, 40.0, 300.0, 15.0, 60.0, 45.0)
_DEVICE_P = (0.42, 0.22, 0.26, 0.1)
_METHOD_P = (0.6, 0.25, 0.15)
_CATEGORY_P = (0.25, 0.4, 0.2, 0.15)
_CATEGORY_NEAR_CHURN_P = (0.42, 0.22, 0.26, 0.1)
_PRIORITY_P = (0.5, 0.35, 0.15)
_PRIORITY_NEAR_CHURN_P = (0.3, 0.4, 0.3)
_SIGNUP_HOURS = (0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 4, 4, 5, 4, 4, 4, 4, 5, 6, 7, 7, 6, 4, 0)
_USAGE_HOURS = (
    *(1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.0, 2.0, 2.0, 2.2),
    *(2.6, 2.4, 2.2, 2.3, 2.6, 3.2, 4.2, 5.5, 6.0, 5.5, 4.0, 2.2),
)
_SUPPORT_HOURS = (0, 0, 0, 0, 0, 0, 0, 1, 3, 5, 5, 5, 4, 4, 5, 5, 4, 3, 2, 2, 1, 1, 0, 0)
_BILLING_HOURS = (0, 2, 4, 4, 3, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

_NEVER = 1_000_000_000


@dataclass(frozen=True)
class _Population:
    """Per-customer attributes and latent traits, indexed by customer position."""

    n: int
    days: int
    signup_day: np.ndarray
    signup_sec: np.ndarray
    deliver_day: np.ndarray
    cancel_day: np.ndarray
    end_day: np.ndarray
    involuntary: np.ndarray
    plan: np.ndarray
    annual: np.ndarray
    base_rate: np.ndarray
    pay_risk: np.ndarray
    support_risk: np.ndarray
    primary_device: np.ndarray
    method: np.ndarray
    age: np.ndarray
    channel: np.ndarray
    change_day: np.ndarray
    new_plan: np.ndarray

    @property
    def cancelled(self) -> np.ndarray:
        """Whether the customer cancels inside the simulated window."""
        return self.cancel_day < self.days


def generate(
    landing_dir: Path,
    *,
    seed: int = 42,
    customers: int = 2000,
    days: int = 120,
    rows: int | None = None,
    start: date = date(2026, 1, 5),
    drift: DriftOptions | None = None,
    defects: DefectOptions | None = None,
    deliver_days: Iterable[int] | None = None,
) -> dict[str, int]:
    """Write landing files `<source>/<source>_<YYYY-MM-DD>.<ext>`; return rows written per source.

    `rows`, when given, sizes the world so that usage_events has about that many rows and
    overrides `customers`.
    """
    if rows is not None:
        customers = customers_for_rows(rows, days)
    if customers < 1 or days < 1:
        raise ValueError("customers and days must be positive")
    days_to_deliver(days, deliver_days)
    batches = _simulate(seed=seed, customers=customers, days=days, start=start, drift=drift)
    return write_daily_batches(
        Path(landing_dir),
        SPEC_PATH,
        batches,
        days=days,
        start=start,
        seed=seed,
        deliver_days=deliver_days,
        defects=defects,
    )


def customers_for_rows(rows: int, days: int) -> int:
    """Customer count for which usage_events, the largest source, has about `rows` rows."""
    reference, start = 4000, date(2026, 1, 5)
    rngs = _streams(0)
    population = _population(rngs["customers"], rngs["churn"], reference, days, start)
    _, _, rate = _usage_rates(population, _season(rngs["usage"], days, start))
    per_customer = float(rate.sum()) / reference
    return max(1, math.ceil(rows / per_customer))


def _simulate(
    *, seed: int, customers: int, days: int, start: date, drift: DriftOptions | None
) -> dict[str, tuple[pl.DataFrame, np.ndarray]]:
    """Every source as one frame sorted by delivery day, plus that day per row."""
    rngs = _streams(seed)
    population = _population(rngs["customers"], rngs["churn"], customers, days, start)
    epoch = arrays.epoch_day(start)
    return {
        "customers": _customers(rngs["customers"], population, epoch),
        "subscriptions": _subscriptions(rngs["subscriptions"], population, epoch),
        "usage_events": _usage(rngs["usage"], population, start, epoch, drift),
        "payments": _payments(rngs["payments"], population, epoch),
        "support_tickets": _tickets(rngs["tickets"], population, epoch),
    }


def _streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent generators per concern, all derived from one seed."""
    names = ("customers", "churn", "subscriptions", "usage", "payments", "tickets")
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {name: np.random.default_rng(child) for name, child in zip(names, children, strict=True)}


def _population(
    rng: np.random.Generator, churn_rng: np.random.Generator, n: int, days: int, start: date
) -> _Population:
    """Signups, plans, latent traits and cancellation days of all customers."""
    n_old = round(EXISTING_SHARE * n)
    weekday = (start.weekday() + np.arange(days)) % 7
    weights = np.asarray(WEEKDAY_SIGNUPS)[weekday] * (1 + 0.002 * np.arange(days))
    signup_day = np.concatenate(
        [
            rng.integers(-365, 0, n_old),
            rng.choice(days, n - n_old, p=weights / weights.sum()),
        ]
    )
    signup_sec = _seconds(rng, n, _SIGNUP_HOURS)
    order = np.lexsort((signup_sec, signup_day))
    signup_day, signup_sec = signup_day[order], signup_sec[order]

    plan = rng.choice(3, n, p=_PLAN_P)
    annual = rng.random(n) < 0.25
    engagement = rng.standard_normal(n)
    pay_risk = rng.standard_normal(n)
    support_risk = rng.standard_normal(n)
    base_rate = np.exp(np.log(3.0) - 0.5 * 0.7**2 + 0.7 * engagement)
    primary_device = rng.choice(4, n, p=_DEVICE_P)
    method = rng.choice(3, n, p=_METHOD_P)

    age = _ages(rng, n)
    channel = rng.choice(5, n, p=_CHANNEL_P)
    risk = (
        np.asarray(_PLAN_RISK)[plan]
        + np.asarray(_CHANNEL_RISK)[channel]
        + np.select([age < 25, age < 35, age < 50, age < 65], [0.35, 0.15, 0.0, -0.15], -0.1)
        - 0.8 * annual
        + 0.45 * pay_risk
        + 0.3 * support_risk
        - 0.55 * engagement
        + 0.4 * churn_rng.standard_normal(n)
    )
    hazard = BASE_HAZARD * np.exp(risk)
    tenure = np.maximum(0, -signup_day).astype(float)
    target = _cumulative_hazard(tenure, hazard) + churn_rng.exponential(1.0, n)
    cancel_at = signup_day + _inverse_cumulative_hazard(target, hazard)
    deliver_day = np.maximum(signup_day, 0)
    cancel_day = np.maximum(np.floor(np.minimum(cancel_at, 10 * days)), deliver_day + 1)
    cancel_day = cancel_day.astype(np.int64)
    involuntary = churn_rng.random(n) < 0.25
    lo, hi = deliver_day + 7, np.minimum(cancel_day, days)
    changes = (churn_rng.random(n) < PLAN_CHANGE_SHARE) & (hi > lo)
    change_day = lo + np.floor(churn_rng.random(n) * np.maximum(hi - lo, 1)).astype(np.int64)
    new_plan = (plan + churn_rng.integers(1, 3, n)) % 3
    return _Population(
        n=n,
        days=days,
        signup_day=signup_day,
        signup_sec=signup_sec,
        deliver_day=deliver_day,
        cancel_day=cancel_day,
        end_day=np.minimum(cancel_day, days),
        involuntary=involuntary,
        plan=plan,
        annual=annual,
        base_rate=base_rate,
        pay_risk=pay_risk,
        support_risk=support_risk,
        primary_device=primary_device,
        method=method,
        age=age,
        channel=channel,
        change_day=np.where(changes, change_day, _NEVER),
        new_plan=new_plan,
    )


def _ages(rng: np.random.Generator, n: int) -> np.ndarray:
    """Age in years at signup, 18 to 80, skewed towards younger customers."""
    return 18.0 + 62.0 * rng.beta(2.0, 3.0, n)


def _seconds(rng: np.random.Generator, n: int, hour_weights: tuple[float, ...]) -> np.ndarray:
    """Seconds after midnight following a time-of-day profile of 24 hourly weights."""
    p = np.asarray(hour_weights, dtype=float)
    hour = rng.choice(24, size=n, p=p / p.sum())
    return hour * 3600 + rng.integers(0, 3600, size=n)


def _after(sec: np.ndarray, earliest: np.ndarray) -> np.ndarray:
    """Squeeze seconds of a day into the part of the day after `earliest`."""
    return earliest + sec * (86_400 - earliest) // 86_400


def _cumulative_hazard(t: np.ndarray, hazard: np.ndarray) -> np.ndarray:
    """Cumulative hazard after `t` days of tenure; new customers churn faster."""
    early = np.minimum(t, EARLY_TENURE_DAYS)
    return hazard * (EARLY_TENURE_FACTOR * early + np.maximum(t - EARLY_TENURE_DAYS, 0))


def _inverse_cumulative_hazard(x: np.ndarray, hazard: np.ndarray) -> np.ndarray:
    """Tenure in days at which the cumulative hazard reaches `x`."""
    y = x / hazard
    knee = EARLY_TENURE_FACTOR * EARLY_TENURE_DAYS
    return np.where(y < knee, y / EARLY_TENURE_FACTOR, EARLY_TENURE_DAYS + (y - knee))


def _active_cells(population: _Population) -> tuple[np.ndarray, np.ndarray]:
    """(day, customer) index pairs of every active customer-day, ordered by day."""
    days = np.arange(population.days)[:, None]
    active = (population.signup_day[None, :] <= days) & (days < population.end_day[None, :])
    day_idx, customer_idx = np.nonzero(active)
    return day_idx, customer_idx


def _closeness(population: _Population, customer_idx: np.ndarray, day: np.ndarray) -> np.ndarray:
    """0 until `DECLINE_DAYS` before cancellation, then rising to 1 on the last active day."""
    left = population.cancel_day[customer_idx] - day
    return np.where(left <= DECLINE_DAYS, 1.0 - (left - 1) / DECLINE_DAYS, 0.0)


def _season(rng: np.random.Generator, days: int, start: date) -> np.ndarray:
    """Daily usage multiplier: weekly pattern plus a little day-to-day noise."""
    weekday = (start.weekday() + np.arange(days)) % 7
    return np.asarray(WEEKDAY_USAGE)[weekday] * np.exp(0.04 * rng.standard_normal(days))


def _usage_rates(
    population: _Population, season: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected events per active customer-day, fading before a voluntary cancellation."""
    day_idx, customer_idx = _active_cells(population)
    fading = _closeness(population, customer_idx, day_idx)
    fading = np.where(population.involuntary[customer_idx], 0.0, fading)
    first = day_idx == population.signup_day[customer_idx]
    partial = np.where(first, (86_400 - population.signup_sec[customer_idx]) / 86_400, 1.0)
    rate = population.base_rate[customer_idx] * season[day_idx] * (1.0 - 0.85 * fading) * partial
    return day_idx, customer_idx, rate


def _customers(
    rng: np.random.Generator, population: _Population, epoch: int
) -> tuple[pl.DataFrame, np.ndarray]:
    """Customer rows: one per customer plus a later version for a few changed customers."""
    n, days = population.n, population.days
    first = rng.integers(0, len(FIRST_NAMES), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    domain = rng.choice(3, n, p=_DOMAIN_P)
    case = rng.choice(3, n, p=(0.93, 0.05, 0.02))
    number = rng.integers(100_000_000, 1_000_000_000, n)
    region = rng.choice(5, n, p=_REGION_P)
    gender = rng.choice(3, n, p=_GENDER_P)
    dob_offset = np.floor(population.age * 365.25).astype(np.int64) + rng.integers(0, 30, n)
    missing = rng.random((4, n))
    room = days - 1 - population.deliver_day
    updated = (rng.random(n) < UPDATED_CUSTOMER_SHARE) & (room >= 1)
    update_day = population.deliver_day + 1 + np.floor(rng.random(n) * room).astype(np.int64)
    email_change = rng.random(n) < 0.5
    moved_region = (region + rng.integers(1, 5, n)) % 5
    update_sec = _seconds(rng, n, _SUPPORT_HOURS)

    changed = np.flatnonzero(updated)
    rows = np.concatenate([np.arange(n), changed])
    is_update = np.arange(rows.size) >= n
    new_email = is_update & email_change[rows]
    row_domain = np.where(new_email, (domain[rows] + 1) % 3, domain[rows])
    row_case = np.where(new_email, 0, case[rows])
    row_region = np.where(is_update & ~email_change[rows], moved_region[rows], region[rows])
    signup_t = population.signup_day * 86_400 + population.signup_sec
    row_t = np.where(is_update, update_day[rows] * 86_400 + update_sec[rows], signup_t[rows])
    row_day = np.where(is_update, update_day[rows], population.deliver_day[rows])

    customer_id = _customer_ids(rows)
    first_lower = _labels([a for _, a in FIRST_NAMES], first[rows])
    last_lower = _labels([a for _, a in LAST_NAMES], last[rows])
    first_title = _labels([a.title() for _, a in FIRST_NAMES], first[rows])
    last_title = _labels([a.title() for _, a in LAST_NAMES], last[rows])
    tail = [pl.lit("."), customer_id.cast(pl.String), pl.lit("@"), _labels(DOMAINS, row_domain)]
    lower = pl.concat_str([first_lower, pl.lit("."), last_lower, *tail])
    title = pl.concat_str([first_title, pl.lit("."), last_title, *tail])
    email = (
        pl.when(pl.lit(pl.Series(row_case == 1)))
        .then(title)
        .when(pl.lit(pl.Series(row_case == 2)))
        .then(lower.str.to_uppercase())
        .otherwise(lower)
    )
    full_name = pl.concat_str(
        [
            _labels([d for d, _ in FIRST_NAMES], first[rows]),
            pl.lit(" "),
            _labels([d for d, _ in LAST_NAMES], last[rows]),
        ]
    )
    phone = pl.concat_str(
        [_labels(PHONE_PREFIXES, region[rows]), pl.lit(" "), pl.lit(pl.Series(number[rows]))]
    )
    frame = pl.select(
        customer_id=customer_id,
        full_name=full_name,
        email=email,
        phone=arrays.missing(phone, missing[0][rows] < 0.08),
        date_of_birth=arrays.missing(
            arrays.dates(epoch + population.signup_day[rows] - dob_offset[rows]),
            missing[1][rows] < 0.04,
        ),
        gender=arrays.missing(_labels(GENDERS, gender[rows]), missing[2][rows] < 0.02),
        region=_labels(REGIONS, row_region),
        acquisition_channel=arrays.missing(
            _labels(CHANNELS, population.channel[rows]), missing[3][rows] < 0.01
        ),
        signup_date=arrays.dates(epoch + population.signup_day[rows]),
        updated_at=arrays.timestamps(epoch, row_t),
    )
    return arrays.by_day(frame, row_day, row_t, rows)


def _subscriptions(
    rng: np.random.Generator, population: _Population, epoch: int
) -> tuple[pl.DataFrame, np.ndarray]:
    """Subscription versions: created at signup, changed plan, cancelled."""
    n, days = population.n, population.days
    created_t = population.signup_day * 86_400 + population.signup_sec + rng.integers(3, 30, n)
    change_t = population.change_day * 86_400 + _seconds(rng, n, _SUPPORT_HOURS)
    cancel_t = population.cancel_day * 86_400 + _seconds(rng, n, _SUPPORT_HOURS)
    changed = np.flatnonzero(population.change_day < days)
    cancelled = np.flatnonzero(population.cancelled)
    rows = np.concatenate([np.arange(n), changed, cancelled])
    kind = np.repeat([0, 1, 2], [n, changed.size, cancelled.size])
    plan_now = np.where(
        kind == 0, population.plan[rows], _plan_on(population, rows, population.cancel_day[rows])
    )
    row_t = np.choose(kind, [created_t[rows], change_t[rows], cancel_t[rows]])
    row_day = np.choose(
        kind,
        [population.deliver_day[rows], population.change_day[rows], population.cancel_day[rows]],
    )
    annual = population.annual[rows]
    frame = pl.select(
        subscription_id=_subscription_ids(rows),
        customer_id=_customer_ids(rows),
        plan=_labels(PLANS, plan_now),
        billing_cycle=_labels(BILLING_CYCLES, annual.astype(np.int64)),
        monthly_price=_money(_monthly_price(plan_now, annual)),
        status=_labels(SUBSCRIPTION_STATUSES, (kind == 2).astype(np.int64)),
        started_at=arrays.dates(epoch + population.signup_day[rows]),
        cancelled_at=arrays.missing(arrays.dates(epoch + population.cancel_day[rows]), kind != 2),
        updated_at=arrays.timestamps(epoch, row_t),
    )
    return arrays.by_day(frame, row_day, row_t, rows)


def _usage(
    rng: np.random.Generator,
    population: _Population,
    start: date,
    epoch: int,
    drift: DriftOptions | None,
) -> tuple[pl.DataFrame, np.ndarray]:
    """App telemetry events: Poisson counts per active customer-day, then per-event details."""
    day_idx, customer_idx, rate = _usage_rates(population, _season(rng, population.days, start))
    counts = rng.poisson(rate)
    customer = np.repeat(customer_idx.astype(np.int32), counts)
    day = np.repeat(day_idx.astype(np.int32), counts)
    del day_idx, customer_idx, rate, counts
    n = customer.size
    sec = _seconds(rng, n, _USAGE_HOURS)
    first = np.flatnonzero(day == population.signup_day[customer])
    sec[first] = _after(sec[first], population.signup_sec[customer[first]] + 60)
    t = day.astype(np.int64) * 86_400 + sec
    order = np.argsort(t, kind="stable")
    customer, day, t = customer[order], day[order], t[order]
    del sec, order
    feature = rng.choice(len(FEATURES), n, p=_FEATURE_P).astype(np.uint8)
    device = np.where(
        rng.random(n, dtype=np.float32) < 0.7,
        population.primary_device[customer],
        rng.choice(len(DEVICES), n, p=_DEVICE_P),
    ).astype(np.uint8)
    duration = np.asarray(_FEATURE_SECONDS)[feature] * np.exp(0.8 * rng.standard_normal(n) - 0.32)
    shift = rng.random(n, dtype=np.float32)
    missing = rng.random(n, dtype=np.float32)
    if drift is not None:
        drifted = day >= drift.from_day
        to_tv = drifted & (shift < min(1.0, 0.35 * drift.strength))
        device[to_tv] = DEVICES.index("tv")
        duration[drifted] *= 1.0 + 0.6 * drift.strength
    frame = pl.select(
        event_id=pl.Series(np.arange(1, n + 1, dtype=np.int64)),
        customer_id=_customer_ids(customer),
        event_at=arrays.timestamps(epoch, t),
        feature=_labels(FEATURES, feature),
        device=arrays.missing(_labels(DEVICES, device), missing < 0.004),
        duration_sec=arrays.missing(
            pl.Series(np.round(duration, 1)), (missing >= 0.004) & (missing < 0.01)
        ),
    )
    return frame, day


def _payments(
    rng: np.random.Generator, population: _Population, epoch: int
) -> tuple[pl.DataFrame, np.ndarray]:
    """Billing attempts every cycle from the subscription start, with one retry on failure."""
    period = np.where(population.annual, 365, 30)
    skipped = (np.maximum(0, -population.signup_day) + period - 1) // period
    first_day = population.signup_day + skipped * period
    attempts = np.where(
        population.end_day > first_day, (population.end_day - first_day + period - 1) // period, 0
    )
    customer = np.repeat(np.arange(population.n), attempts)
    k = np.arange(customer.size) - np.repeat(np.cumsum(attempts) - attempts, attempts)
    day = first_day[customer] + k * period[customer]
    m = customer.size
    closeness = _closeness(population, customer, day)
    logit = (
        -3.4
        + 0.9 * population.pay_risk[customer]
        + np.where(population.involuntary[customer], 4.0, 1.2) * closeness
    )
    failed = rng.random(m) < arrays.sigmoid(logit)
    refunded = ~failed & (rng.random(m) < 0.01)
    initial = day == population.signup_day[customer]
    sec = np.where(
        initial,
        population.signup_sec[customer] + rng.integers(5, 120, m),
        _seconds(rng, m, _BILLING_HOURS),
    )
    retry = failed & (day + 3 < population.end_day[customer])
    retry_failed = rng.random(m) < arrays.sigmoid(logit - 0.3)
    retry_sec = _seconds(rng, m, _BILLING_HOURS)
    missing_method = rng.random(m) < 0.01

    retried = np.flatnonzero(retry)
    rows = np.concatenate([np.arange(m), retried])
    is_retry = np.arange(rows.size) >= m
    row_customer = customer[rows]
    row_day = np.where(is_retry, day[rows] + 3, day[rows])
    row_t = row_day * 86_400 + np.where(is_retry, retry_sec[rows], sec[rows])
    status = np.where(
        is_retry,
        retry_failed[rows].astype(np.int64),
        np.where(failed[rows], 1, np.where(refunded[rows], 2, 0)),
    )
    plan_now = _plan_on(population, row_customer, row_day)
    annual = population.annual[row_customer]
    amount = np.where(
        annual, np.asarray(ANNUAL_PRICES)[plan_now], np.asarray(MONTHLY_PRICES)[plan_now]
    )
    order = np.lexsort((np.arange(rows.size), row_t))
    frame = pl.select(
        payment_id=pl.Series(np.arange(1, rows.size + 1, dtype=np.int64)),
        customer_id=_customer_ids(row_customer[order]),
        subscription_id=_subscription_ids(row_customer[order]),
        paid_at=arrays.timestamps(epoch, row_t[order]),
        amount=_money(amount[order]),
        currency=pl.lit("EUR"),
        status=_labels(PAYMENT_STATUSES, status[order]),
        method=arrays.missing(
            _labels(METHODS, population.method[row_customer[order]]), missing_method[rows][order]
        ),
    )
    return frame, row_day[order]


def _tickets(
    rng: np.random.Generator, population: _Population, epoch: int
) -> tuple[pl.DataFrame, np.ndarray]:
    """Help-desk tickets, more frequent and more severe close to a cancellation."""
    day_idx, customer_idx = _active_cells(population)
    closeness = _closeness(population, customer_idx, day_idx)
    boost = np.where(population.involuntary[customer_idx], 1.5, 4.0) * closeness
    p = 0.005 * np.exp(0.5 * population.support_risk[customer_idx]) * (1.0 + boost)
    opened = rng.random(day_idx.size) < p
    customer, day, near = customer_idx[opened], day_idx[opened], closeness[opened] > 0
    m = customer.size
    category = np.where(
        near,
        rng.choice(len(TICKET_CATEGORIES), m, p=_CATEGORY_NEAR_CHURN_P),
        rng.choice(len(TICKET_CATEGORIES), m, p=_CATEGORY_P),
    )
    priority = np.where(
        near,
        rng.choice(len(PRIORITIES), m, p=_PRIORITY_NEAR_CHURN_P),
        rng.choice(len(PRIORITIES), m, p=_PRIORITY_P),
    )
    sec = _seconds(rng, m, _SUPPORT_HOURS)
    sec = np.where(
        day == population.signup_day[customer],
        _after(sec, population.signup_sec[customer] + 60),
        sec,
    )
    resolve_day = day + rng.integers(1, 6, m)
    resolve_sec = _seconds(rng, m, _SUPPORT_HOURS)
    score = 4.1 - 1.3 * near - 0.4 * (priority == 2) + 0.9 * rng.standard_normal(m)
    satisfaction = np.clip(np.round(score), 1, 5).astype(np.int32)

    opened_t = day * 86_400 + sec
    by_open = np.lexsort((customer, opened_t))
    ticket_id = np.empty(m, dtype=np.int64)
    ticket_id[by_open] = np.arange(1, m + 1)
    resolved = np.flatnonzero(resolve_day < population.days)
    rows = np.concatenate([np.arange(m), resolved])
    is_resolved = np.arange(rows.size) >= m
    row_day = np.where(is_resolved, resolve_day[rows], day[rows])
    row_t = np.where(is_resolved, resolve_day[rows] * 86_400 + resolve_sec[rows], opened_t[rows])
    frame = pl.select(
        ticket_id=pl.Series(ticket_id[rows]),
        customer_id=_customer_ids(customer[rows]),
        opened_at=arrays.timestamps(epoch, opened_t[rows]),
        category=_labels(TICKET_CATEGORIES, category[rows]),
        priority=_labels(PRIORITIES, priority[rows]),
        status=_labels(TICKET_STATUSES, is_resolved.astype(np.int64)),
        satisfaction=arrays.missing(pl.Series(satisfaction[rows]), ~is_resolved),
        updated_at=arrays.timestamps(epoch, row_t),
    )
    return arrays.by_day(frame, row_day, row_t, ticket_id[rows])


def _plan_on(population: _Population, customer: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Plan index of each customer on the given day, after any plan change."""
    changed = day >= population.change_day[customer]
    return np.where(changed, population.new_plan[customer], population.plan[customer])


def _monthly_price(plan: np.ndarray, annual: np.ndarray) -> np.ndarray:
    """Monthly price, annual plans at a discounted twelfth of the yearly price."""
    yearly = np.round(np.asarray(ANNUAL_PRICES) / 12, 2)
    return np.where(annual, yearly[plan], np.asarray(MONTHLY_PRICES)[plan])


def _customer_ids(index: np.ndarray) -> pl.Series:
    """customer_id of customers at the given positions."""
    return pl.Series(100_001 + index.astype(np.int64))


def _subscription_ids(index: np.ndarray) -> pl.Series:
    """subscription_id of the one subscription of customers at the given positions."""
    return pl.Series(500_001 + index.astype(np.int64))


def _labels(values: Iterable[str], codes: np.ndarray) -> pl.Series:
    """Strings for integer category codes."""
    return pl.Series(list(values), dtype=pl.String).gather(codes)


def _money(amount: np.ndarray) -> pl.Series:
    """Amounts in euros as DECIMAL(10,2)."""
    return pl.Series(np.round(amount, 2)).cast(pl.Decimal(10, 2))
