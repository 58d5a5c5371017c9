"""Functions a spec names by reference: a product's generator and its Polars transforms.

A reference is 'package.module:function' (an importable module) or 'file.py:function', a
Python file beside the product's YAML: a product folder outside the medallion package is
self-contained and needs no installation.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from medallion.spec import ProductSpec, SpecError


def load_reference(spec: ProductSpec, reference: str, field: str) -> Callable[..., Any]:
    """The function `reference` names, with an error naming the spec file and field.

    Raises:
        SpecError: the module or file cannot be loaded, or has no such function.
    """
    module_name, _, function_name = reference.partition(":")
    try:
        if module_name.endswith(".py"):
            module = _load_file(spec, module_name)
        else:
            module = importlib.import_module(module_name)
    except (ImportError, OSError, SyntaxError) as error:
        raise SpecError(f"{spec.path}: {field}: cannot load {module_name!r}: {error}") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise SpecError(f"{spec.path}: {field}: {module_name!r} has no function {function_name!r}")
    return function


def _load_file(spec: ProductSpec, file_name: str) -> Any:
    """Import a Python file of the product's folder once per process, under a module name
    unique to the file's path: two products may both have a `generator.py`, and two folders
    of one product (versions side by side) each run their own code."""
    folder = Path(spec.path).parent if spec.path else Path.cwd()
    path = (folder / file_name).resolve()
    if not path.is_file():
        raise ImportError(f"no file {path}")
    folder_digest = hashlib.sha256(str(path.parent).encode()).hexdigest()[:12]
    module_name = f"medallion_products.{spec.name}_{folder_digest}.{path.stem}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module
