"""What a check found: passed or not, how serious, and the numbers that explain it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


@dataclass
class CheckOutcome:
    """One check's result; metadata holds observed values, thresholds and example keys."""

    name: str
    passed: bool
    severity: Literal["WARN", "ERROR"]
    description: str
    metadata: dict[str, object] = field(default_factory=dict)
    duration_s: float = 0.0


@dataclass(frozen=True)
class Link:
    """A report a person can open (e.g. a Great Expectations Data Docs page): shown as a link
    in the check's metadata."""

    path: Path

    @property
    def url(self) -> str:
        return self.path.resolve().as_uri()
