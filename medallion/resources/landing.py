"""Where data products' files are delivered: data/landing/<product>/<source>/ by default."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field


class LandingResource(dg.ConfigurableResource):
    """The landing folder; files in it are never modified by the pipeline."""

    root: str = Field(
        description="Folder with one sub-folder per product, each with one per source."
    )

    def path(self) -> Path:
        return Path(self.root)
