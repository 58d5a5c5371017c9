"""Each defect kind must do exactly what data-quality and privacy tests rely on."""

from __future__ import annotations

import csv
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
import yaml

from medallion.generate.defects import (
    CANARY_PATTERN,
    EXTRA_COLUMN,
    KINDS,
    ColumnRoles,
    DefectOptions,
    append_malformed_lines,
    inject,
)
from medallion.generate.writer import write_batch

SPEC = Path(__file__).parents[2] / "medallion" / "products" / "churn" / "product.yaml"

ROLES = ColumnRoles(
    key=("id",),
    required=("email", "amount", "paid_at"),
    optional=("name", "birthday", "duration", "note"),
    pii=("name", "email", "birthday"),
    amounts=("amount", "duration"),
    temporal=("paid_at", "birthday"),
)


def _frame(n: int = 400) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": pl.Series(range(1, n + 1), dtype=pl.Int64),
            "name": [f"Person {i}" for i in range(n)],
            "email": [f"person.{i}@example.com" for i in range(n)],
            "amount": pl.Series([f"{1 + i % 20}.99" for i in range(n)]).cast(pl.Decimal(10, 2)),
            "paid_at": [datetime(2026, 1, 5, 8) + timedelta(minutes=i) for i in range(n)],
            "birthday": [date(1980, 1, 1) + timedelta(days=i) for i in range(n)],
            "duration": [10.0 + i for i in range(n)],
            "note": ["ok"] * n,
        }
    )


def _inject(kind: str, rate: float = 0.05, seed: int = 7) -> pl.DataFrame:
    return inject(_frame(), ROLES, kinds=(kind,), rate=rate, seed=seed)


def test_roles_come_from_the_spec() -> None:
    sources = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["sources"]
    customers = ColumnRoles.from_source(sources["customers"])
    assert customers.key == ("customer_id",)
    assert customers.required == ("email", "region", "signup_date", "updated_at")
    assert customers.pii == ("full_name", "email", "phone", "date_of_birth")
    assert customers.temporal == ("date_of_birth", "signup_date", "updated_at")
    assert customers.optional[-1] == "acquisition_channel"
    assert ColumnRoles.from_source(sources["payments"]).amounts == ("amount",)
    assert ColumnRoles.from_source(sources["usage_events"]).amounts == ("duration_sec",)


def test_options_reject_unknown_kinds_and_bad_rates() -> None:
    assert DefectOptions(day=1, kinds=KINDS).rate == 0.02
    with pytest.raises(ValueError, match="unknown defect kinds"):
        DefectOptions(day=1, kinds=("typo",))
    with pytest.raises(ValueError, match="rate"):
        DefectOptions(day=1, kinds=("nulls",), rate=0.0)
    with pytest.raises(ValueError, match="unknown defect kinds"):
        inject(_frame(), ROLES, kinds=("typo",), rate=0.1, seed=1)


def test_nulls_hit_required_non_key_columns_only() -> None:
    out = _inject("nulls")
    assert out.height == 400
    for column in ROLES.required:
        assert out[column].null_count() == 20
    for column in ("id", *ROLES.optional):
        assert out[column].null_count() == 0
        assert out[column].equals(_frame()[column])


def test_duplicates_repeat_exact_rows() -> None:
    out = _inject("duplicates")
    assert out.height == 420
    assert out.unique(maintain_order=True).equals(_frame())
    repeated = out.filter(pl.col("id").is_duplicated())
    assert repeated.height == 40
    assert repeated.unique().height == 20


def test_out_of_range_makes_negative_amounts_and_future_dates() -> None:
    original, out = _frame(), _inject("out_of_range")
    assert out.schema == original.schema
    for column in ROLES.amounts:
        negative = out.filter(pl.col(column) < 0)
        assert negative.height == 20
    future = out.filter(pl.col("paid_at") > original["paid_at"].max() + timedelta(days=4 * 365))
    assert future.height == 20
    assert (out.filter(pl.col("birthday").dt.year() >= 1985).height) == 20
    assert out["id"].equals(original["id"])


def test_out_of_range_only_touches_present_values() -> None:
    frame = _frame().with_columns(
        duration=pl.when(pl.col("id") % 2 == 0).then(None).otherwise(pl.col("duration"))
    )
    out = inject(frame, ROLES, kinds=("nulls", "out_of_range"), rate=0.05, seed=1)
    assert out["duration"].null_count() == 200
    assert out.filter(pl.col("duration") < 0).height == 10
    assert out.filter(pl.col("amount") < 0).height == 19


def test_canary_marks_string_pii_and_nothing_else() -> None:
    original, out = _frame(), _inject("canary", rate=0.1)
    pattern = re.compile(CANARY_PATTERN)
    emails = [v for v in out["email"].to_list() if pattern.search(v)]
    names = [v for v in out["name"].to_list() if pattern.search(v)]
    assert len(emails) == len(names) == 40
    assert all(re.fullmatch(r"canary-pii-\d+@medallion\.invalid", v) for v in emails)
    assert all(re.fullmatch(r"CANARY PII \d+", v) for v in names)
    for column in ("id", "amount", "paid_at", "birthday", "duration", "note"):
        assert out[column].equals(original[column])


def test_schema_change_adds_a_column_and_drops_an_optional_one() -> None:
    out = _inject("schema_change")
    assert EXTRA_COLUMN in out.columns
    assert "note" not in out.columns
    assert out.drop(EXTRA_COLUMN).equals(_frame().drop("note"))


def test_malformed_is_a_file_defect(tmp_path: Path) -> None:
    assert _inject("malformed").equals(_frame())
    path = tmp_path / "batch.csv"
    write_batch(_frame(), path, "csv")
    added = append_malformed_lines(path, rows=400, rate=0.01)
    assert added == 4
    with path.open(encoding="utf-8", newline="") as handle:
        records = list(csv.reader(handle))
    width = len(records[0])
    bad = [r for r in records if len(r) != width]
    assert len(records) == 1 + 400 + 4
    assert len(bad) == 4
    assert all(r[0].startswith("malformed") for r in bad)


def test_same_seed_same_defects_other_seed_other_rows() -> None:
    kinds = tuple(k for k in KINDS if k != "malformed")
    first = inject(_frame(), ROLES, kinds=kinds, rate=0.05, seed=3)
    again = inject(_frame(), ROLES, kinds=kinds, rate=0.05, seed=3)
    other = inject(_frame(), ROLES, kinds=kinds, rate=0.05, seed=4)
    assert first.equals(again)
    assert not first.equals(other)


def test_small_and_empty_batches() -> None:
    one = inject(_frame(3), ROLES, kinds=("nulls",), rate=0.01, seed=1)
    assert one["email"].null_count() == 1
    empty = _frame().clear()
    assert inject(empty, ROLES, kinds=KINDS, rate=0.5, seed=1).equals(empty)
