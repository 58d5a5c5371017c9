"""Landing files must be exact, reproducible and never visible half-written."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from medallion.generate import writer
from medallion.generate.writer import write_batch


def _frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": pl.Series([1, 2, 3], dtype=pl.Int64),
            "name": ["Zoë Müller", None, 'a, quoted "name"'],
            "at": [datetime(2026, 1, 5, 13, 45, 10), datetime(2026, 1, 6, 0, 0, 1), None],
            "day": [date(2026, 1, 5), None, date(2025, 12, 31)],
            "amount": pl.Series(["12.99", "7.99", None]).cast(pl.Decimal(10, 2)),
            "score": pl.Series([1, None, 5], dtype=pl.Int32),
            "duration": [1.5, None, 1234.25],
        }
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_same_frame_gives_same_bytes(tmp_path: Path, fmt: str) -> None:
    first, second = tmp_path / "a" / f"x.{fmt}", tmp_path / "b" / f"x.{fmt}"
    write_batch(_frame(), first, fmt)
    write_batch(_frame(), second, fmt)
    assert first.read_bytes() == second.read_bytes()
    assert sorted(p.name for p in first.parent.iterdir()) == [f"x.{fmt}"]
    assert first.stat().st_mode & 0o777 == 0o644


def test_csv_has_header_iso_values_and_empty_nulls(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    write_batch(_frame(), path, "csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "id,name,at,day,amount,score,duration"
    assert lines[1] == "1,Zoë Müller,2026-01-05 13:45:10,2026-01-05,12.99,1,1.5"
    assert lines[2] == "2,,2026-01-06 00:00:01,,7.99,,"
    assert lines[3] == '3,"a, quoted ""name""",,2025-12-31,,5,1234.25'
    assert len(lines) == 4
    back = pl.read_csv(path, try_parse_dates=True)
    assert back["name"].to_list() == _frame()["name"].to_list()


def test_json_is_one_object_per_line_in_column_order(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    write_batch(_frame(), path, "json")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    rows = [json.loads(line) for line in lines]
    assert all(list(row) == _frame().columns for row in rows)
    assert rows[0] == {
        "id": 1,
        "name": "Zoë Müller",
        "at": "2026-01-05 13:45:10",
        "day": "2026-01-05",
        "amount": 12.99,
        "score": 1,
        "duration": 1.5,
    }
    assert rows[1]["name"] is None and rows[1]["day"] is None and rows[1]["score"] is None


def test_parquet_keeps_native_types(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    write_batch(_frame(), path, "parquet")
    schema = pq.read_schema(path)
    assert schema.field("id").type == pa.int64()
    assert schema.field("at").type == pa.timestamp("us")
    assert schema.field("day").type == pa.date32()
    assert schema.field("amount").type == pa.decimal128(10, 2)
    assert schema.field("score").type == pa.int32()
    assert pa.types.is_string(schema.field("name").type) or pa.types.is_large_string(
        schema.field("name").type
    )
    back = pl.read_parquet(path)
    assert back.equals(_frame())
    assert back["amount"].to_list()[0] == Decimal("12.99")


def test_failed_write_leaves_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "x.csv"
    write_batch(_frame(), path, "csv")
    before = path.read_bytes()

    def _broken(frame: pl.DataFrame, target: Path, fmt: str) -> None:
        target.write_text("half a fi")
        raise OSError("disk full")

    monkeypatch.setattr(writer, "_write", _broken)
    with pytest.raises(OSError, match="disk full"):
        write_batch(_frame().head(1), path, "csv")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]


def test_overwrites_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    write_batch(_frame(), path, "json")
    write_batch(_frame().head(1), path, "json")
    assert len(path.read_text(encoding="utf-8").splitlines()) == 1


def test_unknown_format_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown landing format"):
        write_batch(_frame(), tmp_path / "x.xlsx", "xlsx")
    assert list(tmp_path.iterdir()) == []
