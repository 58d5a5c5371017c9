"""The floor loads every landing file of every source with DuckDB alone."""

from __future__ import annotations

import duckdb
import pytest

from medallion.bench.floor import SourceLayout, load_floor, reader_sql


def test_floor_loads_every_file_into_a_fresh_database(tmp_path, landing, spec):
    sources = {
        name: SourceLayout(source.format, {c: k.type for c, k in source.columns.items()})
        for name, source in spec.sources.items()
    }
    database = tmp_path / "floor.duckdb"
    result = load_floor(landing, sources, database)
    assert set(result.rows) == {"customers", "orders", "refunds"}
    assert (result.rows["customers"], result.rows["orders"]) == (2, 3)
    assert result.seconds > 0
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute("SELECT sum(amount) FROM orders").fetchone()[0] == pytest.approx(32.75)
        kinds = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns()").fetchall())
        assert kinds["ordered_at"] == "TIMESTAMP" and kinds["birth_date"] == "DATE"
    with pytest.raises(FileExistsError):
        load_floor(landing, sources, database)


def test_reader_reads_only_extensions_present(tmp_path):
    (tmp_path / "a.ndjson").write_text("{}\n")
    assert reader_sql("json", tmp_path).count("ndjson") == 1
    assert reader_sql("csv", tmp_path) is None
    assert reader_sql("parquet", tmp_path / "missing") is None
