"""A bounded load generator for the service: N concurrent keep-alive clients against
127.0.0.1, stopped after a number of requests or seconds, whichever comes first.

One asyncio loop with raw HTTP/1.1 keep-alive connections: a client that costs little CPU
per request, so that on a small machine the generator measures the server, not itself.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class LoadRequest:
    method: str
    path: str
    body: bytes = b""


@dataclass(frozen=True)
class LoadResult:
    """Latency percentiles (ms), throughput and failures of one load level."""

    name: str
    concurrency: int
    requests: int
    failed: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests_per_s: float
    statuses: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _encode(request: LoadRequest, host: str, port: int, token: str | None) -> bytes:
    lines = [f"{request.method} {request.path} HTTP/1.1", f"Host: {host}:{port}"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if request.body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(request.body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + request.body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = next(
        (
            int(line.split(":", 1)[1])
            for line in lines
            if line.lower().startswith("content-length:")
        ),
        0,
    )
    if length:
        await reader.readexactly(length)
    return status


async def _client(host, port, token, make, deadline, budget, latencies, statuses) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline and budget[0] > 0:
            budget[0] -= 1
            payload = _encode(make(), host, port, token)
            started = time.perf_counter()
            try:
                writer.write(payload)
                status = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError):
                status = 0
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


def run_load(
    name: str,
    url: str,
    make: Callable[[], LoadRequest],
    concurrency: int,
    max_requests: int,
    max_seconds: float,
    token: str | None = None,
    warmup: int = 20,
) -> LoadResult:
    """Run one load level against a loopback URL.

    Raises:
        ValueError: for a URL beyond loopback (the generator never loads another machine).
    """
    from urllib.parse import urlsplit

    from medallion.service.server import is_loopback  # here: the server imports MLflow

    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 80
    if not is_loopback(host):
        raise ValueError(f"the load generator only targets loopback, not {host}")

    async def main() -> tuple[list[float], dict[int, int], float]:
        await _level(host, port, token, make, 1, warmup, max_seconds)
        return await _level(host, port, token, make, concurrency, max_requests, max_seconds)

    latencies, statuses, seconds = asyncio.run(main())
    values = np.asarray(latencies) if latencies else np.asarray([np.nan])
    failed = sum(n for status, n in statuses.items() if status != 200)
    return LoadResult(
        name=name,
        concurrency=concurrency,
        requests=len(latencies),
        failed=failed,
        seconds=round(seconds, 3),
        p50_ms=round(float(np.percentile(values, 50)), 3),
        p95_ms=round(float(np.percentile(values, 95)), 3),
        p99_ms=round(float(np.percentile(values, 99)), 3),
        requests_per_s=round(len(latencies) / seconds, 1) if seconds else 0.0,
        statuses={str(k): v for k, v in sorted(statuses.items())},
    )


async def _level(host, port, token, make, concurrency, requests, seconds):
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    budget = [requests]
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(
            _client(host, port, token, make, deadline, budget, latencies, statuses)
            for _ in range(concurrency)
        )
    )
    return latencies, statuses, time.perf_counter() - started


def key_lookups(product: str, table: str, keys: list[object], seed: int = 0):
    """Requests for random keys of a table (one row set each)."""
    rng = np.random.default_rng(seed)

    def make() -> LoadRequest:
        key = keys[int(rng.integers(len(keys)))]
        return LoadRequest("GET", f"/products/{product}/tables/{table}/rows/{key}")

    return make


def scoring_calls(product: str, keys: list[object], seed: int = 0):
    """Scoring requests for random entity keys."""
    rng = np.random.default_rng(seed)

    def make() -> LoadRequest:
        key = keys[int(rng.integers(len(keys)))]
        return LoadRequest("POST", f"/products/{product}/score", json.dumps({"key": key}).encode())

    return make
