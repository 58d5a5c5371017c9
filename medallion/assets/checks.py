"""Zone contracts as Dagster asset checks: specs declared on each asset, results emitted
with its materialization, so a blocking failure stops everything downstream."""

import time
from collections.abc import Callable

import dagster as dg

from medallion.checks import names
from medallion.checks.outcome import CheckOutcome, Link

BRONZE_CHECKS = {
    names.FILES_READABLE: (
        True,
        "Every landing file was ingested or was already ingested; refused files are named.",
    ),
    names.FILE_LEDGER: (
        True,
        "Each file content ingested once, in full: bronze and the file ledger agree per batch.",
    ),
    names.SCHEMA_DRIFT: (
        False,
        "New, missing or retyped columns against the spec and the previous batch.",
    ),
    names.FILE_CHANGES: (
        False,
        "Files still being written (left for a later run) and files changed after they were "
        "ingested (their new content is a new batch), by name.",
    ),
}
SILVER_CHECKS = {
    names.ROW_ACCOUNTING: (
        True,
        "Per batch, rows(bronze) = rows(silver) + quarantined + duplicates removed, exactly.",
    ),
    names.KEY_UNIQUE: (True, "One silver row per key."),
    names.COMPLETENESS: (True, "The share of complete records is at least the declared minimum."),
    names.FAIL_RULES: (True, "No row breaks a rule of severity fail."),
    names.WARN_RULES: (False, "Rows kept in silver that break a rule of severity warn."),
    names.QUARANTINE_SHARE: (
        False,
        "The share of quarantined rows stays under the declared limit.",
    ),
    names.EXPECTATIONS: (
        True,
        "Great Expectations suite from the spec on the rows this run added, validated in "
        "DuckDB; the result's Data Docs page is linked (data_docs).",
    ),
    names.REVISION_COUNTS: (True, "Row and key counts within tolerance of the previous revision."),
}
GOLD_CHECKS = {
    names.GRAIN_UNIQUE: (True, "One row per grain, no NULL grain column."),
    names.EXPECTATIONS: (
        True,
        "Great Expectations suite from the spec (declared columns, grain and model columns "
        "never NULL, a 0/1 target) on the recomputed rows; Data Docs page linked (data_docs).",
    ),
    names.REVISION_COUNTS: (True, "Row and key counts within tolerance of the previous revision."),
    names.NO_PII: (True, "No PII column and no raw PII value in the gold table."),
}


def check_specs(key: dg.AssetKey, checks: dict[str, tuple[bool, str]]) -> list[dg.AssetCheckSpec]:
    """Check specs of an asset; blocking ones stop downstream assets when they fail."""
    return [
        dg.AssetCheckSpec(name, asset=key, blocking=blocking, description=description)
        for name, (blocking, description) in checks.items()
    ]


def _value(value: object) -> object:
    if isinstance(value, Link):
        return dg.MetadataValue.url(value.url)
    if isinstance(value, bool):
        return dg.MetadataValue.bool(value)
    if isinstance(value, int):
        return dg.MetadataValue.int(value)
    if isinstance(value, float):
        return dg.MetadataValue.float(value)
    if value is None or isinstance(value, str):
        return dg.MetadataValue.text("" if value is None else value)
    return dg.MetadataValue.json(value)


def to_result(outcome: CheckOutcome, key: dg.AssetKey) -> dg.AssetCheckResult:
    """A Dagster check result; WARN checks never block, ERROR ones block where declared."""
    severity = (
        dg.AssetCheckSeverity.ERROR if outcome.severity == "ERROR" else dg.AssetCheckSeverity.WARN
    )
    metadata = {k: _value(v) for k, v in outcome.metadata.items()}
    metadata["summary"] = dg.MetadataValue.text(outcome.description)
    metadata["duration_s"] = dg.MetadataValue.float(outcome.duration_s)
    return dg.AssetCheckResult(
        check_name=outcome.name,
        asset_key=key,
        passed=outcome.passed,
        severity=severity,
        metadata=metadata,
        description=outcome.description,
    )


def run_checks(checks: list[Callable[[], CheckOutcome | list[CheckOutcome]]]) -> list[CheckOutcome]:
    """Run checks in order, recording each one's time (shared when one call yields several)."""
    outcomes: list[CheckOutcome] = []
    for check in checks:
        started = time.perf_counter()
        result = check()
        produced = result if isinstance(result, list) else [result]
        each = (time.perf_counter() - started) / len(produced)
        for outcome in produced:
            outcome.duration_s = round(each, 4)
        outcomes.extend(produced)
    return outcomes
