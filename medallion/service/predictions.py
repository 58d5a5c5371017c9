"""The prediction log medallion owns: every answer of the champion and every shadow score,
append-only, in Parquet segments that survive restarts.

A request only appends a tuple to an in-memory buffer; a background writer turns the
buffer into one Parquet segment every `log_flush_seconds` (or sooner past `log_flush_rows`),
written under a temporary name and renamed, so a reader never sees half a segment and a
crash loses at most the last unflushed second. Segments are never rewritten; each process
names its own (`part-<time>-<pid>-<n>.parquet`), so several writers never collide. The log
holds keys and input hashes, never feature values, so no raw PII reaches it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

SCHEMA = {
    "request_id": pl.String,
    "predicted_at": pl.Datetime("us", "UTC"),
    "product": pl.String,
    "model_name": pl.String,
    "model_version": pl.String,
    "alias": pl.String,
    "variant": pl.String,
    "role": pl.String,
    "entity_key": pl.String,
    "as_of": pl.String,
    "input_hash": pl.String,
    "output": pl.Float64,
    "latency_ms": pl.Float64,
}
COLUMNS = tuple(SCHEMA)
Record = tuple


def predictions_root(warehouse: str | Path) -> Path:
    """The log lives beside the warehouse file, in `predictions/<product>/`."""
    return Path(warehouse).resolve().parent / "predictions"


def input_hashes(features: pl.DataFrame) -> list[str]:
    """SHA-256 of each input row's canonical JSON: identifies an input without keeping it."""
    if features.is_empty():
        return []
    lines = features.write_ndjson().splitlines()
    return [hashlib.sha256(line.encode("utf-8")).hexdigest()[:32] for line in lines]


class PredictionLog:
    """A buffered, append-only writer of prediction records (tuples in SCHEMA order)."""

    def __init__(self, root: Path, flush_rows: int = 5000, flush_seconds: float = 1.0) -> None:
        self.root = Path(root)
        self.flush_rows, self.flush_seconds = flush_rows, flush_seconds
        self.written = 0
        self._buffer: list[Record] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._sequence = 0
        self._thread: threading.Thread | None = None

    def append(self, records: list[Record]) -> None:
        """Queue records for the writer; never touches the disk on the caller's thread."""
        with self._lock:
            self._buffer.extend(records)
            full = len(self._buffer) >= self.flush_rows
        if full:
            self._wake.set()

    def start(self) -> PredictionLog:
        def run() -> None:
            while not self._stop.is_set():
                self._wake.wait(self.flush_seconds)
                self._wake.clear()
                self.flush()
            self.flush()

        self._thread = threading.Thread(target=run, name="prediction-log", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Write what is buffered and stop the writer."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.flush()

    def flush(self) -> int:
        """Write the buffered records as segments (one per product); returns rows written."""
        with self._lock:
            records, self._buffer = self._buffer, []
        if not records:
            return 0
        frame = pl.DataFrame(records, schema=SCHEMA, orient="row")
        for (product,), part in frame.partition_by("product", as_dict=True).items():
            self._write_segment(str(product), part)
        self.written += len(records)
        return len(records)

    def _write_segment(self, product: str, frame: pl.DataFrame) -> Path:
        folder = self.root / product
        folder.mkdir(parents=True, exist_ok=True)
        self._sequence += 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = folder / f"part-{stamp}-{os.getpid()}-{self._sequence:06d}.parquet"
        temporary = folder / f".{path.name}.tmp"
        frame.write_parquet(temporary)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        return path


def read_log(root: Path, product: str) -> pl.LazyFrame:
    """Every logged prediction of a product (an empty frame when there is none)."""
    folder = Path(root) / product
    if not folder.is_dir() or not any(folder.glob("part-*.parquet")):
        return pl.LazyFrame(schema=SCHEMA)
    return pl.scan_parquet(str(folder / "part-*.parquet"))


def now_utc() -> datetime:
    return datetime.now(UTC)
