"""Hostile deliveries on the lake, whose landing ledger has no PRIMARY KEY (DuckLake has no
constraints): the same file delivered twice, a file still being written, and two ingestions of
one source racing each other; every file's records land exactly once."""

from __future__ import annotations

import shutil
import threading
import time

import pytest

from medallion.resources.warehouse import connect
from medallion.zones.bronze import ingest_source
from medallion_tests.landing_writers import quiet as _quiet
from medallion_tests.landing_writers import slow_writer as _slow_writer
from medallion_tests.records import assert_every_record_landed


def counts(con) -> tuple[int, int, int]:
    """Bronze rows, distinct batches in bronze, ledger entries."""
    return con.execute(
        "SELECT (SELECT count(*) FROM shop_bronze.orders), "
        "(SELECT count(DISTINCT _batch_id) FROM shop_bronze.orders), "
        "(SELECT count(*) FROM shop_bronze._ingested_files WHERE source = 'orders')"
    ).fetchone()


@pytest.mark.slow
def test_the_same_file_twice_lands_once(lake_target, spec, landing):
    original = landing / "orders" / "orders_2026-01-01.csv"
    with connect(lake_target) as con:
        ingest_source(con, spec, "orders", landing)
        shutil.copy(original, landing / "orders" / "orders_again.csv")  # same bytes, new name
        original.touch()  # same name, same bytes, new mtime
        report = ingest_source(con, spec, "orders", landing)
        assert report.ingested == []
        assert counts(con) == (3, 1, 1)
        assert assert_every_record_landed(con) == 1


@pytest.mark.slow
def test_a_half_written_file_waits_then_lands_whole(lake_target, spec, tmp_path):
    quiet = _quiet(spec, 0.4)
    path = tmp_path / "l" / "orders" / "orders_slow.csv"
    path.parent.mkdir(parents=True)
    with connect(lake_target) as con:
        ingest_source(con, quiet, "orders", tmp_path / "l")  # ledger created before the file
        writer = _slow_writer(path, rows=40, pause_s=0.05)
        try:
            time.sleep(0.2)
            report = ingest_source(con, quiet, "orders", tmp_path / "l")
        finally:
            writer.join()
        assert report.ingested == [] and len(report.in_flight) == 1
        later = ingest_source(con, _quiet(spec, 0), "orders", tmp_path / "l")
        assert later.ingested == [("orders_slow.csv", 40)]
        assert counts(con) == (40, 1, 1)
        assert assert_every_record_landed(con) == 1


@pytest.mark.slow
def test_two_racing_ingestions_land_each_file_once(lake_target, spec, landing):
    """Outside Dagster's per-table pools (a CLI run beside a sensor's run, say)."""
    with connect(lake_target) as con:  # the table and ledger exist before the race
        ingest_source(con, spec, "orders", landing)
    new = landing / "orders" / "orders_2026-01-02.csv"
    new.write_text((landing / "orders" / "orders_2026-01-01.csv").read_text().replace(".", "1."))
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def ingest() -> None:
        try:
            with connect(lake_target) as con:
                start.wait()
                ingest_source(con, spec, "orders", landing)
        except BaseException as error:  # a refused commit is an acceptable outcome
            errors.append(error)

    threads = [threading.Thread(target=ingest) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with connect(lake_target, read_only=True) as con:
        assert counts(con) == (6, 2, 2), errors
        assert_every_record_landed(con)
