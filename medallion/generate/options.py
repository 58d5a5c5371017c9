"""Options every product generator understands, so the CLI and tests stay product-agnostic."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DriftOptions:
    """From day `from_day` on, the generator shifts some feature distributions by `strength`."""

    from_day: int
    strength: float = 1.0

    def __post_init__(self) -> None:
        if self.from_day < 0 or self.strength < 0:
            raise ValueError("drift from_day and strength must not be negative")
