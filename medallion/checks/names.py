"""Check names, one place: the Dagster UI, tests and the benchmark refer to these."""

FILES_READABLE = "files_readable"
FILE_LEDGER = "file_ledger"
SCHEMA_DRIFT = "schema_drift"

ROW_ACCOUNTING = "row_accounting"
KEY_UNIQUE = "key_unique"
COMPLETENESS = "completeness"
FAIL_RULES = "fail_rules"
WARN_RULES = "warn_rules"
QUARANTINE_SHARE = "quarantine_share"
EXPECTATIONS = "expectations"
REFERENTIAL_INTEGRITY = "referential_integrity"

GRAIN_UNIQUE = "grain_unique"
REVISION_COUNTS = "revision_counts"
NO_PII = "no_pii"
VERSION_COMPARISON = "version_comparison"
