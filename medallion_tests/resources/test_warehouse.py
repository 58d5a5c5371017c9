"""The warehouse resource: connections closed on error, lock conflicts waited out, running
out of the memory limit named with the setting to raise."""

from __future__ import annotations

import duckdb
import pytest

from medallion.resources.warehouse import (
    WarehouseMemoryError,
    WarehouseResource,
    connect,
    is_lock_error,
)


def test_running_out_of_memory_names_the_limit_and_the_setting(tmp_path):
    warehouse = WarehouseResource(
        database=str(tmp_path / "w.duckdb"),
        connection_config={"memory_limit": "20MB", "threads": 1},
    )
    with pytest.raises(WarehouseMemoryError) as error, warehouse.get_connection() as con:
        con.execute("SELECT list(range) FROM range(20000000)").fetchall()
    message = str(error.value)
    assert "memory limit (20MB)" in message and "MEDALLION_DUCKDB_MEMORY_LIMIT" in message
    assert isinstance(error.value.__cause__, duckdb.OutOfMemoryException)
    with warehouse.get_connection() as con:  # the file was released
        assert con.execute("SELECT 1").fetchone() == (1,)


def test_an_error_in_the_body_closes_the_connection(tmp_path):
    warehouse = WarehouseResource(database=str(tmp_path / "w.duckdb"))
    with pytest.raises(ZeroDivisionError), warehouse.get_connection() as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
        _ = 1 / 0
    with connect(tmp_path / "w.duckdb", read_only=True) as con:
        assert con.execute("SELECT x FROM t").fetchone() == (1,)


def test_only_lock_errors_are_retried():
    assert is_lock_error(duckdb.IOException('Could not set lock on file "w.duckdb"'))
    assert not is_lock_error(duckdb.IOException("No such file or directory"))
