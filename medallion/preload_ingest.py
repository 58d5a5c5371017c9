"""What the fork server of an ingest run imports once: the zones' modules and Great
Expectations, which every silver step validates with (imported once here rather than by each
of a product's silver steps). No MLflow, no scikit-learn."""

import great_expectations  # noqa: F401

import medallion.preload_zones  # noqa: F401
from medallion.checks import gx_duckdb  # noqa: F401
