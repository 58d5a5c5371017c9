"""Run a product's own generator, named in its spec, with the framework's size knobs."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from medallion.references import load_reference
from medallion.spec import ProductSpec, SpecError


def _generator(spec: ProductSpec) -> Any:
    if not spec.generator:
        raise SpecError(f"{spec.path}: generator: product {spec.name!r} declares no generator")
    return load_reference(spec, spec.generator, "generator")


def generator_default(spec: ProductSpec, option: str) -> Any:
    """The default a product's generator gives an option, e.g. its number of days."""
    return inspect.signature(_generator(spec)).parameters[option].default


def run_generator(spec: ProductSpec, landing: Path, **options: Any) -> dict[str, int]:
    """Call `spec.generator` with the product's landing folder (below the landing root
    `landing`) and options; returns rows per source.

    Every generator takes `landing_dir`, where it writes one sub-folder per source, and
    keyword options such as seed, days, rows (rows of the largest source), drift, defects
    and deliver_days.
    """
    options = {k: v for k, v in options.items() if v is not None}
    return _generator(spec)(spec.landing(landing), **options)
