"""Ports: what the domain and services need from the outside, as Protocols."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Source of the current instant (timezone-aware UTC)."""

    def now(self) -> datetime:
        """Current instant, timezone-aware UTC."""
        ...
