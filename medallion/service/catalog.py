"""What the service knows about each product's published gold, and the queries it answers.

Pure of any web framework: a `Catalog` maps products to their published tables; each
`PublishedTable` holds its current version in memory as a Polars frame sorted by grain,
swapped for the next one by a watcher when `current.json` changes, so a request works on
exactly one version. Queries use Polars expressions over known column names and values
cast to the column's type: no text from the client is ever run as SQL.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from medallion.service.publishing import CURRENT, Publication, read_current, table_folder
from medallion.spec import ProductSpec


class QueryError(ValueError):
    """A request the service refuses; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Loaded:
    """One published version in memory: its manifest and its rows, sorted by grain."""

    publication: Publication
    frame: pl.DataFrame
    loaded_at: float


def version_label(spec: ProductSpec, name: str) -> tuple[str, str, str]:
    """(base table, 'v<N>', status) of a gold table: v1 is a table that versions nothing, each
    `version_of` adds one; status is 'retired' or 'active'."""
    number, base = 1, name
    while spec.gold[base].version_of:
        base = spec.gold[base].version_of or base
        number += 1
    return base, f"v{number}", "retired" if spec.gold[name].retired else "active"


class PublishedTable:
    """The current published version of one gold table, reloaded when a new one appears."""

    def __init__(self, spec: ProductSpec, name: str, root: Path) -> None:
        self.spec, self.name, self.root = spec, name, root
        self.folder = table_folder(root, spec.name, name)
        self.base, self.version, self.status = version_label(spec, name)
        self.loaded: Loaded | None = None
        self._stamp: tuple[int, int] | None = None

    def refresh(self) -> bool:
        """Load the current version if it changed since the last look; True when swapped."""
        try:
            stat = (self.folder / CURRENT).stat()
        except FileNotFoundError:
            return False
        stamp = (stat.st_ino, stat.st_mtime_ns)
        if stamp == self._stamp:
            return False
        publication = read_current(self.folder)
        if publication is None:
            return False
        frame = pl.read_parquet(publication.data_file(self.root))
        frame = frame.sort(publication.grain).with_columns(pl.col(publication.key).set_sorted())
        self.loaded = Loaded(publication, frame, time.time())
        self._stamp = stamp
        return True

    def require(self) -> Loaded:
        if self.loaded is None:
            raise QueryError(
                f"{self.spec.name}/{self.name} has no published version yet: materialize "
                f"{self.spec.name}/gold/{self.name} with its checks passing",
                404,
            )
        return self.loaded

    def describe(self) -> dict[str, object]:
        """What discovery shows: version, schema with descriptions, rows, freshness, checks."""
        gold = self.spec.gold[self.name]
        about: dict[str, object] = {
            "product": self.spec.name,
            "table": self.name,
            "description": (gold.description or "").strip() or None,
            "version": self.version,
            "version_of": self.base if self.base != self.name else None,
            "status": self.status,
            "grain": list(gold.grain),
            "published": self.loaded is not None,
        }
        if self.loaded is None:
            return about
        p = self.loaded.publication
        age = datetime.now(UTC) - datetime.fromisoformat(p.published_at)
        return about | {
            "key": p.key,
            "time_column": p.time_column,
            "rows": p.rows,
            "data_version": p.data_version,
            "version_id": p.version_id,
            "published_at": p.published_at,
            "age_seconds": round(age.total_seconds(), 1),
            "checks_passed": p.checks,
            "columns": [
                {"name": c.name, "type": c.type, "description": c.description} for c in p.columns
            ],
        }


class Catalog:
    """Every served product's published tables, kept current by one watcher thread."""

    def __init__(self, specs: list[ProductSpec], root: Path, poll_seconds: float = 0.2) -> None:
        self.specs = {spec.name: spec for spec in specs}
        self.root = root
        self.tables = {
            (spec.name, name): PublishedTable(spec, name, root)
            for spec in specs
            for name in spec.gold
        }
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresh()

    def refresh(self) -> None:
        for table in self.tables.values():
            table.refresh()

    def start(self) -> None:
        """Watch for new versions in the background (off the request path)."""

        def watch() -> None:
            while not self._stop.wait(self.poll_seconds):
                self.refresh()

        self._thread = threading.Thread(target=watch, name="published-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def spec(self, product: str) -> ProductSpec:
        if product not in self.specs:
            raise QueryError(f"unknown product {product!r}; known: {sorted(self.specs)}", 404)
        return self.specs[product]

    def table(self, product: str, name: str) -> PublishedTable:
        spec = self.spec(product)
        if name not in spec.gold:
            raise QueryError(
                f"{product} has no gold table {name!r}; known: {sorted(spec.gold)}", 404
            )
        return self.tables[(product, name)]
