"""What the fork server of a run with silver or gold steps imports once: the zones' modules
and Great Expectations, which every silver and gold step validates with (imported once here
rather than by each step). No MLflow, no scikit-learn."""

import great_expectations  # noqa: F401

import medallion.preload_zones  # noqa: F401
from medallion.checks import gx_duckdb  # noqa: F401
