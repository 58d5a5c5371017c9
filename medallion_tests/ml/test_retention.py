"""Snapshot retention, pure: keep what an aliased model version was trained on and the newest
of each table; everything else is removable."""

from __future__ import annotations

import os
from pathlib import Path

from medallion.ml.retention import SnapshotFile, plan_retention, snapshot_files
from medallion.spec import ModelSpec, ProductSpec


def _file(table: str, version: str, age: int) -> SnapshotFile:
    return SnapshotFile(Path(f"/s/{table}-{version}.parquet"), table, version, 1000, -age)


def test_aliased_and_newest_are_kept_the_rest_is_removable():
    files = [  # newest first, as snapshot_files returns them
        _file("features", "d4", 1),
        _file("features_v2", "e2", 2),
        _file("features", "c3", 3),
        _file("features", "b2", 4),
        _file("features", "a1", 5),
    ]
    used = {
        ("features", "b2"): ["v5 champion"],
        ("features", "e2"): ["v6 challenger-lr"],  # another table's snapshot of that content
        (None, "a1"): ["v3 previous", "v4 challenger-rf"],  # a version that predates tables
    }
    kept, removable = plan_retention(files, used, keep_latest=1)
    assert [(f.data_version, f.used_by) for f in kept] == [
        ("d4", ()),
        ("e2", ()),
        ("b2", ("v5 champion",)),
        ("a1", ("v3 previous", "v4 challenger-rf")),
    ]
    assert [f.data_version for f in removable] == ["c3"]
    _, none_latest = plan_retention(files, used, keep_latest=0)
    assert [f.data_version for f in none_latest] == ["d4", "e2", "c3"]


def test_snapshot_files_lists_only_snapshots_newest_first(tmp_path, model_spec: ModelSpec):
    spec = ProductSpec(
        name="shop",
        sources={"s": {"format": "csv", "key": ["id"], "columns": {"id": {"type": "BIGINT"}}}},
    ).model_copy(update={"model": model_spec})
    folder = tmp_path / "shop"
    folder.mkdir()
    for index, name in enumerate(["features-aa11.parquet", "features-bb22.parquet"]):
        path = folder / name
        path.write_bytes(b"x" * (index + 1))
        stamp = 1_700_000_000 + index
        os.utime(path, (stamp, stamp))
    (folder / "features-bb22.parquet.tmp-123").write_bytes(b"partial")
    (folder / "notes.txt").write_text("not a snapshot")
    files = snapshot_files(tmp_path, spec)
    assert [(f.table, f.data_version, f.size_bytes) for f in files] == [
        ("features", "bb22", 2),
        ("features", "aa11", 1),
    ]
    assert snapshot_files(tmp_path / "nowhere", spec) == []
