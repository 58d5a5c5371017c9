"""The deliveries generator must produce spec-exact, reproducible landing data with a delay
that the declared drivers explain."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
import yaml

from medallion.generate.defects import CANARY_PATTERN, EXTRA_COLUMN, KINDS, DefectOptions
from medallion.generate.options import DriftOptions
from medallion.products.deliveries.generator import SPEC_PATH, generate, shipments_for_rows
from medallion_tests.generate.landing_files import file_columns, landing_bytes

SPEC = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
SOURCES: dict = SPEC["sources"]
START = date(2026, 1, 5)
EXTENSIONS = {"csv": "csv", "parquet": "parquet", "json": "json"}
WORLD = {"seed": 42, "shipments": 6000, "days": 56}
SMALL = {"seed": 5, "shipments": 800, "days": 21}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    landing = tmp_path_factory.mktemp("deliveries_world")
    return landing, generate(landing, **WORLD)


def _read(landing: Path, name: str) -> str:
    """SQL reading every landing file of a source with the spec's types."""
    source = SOURCES[name]
    files = f"'{landing / name}/*.{EXTENSIONS[source['format']]}'"
    columns = ", ".join(f"'{c}': '{col['type']}'" for c, col in source["columns"].items())
    if source["format"] == "parquet":
        return f"read_parquet({files})"
    if source["format"] == "csv":
        return f"read_csv({files}, header = true, columns = {{{columns}}})"
    return f"read_json({files}, format = 'newline_delimited', columns = {{{columns}}})"


def _latest(landing: Path, name: str) -> str:
    """SQL of a source's rows, the latest version per key."""
    source = SOURCES[name]
    version = source.get("version_column")
    if version is None:
        return f"(SELECT * FROM {_read(landing, name)})"
    key = ", ".join(source["key"])
    return (
        f"(SELECT * FROM {_read(landing, name)} QUALIFY row_number() OVER "
        f"(PARTITION BY {key} ORDER BY {version} DESC) = 1)"
    )


@pytest.fixture(scope="module")
def con(world: tuple[Path, dict[str, int]]) -> duckdb.DuckDBPyConnection:
    landing, _ = world
    connection = duckdb.connect()
    for name in SOURCES:
        connection.execute(f"CREATE VIEW {name} AS SELECT * FROM {_latest(landing, name)}")
    return connection


@pytest.fixture(scope="module")
def delays(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every delivered shipment with its drivers and its delay in hours."""
    return con.execute(
        """
        WITH delivered AS (
            SELECT shipment_id, min(event_at) AS delivered_at FROM tracking_events
            WHERE status = 'delivered' GROUP BY 1
        ),
        load AS (
            SELECT origin_hub, CAST(created_at AS DATE) AS created, count(*) AS n
            FROM shipments GROUP BY ALL
        )
        SELECT s.service_level, s.area_type, s.distance_km,
               coalesce(w.storm, false) AS storm,
               l.n / h.daily_capacity AS load_ratio,
               date_diff('second', s.promised_at, d.delivered_at) / 3600 AS delay
        FROM shipments AS s
        JOIN delivered AS d USING (shipment_id)
        JOIN hubs AS h ON h.hub = s.origin_hub
        JOIN load AS l ON l.origin_hub = s.origin_hub AND l.created = CAST(s.created_at AS DATE)
        LEFT JOIN weather AS w
               ON w.region = s.destination_region AND w.day = CAST(s.promised_at AS DATE)
        """
    ).pl()


def _mean_delay(delays: pl.DataFrame, by: str) -> dict:
    return dict(delays.group_by(by).agg(pl.col("delay").mean()).iter_rows())


def _day(path: Path) -> int:
    stamp = re.search(r"_(\d{4}-\d{2}-\d{2})\.", path.name).group(1)
    return (date.fromisoformat(stamp) - START).days


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", **SMALL)
    second = generate(tmp_path / "b", **SMALL)
    other = generate(tmp_path / "c", **{**SMALL, "seed": 6})
    files = landing_bytes(tmp_path / "a")
    assert first == second
    assert files == landing_bytes(tmp_path / "b")
    assert set(first) == set(SOURCES)
    different = landing_bytes(tmp_path / "c")
    assert other != first
    assert all(different.get(name) != content for name, content in files.items())


def test_columns_and_types_match_the_spec(world: tuple[Path, dict[str, int]]) -> None:
    landing, written = world
    connection = duckdb.connect()
    for name, source in SOURCES.items():
        declared = {c: col["type"] for c, col in source["columns"].items()}
        paths = sorted((landing / name).iterdir())
        assert paths and all(0 <= _day(p) < WORLD["days"] for p in paths), name
        for path in paths:
            assert file_columns(path, source["format"]) == list(declared), path.name
        files = f"'{landing / name}/*.{EXTENSIONS[source['format']]}'"
        if source["format"] == "parquet":
            described = connection.execute(f"DESCRIBE SELECT * FROM read_parquet({files})")
            assert {row[0]: row[1] for row in described.fetchall()} == declared
            continue
        as_text = ", ".join(f"'{c}': 'VARCHAR'" for c in declared)
        read = (
            f"read_csv({files}, header = true, strict_mode = true, columns = {{{as_text}}})"
            if source["format"] == "csv"
            else f"read_json({files}, format = 'newline_delimited', columns = {{{as_text}}})"
        )
        failures = " + ".join(
            f"count(*) FILTER (WHERE {c} IS NOT NULL AND TRY_CAST({c} AS {t}) IS NULL)"
            for c, t in declared.items()
        )
        required = [c for c, col in source["columns"].items() if col.get("required")]
        nulls = " + ".join(f"count(*) FILTER (WHERE {c} IS NULL)" for c in required)
        rows, bad, missing = connection.execute(
            f"SELECT count(*), {failures}, {nulls} FROM {read}"
        ).fetchone()
        assert (rows, bad, missing) == (written[name], 0, 0), name


def test_keys_unique_except_later_versions(world: tuple[Path, dict[str, int]]) -> None:
    landing, written = world
    connection = duckdb.connect()
    for name, source in SOURCES.items():
        key = ", ".join(source["key"])
        total, keys = connection.execute(
            f"SELECT count(*), count(DISTINCT ({key})) FROM {_read(landing, name)}"
        ).fetchone()
        assert total == written[name], name
        if source.get("version_column"):
            assert 0 < total - keys < 0.1 * total, name
        else:
            assert total == keys, name


def test_weekly_seasonality_in_shipments(con: duckdb.DuckDBPyConnection) -> None:
    per_weekday = dict(
        con.execute(
            "SELECT isodow(created_at), count(*) / count(DISTINCT CAST(created_at AS DATE)) "
            "FROM shipments GROUP BY 1"
        ).fetchall()
    )
    assert per_weekday[1] > 1.1 * per_weekday[5] > 2 * per_weekday[6] > 4 * per_weekday[7]


def test_delay_signal_from_distance_load_storms_service_and_area(delays: pl.DataFrame) -> None:
    """The delay depends on the declared drivers strongly enough to learn, not perfectly."""
    area, storms, service = (
        _mean_delay(delays, by) for by in ("area_type", "storm", "service_level")
    )
    assert area["rural"] > area["suburban"] + 3 > area["urban"] + 3
    assert storms[True] > storms[False] + 8
    assert service["economy"] < service["standard"] < service["express"]
    assert delays.select(pl.corr("distance_km", "delay")).item() > 0.1
    assert delays.select(pl.corr("load_ratio", "delay")).item() > 0.1
    design = np.column_stack(
        [
            np.ones(delays.height),
            delays["distance_km"].to_numpy(),
            delays["storm"].to_numpy(),
            np.maximum(delays["load_ratio"].to_numpy(), 0.95),
            *(delays["area_type"].to_numpy() == a for a in ("suburban", "rural")),
            *(delays["service_level"].to_numpy() == s for s in ("standard", "economy")),
        ]
    ).astype(float)
    target = delays["delay"].to_numpy()
    beta, *_ = np.linalg.lstsq(design, target, rcond=None)
    residual = target - design @ beta
    r2 = 1 - residual.var() / target.var()
    assert 0.25 < r2 < 0.8
    assert 0.5 < float((target <= 0).mean()) < 0.85  # most parcels arrive on time


def test_drift_adds_storms_and_load_from_its_day_only(tmp_path: Path) -> None:
    params = {"seed": 11, "shipments": 4000, "days": 42}
    generate(tmp_path / "clean", **params)
    generate(tmp_path / "drift", **params, drift=DriftOptions(from_day=21))
    clean, drifted = landing_bytes(tmp_path / "clean"), landing_bytes(tmp_path / "drift")
    assert clean.keys() == drifted.keys()
    for name in clean:
        if not name.startswith("tracking_events") and _day(Path(name)) < 21:
            assert clean[name] == drifted[name], name

    def _after(landing: Path) -> tuple[float, float]:
        weather = pl.read_ndjson(landing / "weather" / "*.json")
        later = weather.filter(pl.col("day") >= str(START + timedelta(days=21)))
        shipments = pl.read_csv(landing / "shipments" / "*.csv")
        created = shipments["created_at"].str.to_datetime().dt.date()
        return later["storm"].mean(), (created >= START + timedelta(days=21)).sum()

    storms, volume = _after(tmp_path / "clean")
    drift_storms, drift_volume = _after(tmp_path / "drift")
    assert drift_storms > 1.5 * storms
    assert 1.2 * volume < drift_volume < 1.4 * volume


def test_deliver_days_gives_identical_files(tmp_path: Path) -> None:
    generate(tmp_path / "all", **SMALL)
    written = generate(tmp_path / "some", **SMALL, deliver_days=range(3, 5))
    everything, some = landing_bytes(tmp_path / "all"), landing_bytes(tmp_path / "some")
    assert some == {name: data for name, data in everything.items() if _day(Path(name)) in (3, 4)}
    assert written["tracking_events"] > 0 and written["hubs"] == 0
    with pytest.raises(ValueError, match="deliver_days"):
        generate(tmp_path / "bad", **SMALL, deliver_days=[SMALL["days"]])


def test_defects_hit_only_the_chosen_day(tmp_path: Path) -> None:
    expected = generate(tmp_path / "clean", **SMALL)
    written = generate(tmp_path / "dirty", **SMALL, defects=DefectOptions(day=2, kinds=KINDS))
    clean, dirty = landing_bytes(tmp_path / "clean"), landing_bytes(tmp_path / "dirty")
    assert clean.keys() == dirty.keys()
    for name in clean:
        assert (clean[name] != dirty[name]) == (_day(Path(name)) == 2), name
    stamp = (START + timedelta(days=2)).isoformat()
    shipments = (tmp_path / "dirty" / "shipments" / f"shipments_{stamp}.csv").read_text("utf-8")
    assert shipments.splitlines()[0].split(",")[-1] == EXTRA_COLUMN
    assert re.search(CANARY_PATTERN, shipments)
    assert any(line.startswith("malformed") for line in shipments.splitlines())
    weather = pl.read_ndjson(tmp_path / "dirty" / "weather" / f"weather_{stamp}.json")
    assert weather["region"].is_duplicated().any()
    assert written["tracking_events"] > expected["tracking_events"]


def test_shipments_for_rows_hits_the_target(tmp_path: Path) -> None:
    shipments = shipments_for_rows(30_000, 28)
    assert shipments_for_rows(60_000, 28) > shipments
    written = generate(tmp_path, seed=3, shipments=shipments, days=28)
    assert 0.85 * 30_000 < written["tracking_events"] < 1.15 * 30_000
    assert written["tracking_events"] > max(v for k, v in written.items() if k != "tracking_events")
