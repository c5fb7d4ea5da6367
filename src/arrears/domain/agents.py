"""Collection agents: skills, minutes per day and shifts (time windows in UTC).

An agent can take a call when the borrower's language is one of the agent's languages, the
account's bucket is one the agent works (an empty set means every bucket), the call fits in one of
the agent's shifts and the agent still has talk minutes left that day.

Shifts are written ``HH:MM-HH:MM`` in UTC and start on the plan date; an end at or before the
start means the shift ends the next day (``16:00-01:00`` runs from 16:00 UTC on the plan date to
01:00 UTC the day after). This is how a team in Taipei (UTC+8) and a team serving US borrowers
(whose local day spans two UTC dates) are written the same way.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

_SHIFT = re.compile(r"^\s*(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})\s*$")


class AgentError(ValueError):
    """An agent definition that cannot be used; the message names the field and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason
        super().__init__(f"field {field!r}: {reason}")


@dataclass(frozen=True, slots=True)
class Shift:
    """A working window in UTC time of day; ``ends_next_day`` when it crosses 00:00 UTC."""

    start: time
    end: time

    @property
    def ends_next_day(self) -> bool:
        """True when the shift ends on the day after the plan date."""
        return self.end <= self.start

    def on(self, plan_date: date) -> tuple[datetime, datetime]:
        """UTC instants ``[start, end)`` of the shift that starts on ``plan_date``."""
        s = datetime.combine(plan_date, self.start, tzinfo=UTC)
        e_day = plan_date + timedelta(days=1) if self.ends_next_day else plan_date
        return s, datetime.combine(e_day, self.end, tzinfo=UTC)

    @property
    def minutes(self) -> int:
        """Length of the shift in minutes."""
        s = self.start.hour * 60 + self.start.minute
        e = self.end.hour * 60 + self.end.minute
        return e - s if e > s else e + 24 * 60 - s

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_shift(text: str) -> Shift:
    """Parse ``HH:MM-HH:MM`` (UTC).

    Raises
    ------
    AgentError
        For a malformed time or an empty shift.
    """
    m = _SHIFT.match(text)
    if not m:
        raise AgentError("shifts", f"{text!r} is not HH:MM-HH:MM (UTC)")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise AgentError("shifts", f"{text!r} has a time outside 00:00-24:00")
    start = time(h1, m1)
    end = time(0, 0) if h2 == 24 else time(h2, m2)
    shift = Shift(start, end)
    return shift


@dataclass(frozen=True, slots=True)
class Agent:
    """One collection agent.

    Attributes
    ----------
    agent_id : str
    languages : frozenset of str
        BCP 47 tags the agent speaks (``zh-TW``, ``en-US``); must not be empty.
    buckets : frozenset of str
        Buckets the agent works; empty means every bucket.
    minutes : int
        Talk minutes available per day (> 0); may be less than the shift length (breaks,
        wrap-up, training).
    shifts : tuple of Shift
        Working windows, UTC, non-overlapping.

    Raises
    ------
    AgentError
        For an empty id or language set, minutes <= 0, no shift, or overlapping shifts.
    """

    agent_id: str
    languages: frozenset[str]
    buckets: frozenset[str]
    minutes: int
    shifts: tuple[Shift, ...]

    def __post_init__(self) -> None:
        if not self.agent_id.strip():
            raise AgentError("agent_id", "is required")
        if not self.languages:
            raise AgentError("languages", "at least one language is required")
        if isinstance(self.minutes, bool) or not isinstance(self.minutes, int) or self.minutes <= 0:
            raise AgentError("minutes_per_day", f"must be a whole number > 0, got {self.minutes!r}")
        if not self.shifts:
            raise AgentError("shifts", "at least one shift is required")
        spans = sorted(s.on(date(2000, 1, 3)) for s in self.shifts)
        for (_, e1), (s2, _) in itertools.pairwise(spans):
            if s2 < e1:
                raise AgentError("shifts", "shifts overlap")

    def can_take(self, language: str, bucket: str) -> bool:
        """True when the agent has the skills for a borrower language and an account bucket."""
        return language in self.languages and (not self.buckets or bucket in self.buckets)

    def windows(self, plan_date: date) -> list[tuple[datetime, datetime]]:
        """UTC working windows for the shifts starting on ``plan_date``."""
        return [s.on(plan_date) for s in self.shifts]
