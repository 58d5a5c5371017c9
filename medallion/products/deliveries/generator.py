"""Simulate the deliveries product's landing data: a parcel network and its delivery delays.

The delay model, the hub dashboard and every check need data of known structure: a delay
that distance, hub load, storms, service level and area type explain (with noise and a
delivery window that turns a late evening into the next morning), weekly seasonality,
address corrections arriving as later row versions, a weather feed keyed on (region, day)
with late revisions, optional drift and optional defects. Every day is drawn from its own
seed with vectorized numpy (the only loops are over days), so drift from a day on leaves the
shipments and weather of earlier days as they were, and a day's files are byte-identical
whether generated alone or together with all other days.
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

HUBS = ("BER", "HAM", "MUC", "DUS", "FRA", "LEJ", "STR", "HAN")
HUB_NAMES = (
    "Berlin-Schönefeld",
    "Hamburg-Billbrook",
    "München-Aschheim",
    "Düsseldorf-Reisholz",
    "Frankfurt-Flughafen",
    "Leipzig-Radefeld",
    "Stuttgart-Kornwestheim",
    "Hannover-Lehrte",
)
REGIONS = ("DE-BE", "DE-HH", "DE-BY", "DE-NW", "DE-HE", "DE-SN", "DE-BW", "DE-NI")
"""Hub i serves region i."""
HUB_LATITUDES = (52.39, 53.54, 48.17, 51.18, 50.05, 51.42, 48.87, 52.37)
HUB_LONGITUDES = (13.52, 10.08, 11.71, 6.85, 8.57, 12.22, 9.18, 9.97)
CITIES = (
    ("Berlin", "Berlin-Spandau", "Berlin-Müggelheim"),
    ("Hamburg", "Hamburg-Bergedorf", "Hamburg-Neuengamme"),
    ("München", "Freising", "Mittenwald"),
    ("Köln", "Bergisch Gladbach", "Monschau"),
    ("Frankfurt am Main", "Bad Homburg", "Lauterbach"),
    ("Leipzig", "Markkleeberg", "Oberwiesenthal"),
    ("Stuttgart", "Ludwigsburg", "Titisee-Neustadt"),
    ("Hannover", "Garbsen", "Soltau"),
)
"""Urban, suburban and rural place names per region."""
POSTCODES = (10115, 20095, 80331, 50667, 60311, 4103, 70173, 30159)
AREA_TYPES = ("urban", "suburban", "rural")
SERVICE_LEVELS = ("express", "standard", "economy")
STATUSES = ("received", "sorted", "in_transit", "out_for_delivery", "delivered", "exception")
EXCEPTION_CODES = ("address_issue", "weather", "damaged", "recipient_absent")
FIRST_NAMES = (
    *("Anna", "Ben", "Clara", "David", "Emilia", "Felix", "Greta", "Hannah"),
    *("Ilias", "Jana", "Karl", "Lina", "Mehmet", "Nora", "Oskar", "Paula"),
)
LAST_NAMES = (
    *("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"),
    *("Hoffmann", "Schäfer", "Koch", "Richter", "Yılmaz", "Wolf", "Neumann", "Schwarz"),
)
STREETS = (
    *("Hauptstraße", "Schulstraße", "Gartenstraße", "Bahnhofstraße", "Dorfstraße"),
    *("Bergstraße", "Birkenweg", "Lindenstraße", "Kirchstraße", "Waldstraße", "Ringstraße"),
    *("Schillerstraße", "Goethestraße", "Am Markt", "Mühlenweg", "Rosenstraße"),
)
MOBILE_PREFIXES = ("151", "152", "157", "160", "162", "170", "172", "176")

DAY = 86_400
HOUR = 3_600
WEEKDAY_VOLUME = (1.25, 1.1, 1.05, 1.05, 1.0, 0.45, 0.1)
"""Shipments handed in per weekday, Monday first: senders ship the weekend's orders on Monday."""
GROWTH = 0.001
SAME_REGION_SHARE = 0.3
ROAD_FACTOR = 1.25
LINEHAUL_KMH = 65.0
CAPACITY_HEADROOM = 1.05
CUTOFF_SEC = 17 * HOUR
DELIVERY_OPENS, DELIVERY_CLOSES = 8 * HOUR, 20 * HOUR
CORRECTION_SHARE = 0.04
LOST_SHARE = 0.004
PHONE_MISSING_SHARE = 0.08
EXCEPTION_P = 0.03
STORM_P = 0.035
WEATHER_REVISION_SHARE = 0.08
WEATHER_HORIZON_DAYS = 12
"""Weather is simulated this many days past the window: late shipments are promised then."""
DRIFT_STORMS = 1.0
DRIFT_VOLUME = 0.3
"""With drift, storm probability × (1 + DRIFT_STORMS × strength), volume × (1 + DRIFT_VOLUME ×
strength): hubs run over capacity and more parcels meet a storm."""

# Hours of delay per unit of each driver; the truth the model has to recover.
_SERVICE_DELAY = (-5.0, -8.0, -11.0)
_AREA_DELAY = (0.0, 1.5, 5.0)
KM_DELAY = 0.006
KG_DELAY = 0.05
CONGESTION_FROM = 0.95
CONGESTION_DELAY = 14.0
STORM_DELAY = 9.0
RAIN_DELAY = 0.12
ORIGIN_STORM_DELAY = 4.0
CORRECTION_DELAY = 5.0
EXCEPTION_DELAY = 12.0
NOISE_HOURS = 3.5
TAIL_SHARE, TAIL_HOURS = 0.05, 10.0

_SERVICE_P = (0.15, 0.6, 0.25)
_TRANSIT_DAYS = (1, 2, 4)
_PROMISED_HOUR = (12, 18, 18)
_LOCAL_KM = ((2.0, 13.0), (10.0, 30.0), (25.0, 65.0))
"""Last-mile kilometres per area type: lowest, and the span above it."""
_REGION_P = (0.07, 0.04, 0.19, 0.26, 0.09, 0.06, 0.16, 0.13)
_SENDER_REGION_P = (0.1, 0.08, 0.17, 0.25, 0.12, 0.08, 0.12, 0.08)
_AREA_P = (
    (0.85, 0.15, 0.0),
    (0.8, 0.2, 0.0),
    (0.35, 0.3, 0.35),
    (0.5, 0.35, 0.15),
    (0.4, 0.35, 0.25),
    (0.35, 0.3, 0.35),
    (0.4, 0.35, 0.25),
    (0.3, 0.3, 0.4),
)
_CREATED_HOURS = (0, 0, 0, 0, 0, 0, 1, 3, 6, 8, 9, 9, 8, 8, 9, 10, 10, 8, 5, 3, 2, 1, 0, 0)
_OTHER_EXCEPTION_P = (0.3, 0.0, 0.2, 0.5)
_NETWORK, _PARCELS, _WEATHER = 0, 1, 2


@dataclass(frozen=True)
class _Network:
    """Senders (where they ship from, how much) and hubs (how much they handle a day)."""

    sender_region: np.ndarray
    sender_p: np.ndarray
    capacity: np.ndarray
    volume: np.ndarray
    """Expected shipments handed in per day."""


@dataclass(frozen=True)
class _Weather:
    """Daily weather per region, indexed [day, region], including the horizon past the window."""

    precipitation: np.ndarray
    temperature: np.ndarray
    storm: np.ndarray
    revised: np.ndarray
    revised_precipitation: np.ndarray
    measured_sec: np.ndarray
    revision_sec: np.ndarray

    @property
    def final_precipitation(self) -> np.ndarray:
        """Precipitation after revision: what actually fell."""
        return np.where(self.revised, self.revised_precipitation, self.precipitation)


def generate(
    landing_dir: Path,
    *,
    seed: int = 42,
    shipments: int = 40_000,
    days: int = 120,
    rows: int | None = None,
    start: date = date(2026, 1, 5),
    drift: DriftOptions | None = None,
    defects: DefectOptions | None = None,
    deliver_days: Iterable[int] | None = None,
) -> dict[str, int]:
    """Write landing files `<source>/<source>_<YYYY-MM-DD>.<ext>`; return rows written per source.

    `shipments` is the number handed in over the whole window; `rows`, when given, sizes the
    world so that tracking_events, the largest source, has about that many rows, and overrides
    `shipments`.
    """
    if rows is not None:
        shipments = shipments_for_rows(rows, days)
    if shipments < 1 or days < 1:
        raise ValueError("shipments and days must be positive")
    days_to_deliver(days, deliver_days)
    batches = _simulate(seed=seed, shipments=shipments, days=days, start=start, drift=drift)
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


def shipments_for_rows(rows: int, days: int) -> int:
    """Shipments for which tracking_events, the largest source, has about `rows` rows."""
    reference, start = 4000, date(2026, 1, 5)
    network = _network(0, reference, days, start)
    weather = _weather(0, days + WEATHER_HORIZON_DAYS, start, None)
    parcels = _parcels(0, network, weather, days, start, None)
    _, event_day = _events(parcels, days)
    per_shipment = event_day.size / max(1, parcels["shipment"].size)
    return max(1, math.ceil(rows / per_shipment))


def _simulate(
    *, seed: int, shipments: int, days: int, start: date, drift: DriftOptions | None
) -> dict[str, tuple[pl.DataFrame, np.ndarray]]:
    """Every source as one frame sorted by delivery day, plus that day per row."""
    network = _network(seed, shipments, days, start)
    weather = _weather(seed, days + WEATHER_HORIZON_DAYS, start, drift)
    parcels = _parcels(seed, network, weather, days, start, drift)
    epoch = arrays.epoch_day(start)
    return {
        "hubs": _hubs(network),
        "shipments": _shipments(parcels, days, epoch),
        "tracking_events": _events(parcels, days, epoch),
        "weather": _weather_rows(weather, days, epoch),
    }


def _rng(seed: int, stream: int, day: int = 0) -> np.random.Generator:
    """The generator of one stream (network, parcels, weather) on one day."""
    return np.random.default_rng(np.random.SeedSequence([seed, stream, day]))


def _weekday(day: np.ndarray | int, start: date) -> np.ndarray:
    """ISO weekday index (0 = Monday) of day offsets from `start`."""
    return (start.weekday() + np.asarray(day)) % 7


def _network(seed: int, shipments: int, days: int, start: date) -> _Network:
    """Senders with a heavy-tailed volume, each in one region; hub capacity per day."""
    rng = _rng(seed, _NETWORK)
    regions = len(REGIONS)
    senders = max(4 * regions, shipments // 50)
    sender_region = np.concatenate(
        [np.arange(regions), rng.choice(regions, senders - regions, p=_SENDER_REGION_P)]
    )
    size = 1.0 + rng.pareto(1.5, senders)
    sender_p = size / size.sum()
    factor = np.asarray(WEEKDAY_VOLUME)[_weekday(np.arange(days), start)]
    factor = factor * (1.0 + GROWTH * np.arange(days))
    per_factor = shipments / factor.sum()
    hub_share = np.bincount(sender_region, weights=sender_p, minlength=regions)
    weekday_volume = per_factor * float(np.mean(WEEKDAY_VOLUME[:5]))
    capacity = np.maximum(1.0, np.round(hub_share * weekday_volume * CAPACITY_HEADROOM))
    return _Network(
        sender_region=sender_region,
        sender_p=sender_p,
        capacity=capacity,
        volume=per_factor * factor,
    )


def _weather(seed: int, n_days: int, start: date, drift: DriftOptions | None) -> _Weather:
    """Rain and storms per region and day: a national front plus local variation.

    Drift raises the storm probability from its day on; the draws stay the same, so only
    storms are added and nothing before that day changes.
    """
    regions = len(REGIONS)
    rows: dict[str, list[np.ndarray]] = {}
    for d in range(n_days):
        rng = _rng(seed, _WEATHER, d)
        front = rng.standard_normal()
        local = rng.standard_normal(regions)
        wet = rng.random(regions) < arrays.sigmoid(-0.4 + front + 0.6 * local)
        rain = rng.gamma(0.9, 5.0, regions) * np.exp(0.3 * front)
        boost = 1.0 + DRIFT_STORMS * drift.strength if drift and d >= drift.from_day else 1.0
        p_storm = np.minimum(0.9, STORM_P * np.exp(0.8 * front + 0.4 * local) * boost)
        storm = rng.random(regions) < p_storm
        storm_rain = rng.gamma(2.0, 9.0, regions)
        day_of_year = date.fromordinal(start.toordinal() + d).timetuple().tm_yday
        season = 9.5 - 9.5 * math.cos(2 * math.pi * (day_of_year - 20) / 365.25)
        temperature = season - 1.5 * front + 2.5 * rng.standard_normal(regions)
        precipitation = np.round(wet * rain + storm * storm_rain, 1)
        values = {
            "precipitation": precipitation,
            "temperature": np.round(temperature, 1),
            "storm": storm,
            "revised": rng.random(regions) < WEATHER_REVISION_SHARE,
            "revised_precipitation": np.round(precipitation * rng.uniform(0.8, 1.25, regions), 1),
            "measured_sec": 23 * HOUR + rng.integers(0, 50 * 60, regions),
            "revision_sec": 6 * HOUR + rng.integers(0, 3 * HOUR, regions),
        }
        for name, value in values.items():
            rows.setdefault(name, []).append(value)
    return _Weather(**{name: np.stack(value) for name, value in rows.items()})


def _parcels(
    seed: int,
    network: _Network,
    weather: _Weather,
    days: int,
    start: date,
    drift: DriftOptions | None,
) -> dict[str, np.ndarray]:
    """Every shipment of the window with its route, promise, timeline and recipient."""
    parts = []
    for d in range(days):
        rng = _rng(seed, _PARCELS, d)
        boost = 1.0 + DRIFT_VOLUME * drift.strength if drift and d >= drift.from_day else 1.0
        n = int(rng.poisson(network.volume[d] * boost))
        parts.append(_day_parcels(rng, d, n, network, weather, start))
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def _day_parcels(
    rng: np.random.Generator,
    d: int,
    n: int,
    network: _Network,
    weather: _Weather,
    start: date,
) -> dict[str, np.ndarray]:
    """The shipments handed in on day `d`, ordered by creation time."""
    created_sec = np.sort(_seconds(rng, n, _CREATED_HOURS))
    sender = rng.choice(network.sender_p.size, n, p=network.sender_p)
    origin = network.sender_region[sender]
    dest = np.where(
        rng.random(n) < SAME_REGION_SHARE, origin, rng.choice(len(REGIONS), n, p=_REGION_P)
    )
    area = _categorical(rng.random(n), np.asarray(_AREA_P)[dest])
    service = rng.choice(len(SERVICE_LEVELS), n, p=_SERVICE_P)
    heavier = np.where(service == 2, 1.8, 1.0)
    weight = np.clip(np.round(2.0 * np.exp(0.9 * rng.standard_normal(n)) * heavier, 2), 0.1, 31.5)
    low, span = np.asarray(_LOCAL_KM).T
    local_km = low[area] + span[area] * rng.random(n)
    distance = np.round(ROAD_FACTOR * _hub_km()[origin, dest] + local_km, 1)
    corrected = rng.random(n) < CORRECTION_SHARE

    late = (created_sec >= CUTOFF_SEC).astype(np.int64)
    promised_day = d + np.asarray(_TRANSIT_DAYS)[service] + late
    promised_day = promised_day + (_weekday(promised_day, start) == 6)
    promised_t = promised_day * DAY + np.asarray(_PROMISED_HOUR)[service] * HOUR
    load = np.bincount(origin, minlength=len(HUBS))[origin] / network.capacity[origin]
    dest_storm = weather.storm[promised_day, dest]
    origin_storm = weather.storm[d, origin]
    u_exception = rng.random(n)
    p_exception = EXCEPTION_P * (1 + 2.0 * dest_storm + 1.5 * corrected + 0.7 * (area == 2))
    lost = rng.random(n) < LOST_SHARE
    exceptions = np.where(
        lost, 1, (u_exception < p_exception).astype(np.int64) + (u_exception < 0.12 * p_exception)
    )
    tail = rng.exponential(1.0, n) * (rng.random(n) < TAIL_SHARE)
    hours = (
        np.asarray(_SERVICE_DELAY)[service]
        + KM_DELAY * distance
        + KG_DELAY * weight
        + np.asarray(_AREA_DELAY)[area]
        + CONGESTION_DELAY * np.maximum(load - CONGESTION_FROM, 0.0)
        + STORM_DELAY * dest_storm
        + RAIN_DELAY * weather.final_precipitation[promised_day, dest]
        + ORIGIN_STORM_DELAY * origin_storm
        + CORRECTION_DELAY * corrected
        + EXCEPTION_DELAY * exceptions
        + NOISE_HOURS * rng.standard_normal(n)
        + TAIL_HOURS * tail
    )

    created_t = d * DAY + created_sec
    received_t = created_t + rng.integers(1200, 3 * HOUR, n)
    sorted_t = received_t + rng.integers(1800, 3 * HOUR, n)
    scans = 1 + np.minimum(3, (distance // 250).astype(np.int64))
    leg = np.round(distance / scans / LINEHAUL_KMH * HOUR + 1800).astype(np.int64)
    linehaul_end = sorted_t + scans * leg
    ready = linehaul_end + rng.integers(int(1.5 * HOUR), 4 * HOUR, n)
    wanted = promised_t + np.round(hours * HOUR).astype(np.int64)
    delivered_t = _delivery_window(np.maximum(wanted, ready), rng.random(n), start)
    ofd_t = np.maximum(delivered_t - rng.integers(1800, 5 * HOUR, n), linehaul_end + 1800)
    return {
        "shipment": (d + 1) * 1_000_000 + np.arange(1, n + 1, dtype=np.int64),
        "day": np.full(n, d, dtype=np.int64),
        "sender": 700_001 + sender,
        "origin": origin,
        "dest": dest,
        "area": area,
        "service": service,
        "weight": weight,
        "distance": distance,
        "created_t": created_t,
        "promised_t": promised_t,
        "corrected": corrected,
        "correction_t": created_t + rng.integers(HOUR, 20 * HOUR, n),
        "first": rng.integers(0, len(FIRST_NAMES), n),
        "last": rng.integers(0, len(LAST_NAMES), n),
        "street": rng.integers(0, len(STREETS), n),
        "house": rng.integers(1, 120, n),
        "new_street": rng.integers(0, len(STREETS), n),
        "new_house": rng.integers(1, 120, n),
        "postcode": np.asarray(POSTCODES)[dest] + 300 * area + rng.integers(0, 90, n),
        "mobile": rng.integers(0, len(MOBILE_PREFIXES), n),
        "number": rng.integers(1_000_000, 100_000_000, n),
        "phone_missing": rng.random(n) < PHONE_MISSING_SHARE,
        "received_t": received_t,
        "sorted_t": sorted_t,
        "scans": scans,
        "leg": leg,
        "scan_jitter": rng.integers(0, 1800, (n, 4)),
        "scan_hub": rng.integers(0, len(HUBS), (n, 4)),
        "linehaul_end": linehaul_end,
        "ofd_t": ofd_t,
        "delivered_t": delivered_t,
        "lost": lost,
        "exceptions": exceptions,
        "exception_at": rng.random((n, 2)),
        "exception_kind": rng.random((n, 2)),
        "dest_storm": dest_storm,
    }


def _delivery_window(t: np.ndarray, u: np.ndarray, start: date) -> np.ndarray:
    """Move delivery times into the couriers' window: 08:00 to 20:00, never on Sunday."""
    day, time_of_day = np.divmod(t, DAY)
    early = time_of_day < DELIVERY_OPENS
    time_of_day = np.where(early, DELIVERY_OPENS + (u * 2 * HOUR).astype(np.int64), time_of_day)
    evening = time_of_day >= DELIVERY_CLOSES
    day = day + evening
    time_of_day = np.where(evening, DELIVERY_OPENS + (u * 3 * HOUR).astype(np.int64), time_of_day)
    day = day + (_weekday(day, start) == 6)
    return day * DAY + time_of_day


def _hubs(network: _Network) -> tuple[pl.DataFrame, np.ndarray]:
    """Hub master data, delivered once on the first day."""
    frame = pl.select(
        hub=pl.Series(HUBS),
        name=pl.Series(HUB_NAMES),
        region=pl.Series(REGIONS),
        daily_capacity=pl.Series(network.capacity.astype(np.int64)),
        latitude=pl.Series(HUB_LATITUDES),
        longitude=pl.Series(HUB_LONGITUDES),
    )
    return frame, np.zeros(len(HUBS), dtype=np.int64)


def _shipments(
    parcels: dict[str, np.ndarray], days: int, epoch: int
) -> tuple[pl.DataFrame, np.ndarray]:
    """Shipment versions: created, then corrected address for a few, a few hours later."""
    n = parcels["shipment"].size
    rows = np.concatenate([np.arange(n), np.flatnonzero(parcels["corrected"])])
    update = np.arange(rows.size) >= n
    row_t = np.where(update, parcels["correction_t"][rows], parcels["created_t"][rows])
    keep = row_t < days * DAY
    rows, update, row_t = rows[keep], update[keep], row_t[keep]
    p = {name: value[rows] for name, value in parcels.items()}
    street = np.where(update, p["new_street"], p["street"])
    house = np.where(update, p["new_house"], p["house"])
    city = np.asarray(p["dest"]) * len(AREA_TYPES) + p["area"]
    address = pl.concat_str(
        [
            _labels(STREETS, street),
            pl.lit(" "),
            pl.lit(pl.Series(house)).cast(pl.String),
            pl.lit(", "),
            pl.lit(pl.Series(p["postcode"])).cast(pl.String).str.zfill(5),
            pl.lit(" "),
            _labels([c for cities in CITIES for c in cities], city),
        ]
    )
    phone = pl.concat_str(
        [
            pl.lit("+49 "),
            _labels(MOBILE_PREFIXES, p["mobile"]),
            pl.lit(" "),
            pl.lit(pl.Series(p["number"])).cast(pl.String),
        ]
    )
    frame = pl.select(
        shipment_id=pl.Series(p["shipment"]),
        sender_id=pl.Series(p["sender"]),
        recipient_name=pl.concat_str(
            [_labels(FIRST_NAMES, p["first"]), pl.lit(" "), _labels(LAST_NAMES, p["last"])]
        ),
        recipient_phone=arrays.missing(phone, p["phone_missing"]),
        recipient_address=address,
        destination_region=_labels(REGIONS, p["dest"]),
        area_type=_labels(AREA_TYPES, p["area"]),
        origin_hub=_labels(HUBS, p["origin"]),
        service_level=_labels(SERVICE_LEVELS, p["service"]),
        weight_kg=pl.Series(p["weight"]),
        distance_km=pl.Series(p["distance"]),
        created_at=arrays.timestamps(epoch, p["created_t"]),
        promised_at=arrays.timestamps(epoch, p["promised_t"]),
        updated_at=arrays.timestamps(epoch, row_t),
    )
    return arrays.by_day(frame, row_t // DAY, row_t, p["shipment"])


def _events(
    parcels: dict[str, np.ndarray], days: int, epoch: int = 0
) -> tuple[pl.DataFrame, np.ndarray]:
    """Scans of every shipment: received and sorted at the origin hub, in transit, out for
    delivery and delivered at the destination hub, exceptions on the way. Events after the
    window are not delivered yet."""
    idx = np.arange(parcels["shipment"].size)
    origin, dest = parcels["origin"], parcels["dest"]
    done = idx[~parcels["lost"]]
    scans = parcels["scans"]
    scan_of = np.repeat(idx, scans)
    j = np.arange(scan_of.size) - np.repeat(np.cumsum(scans) - scans, scans)
    scan_t = (
        parcels["sorted_t"][scan_of]
        + j * parcels["leg"][scan_of]
        + parcels["scan_jitter"][scan_of, j]
    )
    scan_hub = np.where(
        j == 0,
        origin[scan_of],
        np.where(j == scans[scan_of] - 1, dest[scan_of], parcels["scan_hub"][scan_of, j]),
    )
    exception_of = np.repeat(idx, parcels["exceptions"])
    k = np.arange(exception_of.size) - np.repeat(
        np.cumsum(parcels["exceptions"]) - parcels["exceptions"], parcels["exceptions"]
    )
    lost = parcels["lost"][exception_of]
    at = parcels["exception_at"][exception_of, k]
    begin = np.where(
        lost, parcels["linehaul_end"][exception_of], parcels["received_t"][exception_of]
    )
    span = np.where(lost, 6 * HOUR, parcels["ofd_t"][exception_of] - begin)
    exception_t = begin + (at * span).astype(np.int64)
    exception_hub = np.where(at < 0.5, origin[exception_of], dest[exception_of])
    kind = parcels["exception_kind"][exception_of, k]
    other = _categorical(kind, np.broadcast_to(_OTHER_EXCEPTION_P, (kind.size, 4)))
    code = np.select(
        [
            lost,
            parcels["dest_storm"][exception_of] & (kind < 0.6),
            parcels["corrected"][exception_of],
        ],
        [np.where(kind < 0.5, 0, 2), 1, 0],
        other,
    )

    of = np.concatenate([idx, idx, scan_of, done, done, exception_of])
    status = np.repeat(
        np.arange(len(STATUSES)),
        [idx.size, idx.size, scan_of.size, done.size, done.size, exception_of.size],
    )
    t = np.concatenate(
        [
            parcels["received_t"],
            parcels["sorted_t"],
            scan_t,
            parcels["ofd_t"][done],
            parcels["delivered_t"][done],
            exception_t,
        ]
    )
    hub = np.concatenate([origin, origin, scan_hub, dest[done], dest[done], exception_hub])
    exception_code = np.concatenate([np.full(t.size - code.size, -1), code])

    by_shipment = np.lexsort((status, t, of))
    first = np.searchsorted(of[by_shipment], of[by_shipment], side="left")
    seq = np.empty(t.size, dtype=np.int64)
    seq[by_shipment] = np.arange(t.size) - first
    event_id = parcels["shipment"][of] * 16 + seq
    keep = t < days * DAY
    order = np.lexsort((event_id[keep], t[keep]))
    of, status, t, hub = of[keep][order], status[keep][order], t[keep][order], hub[keep][order]
    exception_code, event_id = exception_code[keep][order], event_id[keep][order]
    frame = pl.select(
        event_id=pl.Series(event_id),
        shipment_id=pl.Series(parcels["shipment"][of]),
        hub=_labels(HUBS, hub),
        status=_labels(STATUSES, status),
        exception_code=arrays.missing(
            _labels(EXCEPTION_CODES, np.maximum(exception_code, 0)), exception_code < 0
        ),
        event_at=arrays.timestamps(epoch, t),
    )
    return frame, t // DAY


def _weather_rows(weather: _Weather, days: int, epoch: int) -> tuple[pl.DataFrame, np.ndarray]:
    """One measurement per region and day, published late that evening; a few revised the
    next morning as a new row version of the same (region, day)."""
    regions = len(REGIONS)
    day, region = np.divmod(np.arange(days * regions), regions)
    revised = weather.revised[:days].ravel() & (day + 1 < days)
    rows = np.concatenate([np.arange(days * regions), np.flatnonzero(revised)])
    update = np.arange(rows.size) >= days * regions
    row_day = np.where(update, day[rows] + 1, day[rows])
    sec = np.where(
        update, weather.revision_sec[:days].ravel()[rows], weather.measured_sec[:days].ravel()[rows]
    )
    row_t = row_day * DAY + sec
    precipitation = np.where(
        update,
        weather.revised_precipitation[:days].ravel()[rows],
        weather.precipitation[:days].ravel()[rows],
    )
    frame = pl.select(
        region=_labels(REGIONS, region[rows]),
        day=arrays.dates(epoch + day[rows]),
        precipitation_mm=pl.Series(precipitation),
        temperature_c=pl.Series(weather.temperature[:days].ravel()[rows]),
        storm=pl.Series(weather.storm[:days].ravel()[rows]),
        updated_at=arrays.timestamps(epoch, row_t),
    )
    return arrays.by_day(frame, row_day, row_t, rows)


def _hub_km() -> np.ndarray:
    """Great-circle kilometres between hubs."""
    lat, lon = np.radians(HUB_LATITUDES), np.radians(HUB_LONGITUDES)
    a = (
        np.sin((lat[:, None] - lat[None, :]) / 2) ** 2
        + np.cos(lat[:, None])
        * np.cos(lat[None, :])
        * np.sin((lon[:, None] - lon[None, :]) / 2) ** 2
    )
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))


def _categorical(u: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Category index per row from uniforms `u` and per-row probabilities `p` (rows sum to 1)."""
    cumulative = np.cumsum(p, axis=1)
    return np.minimum((u[:, None] >= cumulative).sum(axis=1), p.shape[1] - 1)


def _seconds(rng: np.random.Generator, n: int, hour_weights: tuple[float, ...]) -> np.ndarray:
    """Seconds after midnight following a time-of-day profile of 24 hourly weights."""
    p = np.asarray(hour_weights, dtype=float)
    hour = rng.choice(24, size=n, p=p / p.sum())
    return hour * HOUR + rng.integers(0, HOUR, size=n)


def _labels(values: Iterable[str], codes: np.ndarray) -> pl.Series:
    """Strings for integer category codes."""
    return pl.Series(list(values), dtype=pl.String).gather(np.asarray(codes, dtype=np.int64))
