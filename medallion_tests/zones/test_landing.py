"""The landing folder as bronze sees it: files in flight wait, changed files are named and
become new batches, known files are not read again, refused files can be acknowledged, and
every message names the file and the problem in words."""

from __future__ import annotations

import os
import time
from pathlib import Path

import polars as pl
import pytest

from medallion.checks.landing import file_changes, files_readable
from medallion.zones import bronze, landing
from medallion.zones.bronze import ingest_source
from medallion.zones.landing import acknowledge, refused_files
from medallion_tests.conftest import write
from medallion_tests.landing_writers import HEADER
from medallion_tests.landing_writers import quiet as _quiet
from medallion_tests.landing_writers import slow_writer as _slow_writer


def test_a_file_still_being_written_is_left_for_a_later_run(con, spec, tmp_path):
    quiet = _quiet(spec, 0.4)
    path = tmp_path / "l" / "orders" / "orders_slow.csv"
    path.parent.mkdir(parents=True)
    writer = _slow_writer(path, rows=40, pause_s=0.05)
    try:
        time.sleep(0.2)
        report = ingest_source(con, quiet, "orders", tmp_path / "l")
    finally:
        writer.join()
    assert report.ingested == []
    assert len(report.in_flight) == 1 and report.in_flight[0].startswith(f"{path}: still being")
    outcome = file_changes(report)
    assert not outcome.passed and outcome.severity == "WARN"
    time.sleep(0.5)
    later = ingest_source(con, quiet, "orders", tmp_path / "l")
    assert later.ingested == [("orders_slow.csv", 40)] and later.in_flight == []
    assert con.execute("SELECT count(DISTINCT _batch_id) FROM shop_bronze.orders").fetchone() == (
        1,
    )


def test_a_done_marker_takes_a_fresh_file_at_once(con, spec, tmp_path):
    path = write(tmp_path / "l" / "orders" / "orders.csv", HEADER + "1,10,2026-01-01,1.00,\n")
    path.with_name("orders.csv.done").touch()
    started = time.monotonic()
    report = ingest_source(con, _quiet(spec, 30), "orders", tmp_path / "l")
    assert time.monotonic() - started < 10
    assert report.ingested == [("orders.csv", 1)]
    assert report.failed == []  # the marker is the convention, not an unknown file type


def test_a_fresh_file_that_stops_changing_is_taken_after_the_quiet_period(con, spec, tmp_path):
    write(tmp_path / "l" / "orders" / "orders.csv", HEADER + "1,10,2026-01-01,1.00,\n")
    started = time.monotonic()
    report = ingest_source(con, _quiet(spec, 0.3), "orders", tmp_path / "l")
    assert report.ingested == [("orders.csv", 1)]
    assert time.monotonic() - started >= 0.25


def test_known_files_are_not_read_again_and_a_changed_file_is_a_new_named_batch(
    con, spec, landing, monkeypatch
):
    ingest_source(con, spec, "orders", landing)
    hashed: list[str] = []
    real = bronze.file_sha256

    def counting(path, *args):
        hashed.append(Path(path).name)
        return real(path, *args)

    monkeypatch.setattr(bronze, "file_sha256", counting)
    again = ingest_source(con, spec, "orders", landing)
    assert again.skipped == ["orders_2026-01-01.csv"] and hashed == []
    path = landing / "orders" / "orders_2026-01-01.csv"
    path.write_text(path.read_text().replace("20.50", "21.50"))
    changed = ingest_source(con, spec, "orders", landing)
    assert hashed == ["orders_2026-01-01.csv"]
    assert changed.ingested == [("orders_2026-01-01.csv", 3)]
    assert len(changed.changed) == 1
    assert changed.changed[0].startswith(f"{path}: changed after it was ingested as batch")
    assert not file_changes(changed).passed


def test_a_touched_file_with_the_same_content_is_not_a_new_batch(con, spec, landing):
    ingest_source(con, spec, "orders", landing)
    path = landing / "orders" / "orders_2026-01-01.csv"
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    report = ingest_source(con, spec, "orders", landing)
    assert report.ingested == [] and report.changed == []
    assert report.skipped == ["orders_2026-01-01.csv"]


def test_a_copy_of_an_ingested_file_is_named_with_the_batch_it_repeats(con, spec, landing):
    first = ingest_source(con, spec, "orders", landing)
    copy = landing / "orders" / "orders_copy.csv"
    copy.write_bytes((landing / "orders" / "orders_2026-01-01.csv").read_bytes())
    report = ingest_source(con, spec, "orders", landing)
    assert report.duplicates == [
        f"{copy}: same content as batch {first.batch_ids[0]} (orders_2026-01-01.csv)"
    ]
    assert files_readable(report).metadata["duplicates"] == report.duplicates


def test_an_acknowledged_refusal_lets_the_source_carry_on(con, spec, landing):
    bad = write(landing / "orders" / "orders_2026-01-02.csv", "order_id,amount\n9,1\n")
    first = ingest_source(con, spec, "orders", landing)
    assert not files_readable(first).passed
    [refused] = refused_files(con, spec)
    assert refused.path == str(bad) and "missing required column(s)" in refused.reason
    acknowledge(con, refused, "ann", "supplier resends it as orders_2026-01-02b.csv")
    write(landing / "orders" / "orders_2026-01-03.csv", HEADER + "7,10,2026-01-03,1.00,\n")
    second = ingest_source(con, spec, "orders", landing)
    assert files_readable(second).passed
    assert second.ingested == [("orders_2026-01-03.csv", 1)]
    assert second.acknowledged == [f"{bad}: refused and acknowledged; not ingested"]
    assert refused_files(con, spec) == []
    assert bad.exists()
    kept = con.execute(
        "SELECT file_name, acknowledged_by, note, reason_refused LIKE '%missing required%' "
        "FROM shop_bronze._acknowledged_files"
    ).fetchone()
    assert kept == (
        "orders_2026-01-02.csv",
        "ann",
        "supplier resends it as orders_2026-01-02b.csv",
        True,
    )
    bad.write_text(HEADER + "9,10,2026-01-02,1.00,\n")
    third = ingest_source(con, spec, "orders", landing)
    assert third.ingested == [("orders_2026-01-02.csv", 1)]  # a new content is tried again


def test_an_acknowledged_file_of_an_unknown_type_is_passed_over(con, spec, landing):
    (landing / "orders" / "notes.xlsx").write_bytes(b"PK")
    assert not files_readable(ingest_source(con, spec, "orders", landing)).passed
    [refused] = refused_files(con, spec)
    acknowledge(con, refused, "bob", "not data")
    assert files_readable(ingest_source(con, spec, "orders", landing)).passed


@pytest.mark.parametrize(
    ("source", "name", "content", "words"),
    [
        (
            "orders",
            "semicolons.csv",
            b"order_id;customer_id;ordered_at;amount\n1;2;2026-01-01;3\n",
            "CSV files must be ','-separated",
        ),
        ("refunds", "broken.parquet", b"PAR1 this is not parquet PAR1", "cannot read as parquet"),
        ("orders", "header.csv", HEADER.encode(), "header only, no data records"),
    ],
)
def test_refusals_speak_in_words_and_name_the_file(
    con, spec, tmp_path, source, name, content, words
):
    path = tmp_path / "l" / source / name
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    report = ingest_source(con, spec, source, tmp_path / "l")
    [message] = report.failed
    assert message.startswith(str(path)) and words in message
    assert "LINE 1" not in message and "SELECT" not in message and "^" not in message


def test_an_empty_parquet_file_is_not_called_header_only(con, spec, tmp_path):
    path = tmp_path / "l" / "refunds" / "r.parquet"
    path.parent.mkdir(parents=True)
    pl.DataFrame(
        {"refund_id": [], "order_id": []}, schema={"refund_id": pl.Int64, "order_id": pl.Int64}
    ).write_parquet(path)
    [message] = ingest_source(con, spec, "refunds", tmp_path / "l").failed
    assert message.startswith(f"{path}: 0 rows in the Parquet file")
    assert "header" not in message


def test_settled_waits_once_for_all_young_files(tmp_path):
    files = [write(tmp_path / f"f{i}.csv", "a\n1\n") for i in range(3)]
    waits: list[float] = []
    states = [landing.FileState.of(p) for p in files]
    taken, in_flight = landing.settled(states, 2.0, sleep=waits.append)
    assert len(waits) == 1 and 0 < waits[0] <= 2.0
    assert [s.path for s in taken] == files and in_flight == []
