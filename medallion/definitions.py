"""The Definitions that workspace.yaml and `dagster asset materialize -m` load."""

from medallion.build import build_definitions

defs = build_definitions()
