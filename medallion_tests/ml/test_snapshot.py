"""Content-addressed Parquet snapshots of the gold feature table."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from medallion.ml.snapshot import (
    days_needed,
    export_snapshot,
    labelled_days,
    snapshot_columns,
    snapshot_path,
)


@pytest.fixture
def model_product(spec, model_spec):
    return spec.model_copy(update={"model": model_spec})


@pytest.fixture
def gold(con, model_product, frame):
    con.execute("CREATE SCHEMA shop_gold")
    extra = frame.with_columns(pl.lit("not for models").alias("notes"))
    con.register("frame_view", extra.to_arrow())
    con.execute("CREATE TABLE shop_gold.features AS SELECT * FROM frame_view")
    return con


def test_snapshot_holds_only_model_columns_named_by_content(gold, model_product, tmp_path):
    snapshot = export_snapshot(gold, model_product, tmp_path / "snapshots")
    assert snapshot.created and snapshot.rows == 400
    assert snapshot.path == snapshot_path(
        tmp_path / "snapshots", model_product, snapshot.data_version
    )
    assert snapshot.path.name == f"features-{snapshot.data_version}.parquet"
    assert len(snapshot.data_version) == 16
    written = pl.read_parquet(snapshot.path)
    assert written.columns == snapshot_columns(model_product)
    assert written.columns == ["id", "day", "amount", "visits", "plan", "group", "label"]
    assert "notes" not in written.columns
    assert list((tmp_path / "snapshots" / "shop").iterdir()) == [snapshot.path]


def test_same_content_same_version_and_file_kept(gold, model_product, tmp_path):
    first = export_snapshot(gold, model_product, tmp_path)
    modified = first.path.stat().st_mtime_ns
    again = export_snapshot(gold, model_product, tmp_path)
    assert again.data_version == first.data_version and not again.created
    assert again.path.stat().st_mtime_ns == modified
    gold.execute("UPDATE shop_gold.features SET visits = visits + 1 WHERE id = 0")
    changed = export_snapshot(gold, model_product, tmp_path)
    assert changed.data_version != first.data_version and changed.created
    assert first.path.exists()


def test_read_only_connection_is_enough(gold, model_product, tmp_path):
    database = gold.execute("SELECT path FROM duckdb_databases() WHERE NOT internal").fetchone()[0]
    gold.close()
    with duckdb.connect(database, read_only=True) as reader:
        assert export_snapshot(reader, model_product, tmp_path).rows == 400
        assert labelled_days(reader, model_product) == 8
    assert days_needed(model_product) == 4


def test_missing_table_or_column_is_named(gold, model_product, tmp_path):
    broken = model_product.model_copy(
        update={"model": model_product.model.model_copy(update={"features": ["amount", "nope"]})}
    )
    with pytest.raises(ValueError, match=r"column\(s\) \['nope'\] are not in shop_gold.features"):
        export_snapshot(gold, broken, tmp_path)
    gold.execute("DROP TABLE shop_gold.features")
    with pytest.raises(ValueError, match=r"shop_gold\.features does not exist"):
        export_snapshot(gold, model_product, tmp_path)
