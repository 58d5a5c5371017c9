"""The churn generator must produce spec-exact, reproducible and realistic landing data."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
import yaml

from medallion.generate.defects import CANARY_PATTERN, EXTRA_COLUMN, KINDS, DefectOptions
from medallion.products.churn.generator import (
    SPEC_PATH,
    DriftOptions,
    customers_for_rows,
    generate,
)
from medallion_tests.generate.landing_files import file_columns, landing_bytes

SPEC = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
SOURCES: dict = SPEC["sources"]
START = date(2026, 1, 5)
EXTENSIONS = {"csv": "csv", "parquet": "parquet", "json": "json"}
WORLD = {"seed": 42, "customers": 800, "days": 91}
SMALL = {"seed": 5, "customers": 150, "days": 28}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    landing = tmp_path_factory.mktemp("churn_world")
    return landing, generate(landing, **WORLD)


@pytest.fixture(scope="module")
def con(world: tuple[Path, dict[str, int]]) -> duckdb.DuckDBPyConnection:
    landing, _ = world
    connection = duckdb.connect()
    for name, source in SOURCES.items():
        connection.execute(f"CREATE VIEW {name} AS SELECT * FROM {_reader(landing, name, source)}")
    return connection


def _reader(landing: Path, name: str, source: dict, *, as_text: bool = False) -> str:
    """DuckDB table function reading all landing files of one source with the spec's types."""
    files = f"'{landing / name}/*.{EXTENSIONS[source['format']]}'"
    if source["format"] == "parquet":
        return f"read_parquet({files})"
    columns = ", ".join(
        f"'{c}': '{'VARCHAR' if as_text else col['type']}'" for c, col in source["columns"].items()
    )
    if source["format"] == "csv":
        return f"read_csv({files}, header = true, strict_mode = true, columns = {{{columns}}})"
    return f"read_json({files}, format = 'newline_delimited', columns = {{{columns}}})"


def _day(path: Path) -> int:
    stamp = re.search(r"_(\d{4}-\d{2}-\d{2})\.", path.name).group(1)
    return (date.fromisoformat(stamp) - START).days


def _row_count(path: Path, fmt: str) -> int:
    if fmt == "parquet":
        return pq.ParquetFile(path).metadata.num_rows
    lines = path.read_text(encoding="utf-8").splitlines()
    return len(lines) - (fmt == "csv")


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


def test_layout_one_non_empty_file_per_source_and_day(world: tuple[Path, dict[str, int]]) -> None:
    landing, written = world
    assert sorted(p.name for p in landing.iterdir()) == sorted(SOURCES)
    for name, source in SOURCES.items():
        files = sorted((landing / name).iterdir())
        pattern = rf"{name}_\d{{4}}-\d{{2}}-\d{{2}}\.{EXTENSIONS[source['format']]}"
        assert all(re.fullmatch(pattern, p.name) for p in files), name
        assert all(0 <= _day(p) < WORLD["days"] for p in files)
        rows = [_row_count(p, source["format"]) for p in files]
        assert min(rows) > 0, name
        assert sum(rows) == written[name]
    assert len(list((landing / "usage_events").iterdir())) == WORLD["days"]
    assert 120_000 < written["usage_events"] < 260_000
    assert written["customers"] > WORLD["customers"]


def test_columns_and_types_match_the_spec(world: tuple[Path, dict[str, int]]) -> None:
    landing, _ = world
    connection = duckdb.connect()
    for name, source in SOURCES.items():
        declared = {c: col["type"].replace(" ", "") for c, col in source["columns"].items()}
        for path in sorted((landing / name).iterdir()):
            assert file_columns(path, source["format"]) == list(declared), path.name
        if source["format"] == "parquet":
            described = connection.execute(
                f"DESCRIBE SELECT * FROM {_reader(landing, name, source)}"
            ).fetchall()
            assert {row[0]: row[1].replace(" ", "") for row in described} == declared
            continue
        text = _reader(landing, name, source, as_text=True)
        failures = " + ".join(
            f"count(*) FILTER (WHERE {c} IS NOT NULL AND TRY_CAST({c} AS {t}) IS NULL)"
            for c, t in declared.items()
        )
        assert connection.execute(f"SELECT {failures} FROM {text}").fetchone()[0] == 0, name
        required = [c for c, col in source["columns"].items() if col.get("required")]
        nulls = " + ".join(f"count(*) FILTER (WHERE {c} IS NULL)" for c in required)
        assert connection.execute(f"SELECT {nulls} FROM {text}").fetchone()[0] == 0, name


def test_keys_unique_except_later_versions(con: duckdb.DuckDBPyConnection) -> None:
    for name, source in SOURCES.items():
        key = ", ".join(source["key"])
        version = source.get("version_column")
        if version is None:
            assert (
                con.execute(f"SELECT count(*) - count(DISTINCT ({key})) FROM {name}").fetchone()[0]
                == 0
            ), name
            continue
        total, distinct, versions = con.execute(
            f"SELECT count(*), count(DISTINCT ({key})), count(DISTINCT ({key}, {version})) FROM {name}"
        ).fetchone()
        assert versions == total, name
        assert total - distinct > 0, name


def _versions(landing: Path, name: str) -> pl.DataFrame:
    """Key, updated_at and delivery day of every row of a versioned source."""
    source = SOURCES[name]
    schema = dict.fromkeys(source["columns"], pl.String)
    read = pl.read_csv if source["format"] == "csv" else pl.read_ndjson
    return pl.concat(
        [
            read(p, schema=schema)
            .select(*source["key"], source["version_column"])
            .with_columns(pl.col("updated_at").str.to_datetime(), day=pl.lit(_day(p)))
            for p in sorted((landing / name).iterdir())
        ]
    )


def test_versions_arrive_later_with_later_updated_at(
    world: tuple[Path, dict[str, int]],
) -> None:
    landing, _ = world
    shares = {}
    for name in ("customers", "subscriptions", "support_tickets"):
        frame = _versions(landing, name)
        key = SOURCES[name]["key"]
        ordered = frame.sort([*key, "day", "updated_at"])
        steps = ordered.group_by(key).agg(
            pl.len().alias("n"),
            pl.col("day").diff().min().alias("day_step"),
            pl.col("updated_at").diff().min().alias("time_step"),
        )
        later = steps.filter(pl.col("n") > 1)
        assert (later["day_step"] > 0).all(), name
        assert (later["time_step"] > timedelta(0)).all(), name
        shares[name] = later.height / steps.height
    assert 0.02 < shares["customers"] < 0.09
    assert 0.15 < shares["subscriptions"] < 0.45
    assert shares["support_tickets"] > 0.7


def test_existing_customers_arrive_on_day_zero(world: tuple[Path, dict[str, int]]) -> None:
    landing, _ = world
    files = sorted((landing / "customers").iterdir())
    schema = dict.fromkeys(SOURCES["customers"]["columns"], pl.String)
    frames = [
        pl.read_csv(p, schema=schema).with_columns(pl.col("signup_date").str.to_date())
        for p in files
    ]
    existing = frames[0].filter(pl.col("signup_date") < START)
    assert _day(files[0]) == 0
    assert 0.35 * WORLD["customers"] < existing.height < 0.45 * WORLD["customers"]
    later = pl.concat(frames[1:])
    assert (
        later.filter(pl.col("signup_date") < START)["customer_id"]
        .is_in(existing["customer_id"].implode())
        .all()
    )
    signups = later.unique("customer_id").filter(pl.col("signup_date") >= START)
    weekday = signups.filter(pl.col("signup_date").dt.weekday() <= 5).height / 5
    weekend = signups.filter(pl.col("signup_date").dt.weekday() >= 6).height / 2
    assert weekday > 1.2 * weekend


def test_weekends_have_more_usage(con: duckdb.DuckDBPyConnection) -> None:
    ratios = con.execute(
        """
        WITH daily AS (
            SELECT event_at::DATE AS day, count(*) AS events FROM usage_events GROUP BY 1
        )
        SELECT avg(events) FILTER (WHERE isodow(day) >= 6)
             / avg(events) FILTER (WHERE isodow(day) <= 5)
        FROM daily GROUP BY date_trunc('week', day) HAVING count(*) = 7
        """
    ).fetchall()
    assert len(ratios) >= 10
    assert np.median([r[0] for r in ratios]) > 1.15


def test_usage_fades_before_cancellation(con: duckdb.DuckDBPyConnection) -> None:
    """Churners use the product far less in the two weeks before cancelling."""
    churners, stayers = con.execute(
        f"""
        WITH last AS (
            SELECT customer_id, max(cancelled_at::DATE) AS cancelled_at
            FROM subscriptions GROUP BY 1
        ),
        anchor AS (
            SELECT customer_id, cancelled_at IS NOT NULL AS churned,
                   coalesce(cancelled_at, DATE '{START}' + {WORLD["days"]}) AS anchor
            FROM last
        ),
        counts AS (
            SELECT a.churned,
                   count(*) FILTER (WHERE e.event_at >= a.anchor - 14) AS recent,
                   count(*) FILTER (WHERE e.event_at < a.anchor - 28) AS earlier
            FROM anchor a JOIN usage_events e USING (customer_id)
            JOIN customers c USING (customer_id)
            WHERE c.signup_date::DATE <= a.anchor - 42 AND a.anchor >= DATE '{START}' + 42
              AND e.event_at >= a.anchor - 42 AND e.event_at < a.anchor
            GROUP BY a.churned
        )
        SELECT max(recent / earlier) FILTER (WHERE churned),
               max(recent / earlier) FILTER (WHERE NOT churned)
        FROM counts
        """
    ).fetchone()
    assert churners < 0.7
    assert 0.85 < stayers < 1.15


def test_churn_label_rate_and_learnable_signal(con: duckdb.DuckDBPyConnection) -> None:
    """Weekly snapshots: 5-15% churn within 30 days, and recent usage ranks churners."""
    frame = con.execute(
        f"""
        WITH subs AS (
            SELECT customer_id, min(started_at::DATE) AS started_at,
                   max(cancelled_at::DATE) AS cancelled_at
            FROM subscriptions GROUP BY 1
        ),
        snapshots AS (
            SELECT DATE '{START}' + CAST(7 * i AS INTEGER) AS snapshot FROM range(3, 9) t(i)
        ),
        base AS (
            SELECT s.snapshot, c.customer_id,
                   coalesce(c.cancelled_at < s.snapshot + 30, false) AS churned
            FROM snapshots s JOIN subs c
              ON c.started_at < s.snapshot - 14
             AND (c.cancelled_at IS NULL OR c.cancelled_at >= s.snapshot)
        )
        SELECT b.churned,
               count(e.event_id) FILTER (WHERE e.event_at >= b.snapshot - 7) AS events_7d,
               count(e.event_id) AS events_21d
        FROM base b LEFT JOIN usage_events e
          ON e.customer_id = b.customer_id
         AND e.event_at < b.snapshot AND e.event_at >= b.snapshot - 21
        GROUP BY b.snapshot, b.customer_id, b.churned
        """
    ).pl()
    label = frame["churned"].to_numpy()
    assert 0.05 < label.mean() < 0.15
    score = -(frame["events_7d"].to_numpy() + 1) / (frame["events_21d"].to_numpy() + 3)
    assert _auc(label, score) > 0.57
    assert _auc(label, -frame["events_7d"].to_numpy().astype(float)) > 0.62


def _auc(label: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by the rank-sum formula, ties counted half."""
    order = np.argsort(score, kind="stable")
    ranks = np.empty(len(score))
    sorted_scores = score[order]
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    ranks[order] = np.repeat(first + (counts + 1) / 2, counts)
    positives = label.sum()
    negatives = len(label) - positives
    return float((ranks[label].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def test_payments_fail_and_tickets_rise_near_cancellation(con: duckdb.DuckDBPyConnection) -> None:
    near_fail, far_fail = con.execute(
        """
        WITH c AS (
            SELECT customer_id, max(cancelled_at::DATE) AS cancelled_at
            FROM subscriptions GROUP BY 1
        )
        SELECT avg((p.status = 'failed')::INT) FILTER (WHERE p.paid_at >= c.cancelled_at - 21),
               avg((p.status = 'failed')::INT) FILTER (WHERE c.cancelled_at IS NULL)
        FROM payments p JOIN c USING (customer_id)
        """
    ).fetchone()
    assert near_fail > 1.8 * far_fail
    near_tickets, far_tickets = con.execute(
        f"""
        WITH c AS (
            SELECT s.customer_id, max(s.cancelled_at::DATE) AS cancelled_at,
                   min(s.started_at::DATE) AS started_at
            FROM subscriptions s GROUP BY 1
        ),
        t AS (SELECT DISTINCT ticket_id, customer_id, opened_at::TIMESTAMP AS opened_at
              FROM support_tickets),
        churners AS (
            SELECT * FROM c WHERE cancelled_at >= DATE '{START}' + 21
              AND started_at <= cancelled_at - 21
        ),
        stayers AS (SELECT * FROM c WHERE cancelled_at IS NULL AND started_at < DATE '{START}')
        SELECT
            (SELECT count(*) FROM churners JOIN t USING (customer_id)
              WHERE t.opened_at >= churners.cancelled_at - 21)
              / (21 * (SELECT count(*) FROM churners)),
            (SELECT count(*) FROM stayers JOIN t USING (customer_id))
              / ({WORLD["days"]} * (SELECT count(*) FROM stayers))
        """
    ).fetchone()
    assert near_tickets > 1.6 * far_tickets


def test_drift_shifts_usage_after_from_day_only(tmp_path: Path) -> None:
    params = {"seed": 11, "customers": 300, "days": 42}
    generate(tmp_path / "clean", **params)
    generate(tmp_path / "drift", **params, drift=DriftOptions(from_day=21))
    clean, drifted = landing_bytes(tmp_path / "clean"), landing_bytes(tmp_path / "drift")
    assert clean.keys() == drifted.keys()
    for name in clean:
        changed = clean[name] != drifted[name]
        assert changed == (name.startswith("usage_events") and _day(Path(name)) >= 21), name

    def _profile(landing: Path) -> pl.DataFrame:
        return (
            pl.read_parquet(landing / "usage_events" / "*.parquet")
            .with_columns(
                after=pl.col("event_at").dt.date() >= START + timedelta(days=21),
                weekend=pl.col("event_at").dt.weekday() >= 6,
            )
            .group_by("after", "weekend")
            .agg(
                pl.col("duration_sec").median().alias("duration"),
                (pl.col("device") == "tv").mean().alias("tv"),
            )
        )

    def _get(frame: pl.DataFrame, after: bool, weekend: bool, column: str) -> float:
        return frame.filter(pl.col("after") == after, pl.col("weekend") == weekend)[column].item()

    base, shifted = _profile(tmp_path / "clean"), _profile(tmp_path / "drift")
    for weekend in (False, True):
        ratio = _get(shifted, True, weekend, "duration") / _get(base, True, weekend, "duration")
        assert 1.5 < ratio < 1.7
        assert _get(shifted, True, weekend, "tv") > _get(base, True, weekend, "tv") + 0.2
    season_ratio = _get(base, False, True, "duration") / _get(base, False, False, "duration")
    assert 0.9 < season_ratio < 1.1
    assert abs(_get(base, False, True, "tv") - _get(base, False, False, "tv")) < 0.03


def test_deliver_days_gives_identical_files(tmp_path: Path) -> None:
    generate(tmp_path / "all", **SMALL)
    written = generate(tmp_path / "some", **SMALL, deliver_days=range(3, 5))
    everything, some = landing_bytes(tmp_path / "all"), landing_bytes(tmp_path / "some")
    expected = {name: content for name, content in everything.items() if _day(Path(name)) in (3, 4)}
    assert some == expected
    for name, source in SOURCES.items():
        paths = sorted((tmp_path / "some" / name).glob("*"))
        assert written[name] == sum(_row_count(p, source["format"]) for p in paths)
    assert written["usage_events"] > 0
    with pytest.raises(ValueError, match="deliver_days"):
        generate(tmp_path / "bad", **SMALL, deliver_days=[SMALL["days"]])


def test_defects_hit_only_the_chosen_day(tmp_path: Path) -> None:
    expected = generate(tmp_path / "clean", **SMALL)
    defects = DefectOptions(day=2, kinds=KINDS, rate=0.05)
    written = generate(tmp_path / "dirty", **SMALL, defects=defects)
    clean, dirty = landing_bytes(tmp_path / "clean"), landing_bytes(tmp_path / "dirty")
    assert clean.keys() == dirty.keys()
    for name in clean:
        assert (clean[name] != dirty[name]) == (_day(Path(name)) == 2), name
    stamp = (START + timedelta(days=2)).isoformat()
    customers = (tmp_path / "dirty" / "customers" / f"customers_{stamp}.csv").read_text(
        encoding="utf-8"
    )
    header = customers.splitlines()[0].split(",")
    assert header[-1] == EXTRA_COLUMN and "acquisition_channel" not in header
    assert re.search(CANARY_PATTERN, customers)
    assert any(line.startswith("malformed") for line in customers.splitlines())
    usage = pl.read_parquet(tmp_path / "dirty" / "usage_events" / f"usage_events_{stamp}.parquet")
    assert usage.columns[-1] == EXTRA_COLUMN and "duration_sec" not in usage.columns
    assert usage["event_id"].is_duplicated().any()
    assert usage["customer_id"].null_count() > 0
    assert (usage["event_at"].dt.year() >= 2031).any()
    payments = pl.read_parquet(tmp_path / "dirty" / "payments" / f"payments_{stamp}.parquet")
    assert (payments["amount"] < 0).any()
    assert written["usage_events"] > expected["usage_events"]
    assert written["customers"] > expected["customers"]


def test_customers_for_rows_hits_the_target(tmp_path: Path) -> None:
    customers = customers_for_rows(60_000, 35)
    assert customers_for_rows(120_000, 35) > customers
    written = generate(tmp_path, seed=3, customers=customers, days=35)
    assert 0.85 * 60_000 < written["usage_events"] < 1.15 * 60_000
