"""Clocks: the only place arrears reads the current time. Services receive one injected."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


class SystemClock:
    """The real clock, always timezone-aware UTC."""

    def now(self) -> datetime:
        """Current instant in UTC."""
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock stopped at ``at`` (tests, replays). ``at`` must be timezone-aware.

    Raises
    ------
    ValueError
        If ``at`` is naive.
    """

    at: datetime

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("FixedClock needs a timezone-aware instant")

    def now(self) -> datetime:
        """The fixed instant, in UTC."""
        return self.at.astimezone(UTC)
