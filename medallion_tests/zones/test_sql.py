"""The one transaction every table write goes through: all of the body's writes or none."""

from __future__ import annotations

import duckdb
import pytest

from medallion.zones.sql import transaction


def _rows(con: duckdb.DuckDBPyConnection) -> list[int]:
    return [r[0] for r in con.execute("SELECT x FROM t ORDER BY x").fetchall()]


def test_a_body_that_returns_commits_every_write(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE TABLE t (x INTEGER)")
    with transaction(con):
        con.execute("INSERT INTO t VALUES (1)")
        con.execute("INSERT INTO t VALUES (2)")
    con.close()
    assert _rows(duckdb.connect(str(tmp_path / "w.duckdb"))) == [1, 2]


@pytest.mark.parametrize("error", [ValueError("bad row"), KeyboardInterrupt()])
def test_a_body_that_raises_leaves_the_last_good_version(tmp_path, error):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE TABLE t AS SELECT 7 AS x")
    with pytest.raises(type(error)), transaction(con):
        con.execute("DELETE FROM t")
        con.execute("INSERT INTO t VALUES (1)")
        raise error
    assert _rows(con) == [7]
    with transaction(con):  # the connection is usable again: no transaction left open
        con.execute("INSERT INTO t VALUES (8)")
    assert _rows(con) == [7, 8]
