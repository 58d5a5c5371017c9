"""Responsiveness as a product contract: the spec's budgets (p95 of a key lookup, of a
scoring call) measured by the bounded load generator against a running service, and the
verdict as a check outcome."""

from __future__ import annotations

import polars as pl

from medallion.checks.outcome import CheckOutcome
from medallion.service.load import LoadResult, key_lookups, run_load, scoring_calls
from medallion.service.publishing import read_current, table_folder
from medallion.spec import ProductSpec

SERVICE_BUDGET = "service_budget"
SAMPLE_KEYS = 1000


def served_table(spec: ProductSpec) -> str | None:
    """The table whose key lookups are timed: the model's table, else the first gold one."""
    if spec.model is not None:
        return spec.model.table
    return next((name for name, gold in spec.gold.items() if not gold.retired), None)


def sample_keys(spec: ProductSpec, table: str, root) -> list[object]:
    """Up to SAMPLE_KEYS distinct keys of the published table (empty when unpublished)."""
    publication = read_current(table_folder(root, spec.name, table))
    if publication is None:
        return []
    keys = pl.scan_parquet(publication.data_file(root)).select(publication.key).unique()
    return keys.head(SAMPLE_KEYS).collect().to_series().to_list()


def measure(
    spec: ProductSpec, url: str, keys: list[object], scoring: bool, token: str | None = None
) -> list[LoadResult]:
    """Key lookups at every concurrency of the spec, and (with a champion) scoring calls at
    one client, each level bounded by load_requests and load_seconds."""
    service, table = spec.service, served_table(spec)
    results = []
    for clients in service.load_concurrency:
        make = key_lookups(spec.name, table or "", keys)
        results.append(
            run_load(
                "lookup", url, make, clients, service.load_requests, service.load_seconds, token
            )
        )
    if scoring:
        make = scoring_calls(spec.name, keys)
        results.append(
            run_load("score", url, make, 1, service.load_requests, service.load_seconds, token)
        )
    return results


def budget_outcome(spec: ProductSpec, results: list[LoadResult]) -> CheckOutcome:
    """Passed when every lookup level's p95 and the scoring p95 are within budget and no
    request failed."""
    budgets = {"lookup": spec.service.lookup_p95_ms, "score": spec.service.score_p95_ms}
    over = [r for r in results if r.p95_ms > budgets[r.name] or r.failed]
    lines = [
        f"{r.name} at {r.concurrency} client(s): p95 {r.p95_ms:.1f} ms (budget "
        f"{budgets[r.name]:g}), {r.requests_per_s:,.0f} req/s, {r.failed} failed"
        for r in results
    ]
    if not results:
        lines = ["nothing published to measure yet"]
    return CheckOutcome(
        SERVICE_BUDGET,
        bool(results) and not over,
        "WARN",
        "; ".join(lines),
        {"levels": [r.as_dict() for r in results], "budgets_ms": budgets},
    )
