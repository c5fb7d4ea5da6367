"""The first collection strategy: ordered segments, first match wins, with champion/challenger arms.

A strategy is data: each arm holds segments; a segment matches on borrower flags, bucket and a
score band (propensity to pay, 0..1) and leads to one treatment with a reason. Accounts are
assigned to arms by a stable hash of the account id, so an account stays in its arm from day
to day and from run to run.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Treatment(StrEnum):
    """What the lender does about an account today."""

    SELF_CURE_REMINDER = "self_cure_reminder"
    SMS_REMINDER = "sms_reminder"
    CALL = "call"
    PLAN_OFFER = "plan_offer"
    HARDSHIP_REVIEW = "hardship_review"
    NO_ACTION = "no_action"


# Channels each treatment plans, in order of use.
TREATMENT_CHANNELS: dict[Treatment, tuple[str, ...]] = {
    Treatment.SELF_CURE_REMINDER: ("app_push",),
    Treatment.SMS_REMINDER: ("sms",),
    Treatment.CALL: ("call",),
    Treatment.PLAN_OFFER: ("call", "email"),
    Treatment.HARDSHIP_REVIEW: ("letter",),
    Treatment.NO_ACTION: (),
}

# Local planning windows per channel (house defaults; the rule packs may narrow them).
CHANNEL_WINDOWS: dict[str, tuple[str, str]] = {
    "call": ("09:00", "20:00"),
    "sms": ("10:00", "19:00"),
    "wechat": ("10:00", "19:00"),
    "email": ("09:00", "18:00"),
    "app_push": ("10:00", "19:00"),
    "letter": ("09:00", "17:00"),
    "visit": ("10:00", "17:00"),
}


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment of a strategy arm.

    Attributes
    ----------
    name : str
        Segment name written into each decision.
    treatment : Treatment
    reason : str
        Why this treatment, in words an agent understands.
    flags : tuple of str
        Matches when the borrower has any of these flags (empty: no flag condition).
    buckets : tuple of str
        Matches when the account is in one of these buckets (empty: any bucket).
    score_min, score_max : float
        Matches when ``score_min <= score < score_max`` (propensity to pay).
    """

    name: str
    treatment: Treatment
    reason: str
    flags: tuple[str, ...] = ()
    buckets: tuple[str, ...] = ()
    score_min: float = 0.0
    score_max: float = 1.000001

    def matches(self, flags: frozenset[str], bucket: str, score: float) -> bool:
        """True when an account with these facts falls in the segment."""
        if self.flags and not (flags & set(self.flags)):
            return False
        if self.buckets and bucket not in self.buckets:
            return False
        return self.score_min <= score < self.score_max


@dataclass(frozen=True, slots=True)
class Arm:
    """A champion or challenger arm: a share of accounts (percent) and its segments."""

    name: str
    share_pct: int
    segments: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class Strategy:
    """Arms whose shares add up to 100.

    Raises
    ------
    ValueError
        If shares do not add up to 100, an arm is empty or does not end in a catch-all segment.
    """

    name: str
    arms: tuple[Arm, ...]

    def __post_init__(self) -> None:
        if sum(a.share_pct for a in self.arms) != 100:
            raise ValueError(f"strategy {self.name}: arm shares must add up to 100")
        for a in self.arms:
            if not a.segments:
                raise ValueError(f"strategy {self.name}: arm {a.name} has no segments")
            last = a.segments[-1]
            if last.flags or last.buckets or last.score_min > 0 or last.score_max < 1:
                raise ValueError(
                    f"strategy {self.name}: arm {a.name} needs a catch-all last segment"
                )


def arm_slot(account_id: str) -> int:
    """Stable slot 0..99 of an account: CRC-32 of its UTF-8 id, modulo 100."""
    return zlib.crc32(account_id.encode("utf-8")) % 100


def arm_for(account_id: str, strategy: Strategy) -> Arm:
    """The arm an account belongs to, by its stable slot and the arms' cumulative shares."""
    slot = arm_slot(account_id)
    upper = 0
    for arm in strategy.arms:
        upper += arm.share_pct
        if slot < upper:
            return arm
    return strategy.arms[-1]


def choose(
    account_id: str, flags: frozenset[str], bucket: str, score: float, strategy: Strategy
) -> tuple[str, Segment]:
    """Reference (per-account) decision: ``(arm name, matching segment)``.

    The batch planner applies the same segments vectorised; a test holds the two together.
    """
    arm = arm_for(account_id, strategy)
    for seg in arm.segments:
        if seg.matches(flags, bucket, score):
            return arm.name, seg
    raise AssertionError("unreachable: the last segment is a catch-all")


_HOLDS: tuple[Segment, ...] = (
    Segment(
        "deceased",
        Treatment.NO_ACTION,
        "borrower deceased: no collection contact; refer to estate handling",
        flags=("deceased",),
    ),
    Segment(
        "bankrupt",
        Treatment.NO_ACTION,
        "bankruptcy: collection stayed",
        flags=("bankrupt",),
    ),
    Segment(
        "cease_communication",
        Treatment.NO_ACTION,
        "cease-communication request in force: only notices the law allows",
        flags=("cease_communication",),
    ),
    Segment(
        "dispute_open",
        Treatment.NO_ACTION,
        "dispute open: collection on hold until the debt is validated",
        flags=("dispute_open",),
    ),
    Segment(
        "represented",
        Treatment.NO_ACTION,
        "represented by a lawyer: contact goes through the lawyer, not the borrower",
        flags=("represented",),
    ),
    Segment(
        "vulnerable",
        Treatment.HARDSHIP_REVIEW,
        "vulnerable borrower: specialist hardship review, no pressure contact",
        flags=("vulnerable",),
    ),
)


def _tail(self_cure_min: float, m2_high_score: Treatment) -> tuple[Segment, ...]:
    return (
        Segment(
            "early_likely_self_cure",
            Treatment.SELF_CURE_REMINDER,
            "early arrears and a high propensity to pay: a gentle reminder is enough",
            buckets=("M1",),
            score_min=self_cure_min,
        ),
        Segment(
            "early",
            Treatment.SMS_REMINDER,
            "early arrears: remind by SMS",
            buckets=("M1",),
        ),
        Segment(
            "m2_likely_pay",
            m2_high_score,
            "second month behind with a good propensity to pay",
            buckets=("M2",),
            score_min=0.45,
        ),
        Segment(
            "m2",
            Treatment.CALL,
            "second month behind: a call to understand why and agree a payment",
            buckets=("M2",),
        ),
        Segment(
            "mid",
            Treatment.PLAN_OFFER,
            "three to four months behind: offer an affordable repayment plan",
            buckets=("M3", "M4"),
        ),
        Segment(
            "late_low_ptp",
            Treatment.HARDSHIP_REVIEW,
            "five or more months behind and unlikely to pay: hardship review before anything else",
            buckets=("M5", "M6", "M6+"),
            score_max=0.25,
        ),
        Segment(
            "late",
            Treatment.PLAN_OFFER,
            "five or more months behind: offer a repayment plan",
            buckets=("M5", "M6"),
        ),
        Segment(
            "over_180",
            Treatment.HARDSHIP_REVIEW,
            "over 180 days: hardship review before any charge-off decision",
        ),
    )


DEFAULT_STRATEGY = Strategy(
    "default-2026.1",
    (
        # the challenger tests a lighter touch: more self-cure reminders in M1, and an SMS
        # instead of a call for M2 accounts likely to pay
        Arm("champion", 90, (*_HOLDS, *_tail(0.7, Treatment.CALL))),
        Arm("challenger", 10, (*_HOLDS, *_tail(0.6, Treatment.SMS_REMINDER))),
    ),
)


def channels_for(treatment: Treatment | str) -> tuple[str, ...]:
    """Channels a treatment plans (see ``TREATMENT_CHANNELS``)."""
    return TREATMENT_CHANNELS[Treatment(treatment)]


def segment_table(strategy: Strategy) -> Sequence[tuple[str, int, Segment]]:
    """Flattened ``(arm, position, segment)`` rows, for vectorised application."""
    return [(a.name, i, s) for a in strategy.arms for i, s in enumerate(a.segments)]
