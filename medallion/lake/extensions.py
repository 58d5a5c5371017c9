"""DuckDB's ducklake and postgres extensions, installed from their PyPI wheels: no download.

DuckDB would fetch extensions from its repository on first use; the lake profile turns that
off and installs each from the `.duckdb_extension` file inside the pip package
`duckdb-extension-<name>` into an extension folder of ours, then loads it by name
(`LOAD '<file>'` fails for postgres: its entry point is named differently).
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

import duckdb

LAKE_EXTENSIONS = ("postgres", "ducklake")
OBJECT_STORE_EXTENSIONS = ("httpfs",)
"""Loaded too when their wheel is installed (`duckdb-extension-httpfs==1.5.5`): a data path on
S3, GCS or HTTP needs httpfs; credentials come from a DuckDB secret (deploy/README.md)."""

OFFLINE_CONFIG = {
    "autoinstall_known_extensions": "false",
    "autoload_known_extensions": "false",
}


def extension_file(name: str) -> Path:
    """The extension's binary inside its wheel, for the installed DuckDB version."""
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"duckdb-extension-{name} is not installed: pip install 'medallion[lake]'"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "extensions"
    path = folder / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.exists():
        found = sorted(p.name for p in folder.iterdir())
        raise FileNotFoundError(f"{path}: DuckDB {duckdb.__version__} needs it; wheel has {found}")
    return path


def extension_directory() -> Path:
    """Our own extension folder (DuckDB's default is under the home directory)."""
    return Path(tempfile.gettempdir()) / f"medallion-duckdb-extensions-{duckdb.__version__}"


def offline_config() -> dict[str, str]:
    """Connection settings: no automatic download or load, our extension folder."""
    return OFFLINE_CONFIG | {"extension_directory": str(extension_directory())}


def load(con: duckdb.DuckDBPyConnection) -> None:
    """Install (once per extension folder) and load the lake's extensions."""
    installed = {
        name
        for (name,) in con.execute(
            "SELECT extension_name FROM duckdb_extensions() WHERE installed"
        ).fetchall()
    }
    optional = [
        n for n in OBJECT_STORE_EXTENSIONS if importlib.util.find_spec(f"duckdb_extension_{n}")
    ]
    for name in (*LAKE_EXTENSIONS, *optional):
        if name not in installed:
            con.execute(f"INSTALL '{extension_file(name)}'")
        con.execute(f"LOAD {name}")
