"""Which feature snapshots to keep: those a model in use was trained on, and the newest.

Every new data version of a gold table writes one more Parquet snapshot, and daily retraining
adds one a day. A snapshot is worth keeping while a registered model version that holds an
alias (`champion`, `previous`, `challenger-<variant>`) names it as its data version: it is
what re-training reproduces from and what drift is measured against. The newest snapshots are
kept too, since the next training run reads them. Everything else can go; the MLflow runs
still record the data version, only the rows are gone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from medallion.ml import registry
from medallion.spec import ProductSpec

SNAPSHOT_NAME = re.compile(r"^(?P<table>[a-z][a-z0-9_]*)-(?P<version>[0-9a-f]+)\.parquet$")


@dataclass(frozen=True)
class SnapshotFile:
    """One snapshot on disk and the aliased model versions trained on it."""

    path: Path
    table: str
    data_version: str
    size_bytes: int
    modified_ns: int
    used_by: tuple[str, ...] = ()
    """e.g. ('v5 champion', 'v3 previous')."""


def snapshot_files(root: Path, spec: ProductSpec) -> list[SnapshotFile]:
    """The product's snapshot files, newest first; other files in the folder are ignored."""
    folder = Path(root) / spec.name
    found = []
    for path in folder.glob("*.parquet") if folder.is_dir() else []:
        match = SNAPSHOT_NAME.match(path.name)
        if not match:
            continue
        stat = path.stat()
        found.append(
            SnapshotFile(path, match["table"], match["version"], stat.st_size, stat.st_mtime_ns)
        )
    return sorted(found, key=lambda f: (-f.modified_ns, f.path.name))


UsedBy = dict[tuple[str | None, str], list[str]]
"""(gold table, data version) -> aliased model versions; the table is None for versions
registered before model versions recorded it (they match that data version in any table)."""


def aliased_data_versions(client: MlflowClient, spec: ProductSpec) -> UsedBy:
    """The snapshots aliased model versions were trained on, e.g.
    {('customer_features', '9abe...'): ['v5 champion']}."""
    name = registry.registered_model_name(spec)
    try:
        model = client.get_registered_model(name)
    except MlflowException:  # no registered model yet: nothing is in use
        return {}
    used: UsedBy = {}
    for alias, version in sorted(model.aliases.items()):
        tags = client.get_model_version(name, version).tags
        data_version = tags.get("data_version")
        if data_version:
            key = (tags.get("gold_version"), data_version)
            used.setdefault(key, []).append(f"v{version} {alias}")
    return used


def plan_retention(
    files: list[SnapshotFile], used: UsedBy, keep_latest: int
) -> tuple[list[SnapshotFile], list[SnapshotFile]]:
    """Split snapshots into (kept, removable): kept when an aliased model version was trained
    on it or when it is among the `keep_latest` newest of its table."""
    kept, removable = [], []
    newest: dict[str, int] = {}
    for file in files:  # newest first
        rank = newest.get(file.table, 0)
        newest[file.table] = rank + 1
        users = (
            *used.get((file.table, file.data_version), ()),
            *used.get((None, file.data_version), ()),
        )
        (kept if users or rank < keep_latest else removable).append(replace(file, used_by=users))
    return kept, removable
