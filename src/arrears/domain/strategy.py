"""Collection strategy: ordered segments, first match wins, with champion/challenger arms.

A strategy is data: each arm holds segments; a segment matches on borrower flags, bucket, a
score band (propensity to pay, 0..1) and a balance band (the arrears amount, whole major units
of the account's currency) and leads to one treatment path: the treatment, the channels it
uses, the cadence in days between contacts, the message templates and the offer types it may
make. Accounts are assigned to arms by a stable hash of the account id, so an account stays in
its arm from day to day and from run to run.

Strategies are written by collections managers as YAML (``strategies/*.yaml``, loaded by
:mod:`arrears.adapters.strategy_file`); :data:`DEFAULT_STRATEGY` is the same strategy as
``strategies/default.yaml`` in Python (a test holds the two together).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from arrears.domain.compliance.engine import SUPPORT_CHANNELS
from arrears.domain.plans import (
    DEFAULT_LIMITS,
    DEFAULT_OFFER_POLICY,
    LegalLimits,
    OfferPolicy,
    OfferType,
)


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

#: The purpose of a treatment's contacts (``Attempt.purpose``); every other treatment collects.
TREATMENT_PURPOSE: dict[Treatment, str] = {Treatment.HARDSHIP_REVIEW: "support"}

# Flags a segment may test: the borrower status flags of the portfolio format (``dispute_open``
# as the strategy sees it: :func:`dispute_held`), plus
# ``plan_active`` (a repayment plan is being kept: see arrears.domain.plans),
# ``promise_pending`` (a promise to pay made and not yet due, grace days included) and
# ``hardship`` (hardship declared; false unless the input carries the column).
BORROWER_FLAGS: tuple[str, ...] = (
    "cease_communication",
    "dispute_open",
    "deceased",
    "bankrupt",
    "represented",
    "vulnerable",
    "complaint_open",
    "hardship_pause",
)
STRATEGY_FLAGS: tuple[str, ...] = (*BORROWER_FLAGS, "plan_active", "promise_pending", "hardship")

#: Where sending the validation notice lifts the dispute holds (US.DISPUTE.HOLD and
#: ALL.HOLD.DISPUTE; FDCPA 15 U.S.C. 1692g(b)). Elsewhere the shipped packs hold a disputed
#: debt until the dispute is closed (GB.DISPUTE.HOLD, CONC 7.14.1R; IE, CN, TW house policy).
DISPUTE_LIFTS_WITH_VALIDATION: tuple[str, ...] = ("US",)


def dispute_held(
    jurisdiction: str,
    dispute_open: bool,
    validation_sent: bool,
    lender_jurisdictions: Sequence[str] = (),
) -> bool:
    """The strategy's ``dispute_open``: a dispute is open and its hold has not lifted. It lifts
    with the validation notice only when every jurisdiction whose packs apply (the
    borrower's and the lender's) is in :data:`DISPUTE_LIFTS_WITH_VALIDATION`: a GB lender's
    GB.DISPUTE.HOLD still holds a US borrower's dispute."""
    lifts = all(
        j.split("-")[0] in DISPUTE_LIFTS_WITH_VALIDATION
        for j in (jurisdiction, *lender_jurisdictions)
    )
    return dispute_open and not (validation_sent and lifts)


#: Strategy flags under a hold of the ALL pack that lets no collection contact through, for
#: good (ALL.HOLD.DECEASED, ALL.HOLD.BANKRUPT, ALL.HOLD.CEASE) or while a complaint is open
#: (ALL.HOLD.COMPLAINT): a segment testing one of them must plan no contact. (A dispute hold
#: lifts with the validation notice in the US, so a strategy may plan contacts for disputed
#: borrowers: the gate holds them until the hold lifts.)
HOLD_FLAGS: tuple[str, ...] = ("deceased", "bankrupt", "cease_communication", "complaint_open")


def hold_conflict(seg: Segment) -> str | None:
    """Why a segment's path would plan contacts that the holds of its own flags always refuse,
    or None.

    A segment matches when the borrower has *any* of its flags, so one hold flag is enough: a
    segment testing a flag of :data:`HOLD_FLAGS` or ``represented`` must have a path with no
    channels; one testing ``vulnerable`` or ``hardship_pause`` a ``hardship_review`` (support)
    path by letter or e-mail only, or none.
    """
    held = [f for f in seg.flags if f in HOLD_FLAGS]
    channels = seg.path_channels
    if held and channels:
        return (
            f"borrowers flagged {', '.join(held)} are on a hold that lets no collection contact "
            f"through, so a path with channels ({', '.join(channels)}) only plans contacts the "
            "gate refuses: use a path with no channels (treatment no_action), or split the "
            "segment"
        )
    if "represented" in seg.flags and channels:
        return (
            "a represented borrower is contacted through the lawyer only (ALL.LAWYER_ONLY, "
            "12 CFR 1006.6(b)(2)) and the daily plan contacts borrowers: a path with channels "
            f"({', '.join(channels)}) only plans contacts the gate refuses; use a path with no "
            "channels, or split the segment"
        )
    paused = [f for f in seg.flags if f in ("vulnerable", "hardship_pause")]
    if paused and channels:
        who = " or ".join(paused)
        if seg.treatment is not Treatment.HARDSHIP_REVIEW:
            return (
                f"borrowers flagged {who} are on a hold (ALL.HOLD.VULNERABLE) that lets only "
                f"support contacts through: treatment {seg.treatment.value} collects; use "
                "hardship_review, or a path with no channels, or split the segment"
            )
        extra = [c for c in channels if c not in SUPPORT_CHANNELS]
        if extra:
            return (
                f"support contacts to borrowers flagged {who} go by letter or email only "
                f"(ALL.HOLD.VULNERABLE): {', '.join(extra)} would always be refused"
            )
    return None


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
    """One segment of a strategy arm and the treatment path it leads to.

    Attributes
    ----------
    name : str
        Segment name written into each decision.
    treatment : Treatment
    reason : str
        Why this treatment, in words an agent understands.
    flags : tuple of str
        Matches when the borrower has any of these flags (empty: no flag condition); names
        from :data:`STRATEGY_FLAGS`.
    buckets : tuple of str
        Matches when the account is in one of these buckets (empty: any bucket).
    score_min, score_max : float
        Matches when ``score_min <= score < score_max`` (propensity to pay).
    balance_min, balance_max : int or None
        Matches when ``balance_min <= arrears amount < balance_max``, in whole major units of
        the account's currency (None: no bound on that side). An account whose arrears
        amount is unknown never matches a segment with a balance band.
    channels : tuple of str or None
        Channels of the treatment path, in order of use; None means the treatment's default
        (:data:`TREATMENT_CHANNELS`).
    cadence_days : int
        At least this many days between contact days on the account (1: daily).
    templates : tuple of str
        Message template ids the path uses.
    offer_types : tuple of OfferType
        Offers the path may make (see :mod:`arrears.domain.plans`).
    """

    name: str
    treatment: Treatment
    reason: str
    flags: tuple[str, ...] = ()
    buckets: tuple[str, ...] = ()
    score_min: float = 0.0
    score_max: float = 1.000001
    balance_min: int | None = None
    balance_max: int | None = None
    channels: tuple[str, ...] | None = None
    cadence_days: int = 1
    templates: tuple[str, ...] = ()
    offer_types: tuple[OfferType, ...] = ()

    def __post_init__(self) -> None:
        if self.channels is None:
            object.__setattr__(self, "channels", TREATMENT_CHANNELS[Treatment(self.treatment)])
        if self.cadence_days < 1:
            raise ValueError(f"segment {self.name}: cadence_days must be >= 1")

    @property
    def path_channels(self) -> tuple[str, ...]:
        """Channels the path plans: ``channels`` or the treatment's default."""
        return TREATMENT_CHANNELS[self.treatment] if self.channels is None else self.channels

    @property
    def is_catch_all(self) -> bool:
        """True when the segment matches every account."""
        return (
            not self.flags
            and not self.buckets
            and self.score_min <= 0
            and self.score_max >= 1
            and self.balance_min is None
            and self.balance_max is None
        )

    def matches(
        self, flags: frozenset[str], bucket: str, score: float, balance: Decimal | None = None
    ) -> bool:
        """True when an account with these facts falls in the segment.

        ``balance`` is the arrears amount in major units (exact Decimal), None if unknown.
        """
        if self.flags and not (flags & set(self.flags)):
            return False
        if self.buckets and bucket not in self.buckets:
            return False
        if self.balance_min is not None or self.balance_max is not None:
            if balance is None:
                return False
            if self.balance_min is not None and balance < self.balance_min:
                return False
            if self.balance_max is not None and balance >= self.balance_max:
                return False
        return self.score_min <= score < self.score_max

    def covers(self, other: Segment) -> bool:
        """True when every account ``other`` matches is also matched by this segment.

        A later segment covered by an earlier one of the same arm is unreachable.
        """
        if self.flags and not (other.flags and set(other.flags) <= set(self.flags)):
            return False
        if self.buckets and not (other.buckets and set(other.buckets) <= set(self.buckets)):
            return False
        if not (self.score_min <= other.score_min and other.score_max <= self.score_max):
            return False
        if self.balance_min is not None and (
            other.balance_min is None or other.balance_min < self.balance_min
        ):
            return False
        return self.balance_max is None or (
            other.balance_max is not None and other.balance_max <= self.balance_max
        )


@dataclass(frozen=True, slots=True)
class Arm:
    """A champion or challenger arm: a share of accounts (percent) and its segments."""

    name: str
    share_pct: int
    segments: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class Strategy:
    """Arms whose shares add up to 100, the offer policy and the legal limits.

    Raises
    ------
    ValueError
        If shares do not add up to 100, an arm is empty or does not end in a catch-all segment.
    """

    name: str
    arms: tuple[Arm, ...]
    offers: OfferPolicy = DEFAULT_OFFER_POLICY
    limits: LegalLimits = DEFAULT_LIMITS
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if sum(a.share_pct for a in self.arms) != 100:
            raise ValueError(f"strategy {self.name}: arm shares must add up to 100")
        for a in self.arms:
            if not a.segments:
                raise ValueError(f"strategy {self.name}: arm {a.name} has no segments")
            if not a.segments[-1].is_catch_all:
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


#: Replaces whatever segment would contact the borrower or make an offer (a strategy cannot
#: remove it) for an account shown as past due on which nothing is owed (arrears amount known
#: and zero, or a credit balance): it is not collected. Seen in real data (a delinquency
#: status with a zero or credit statement balance): a reminder would ask for money not owed.
NOTHING_DUE = Segment(
    "nothing_due",
    Treatment.NO_ACTION,
    "shown as past due but nothing is owed (zero or credit balance): no collection contact "
    "until the account data is checked",
)


def choose(
    account_id: str,
    flags: frozenset[str],
    bucket: str,
    score: float,
    strategy: Strategy,
    *,
    balance: Decimal | None = None,
    outstanding: Decimal | None = None,
) -> tuple[str, Segment]:
    """Reference (per-account) decision: ``(arm name, matching segment)``.

    ``balance`` is the arrears amount in major units (None: unknown); ``outstanding`` the
    account's whole balance (None: unknown). When either is known and not positive (nothing
    past due, or a zero or credit balance) and the matching segment would contact the
    borrower or make an offer, the segment is :data:`NOTHING_DUE` instead, whatever the
    strategy says (a hold with no contact keeps its own segment and reason). The batch
    planner applies the same segments vectorised; a test holds the two together.
    """
    arm = arm_for(account_id, strategy)
    for seg in arm.segments:
        if seg.matches(flags, bucket, score, balance):
            owed_nothing = (balance is not None and balance <= 0) or (
                outstanding is not None and outstanding <= 0
            )
            if owed_nothing and (seg.path_channels or seg.offer_types):
                return arm.name, NOTHING_DUE
            return arm.name, seg
    raise AssertionError("unreachable: the last segment is a catch-all")


_FORBEARANCE = (
    OfferType.PAYMENT_HOLIDAY,
    OfferType.WAIVER,
    OfferType.TERM_EXTENSION,
    OfferType.INSTALLMENT_PLAN,
)

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
        "dispute open: collection on hold until it is resolved (in the US, until the debt is "
        "validated)",
        flags=("dispute_open",),
    ),
    Segment(
        "represented",
        Treatment.NO_ACTION,
        "represented by a lawyer: contact goes through the lawyer, not the borrower",
        flags=("represented",),
    ),
    Segment(
        "complaint_open",
        Treatment.NO_ACTION,
        "complaint open: collection paused until it is answered; notices only",
        flags=("complaint_open",),
    ),
    Segment(
        "vulnerable",
        Treatment.HARDSHIP_REVIEW,
        "vulnerable borrower or hardship pause: specialist hardship review, no pressure contact",
        flags=("vulnerable", "hardship_pause"),
        templates=("hardship_review_letter",),
        offer_types=_FORBEARANCE,
    ),
    Segment(
        "plan_kept",
        Treatment.NO_ACTION,
        "repayment plan being kept: no escalation while the plan is kept",
        flags=("plan_active",),
    ),
    Segment(
        "promise_pending",
        Treatment.NO_ACTION,
        "promise to pay pending: no collection contact before it falls due (grace days included)",
        flags=("promise_pending",),
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
            templates=("m1_gentle_reminder",),
        ),
        Segment(
            "early",
            Treatment.SMS_REMINDER,
            "early arrears: remind by SMS",
            buckets=("M1",),
            templates=("m1_sms_reminder",),
        ),
        Segment(
            "m2_likely_pay",
            m2_high_score,
            "second month behind with a good propensity to pay",
            buckets=("M2",),
            score_min=0.45,
            templates=(
                ("m2_call_script",) if m2_high_score is Treatment.CALL else ("m2_sms_reminder",)
            ),
        ),
        Segment(
            "m2",
            Treatment.CALL,
            "second month behind: a call to understand why and agree a payment",
            buckets=("M2",),
            templates=("m2_call_script",),
        ),
        Segment(
            "mid",
            Treatment.PLAN_OFFER,
            "three to four months behind: offer an affordable repayment plan",
            buckets=("M3", "M4"),
            templates=("plan_offer_call_script", "plan_offer_email"),
            offer_types=(OfferType.INSTALLMENT_PLAN,),
        ),
        Segment(
            "late_low_ptp",
            Treatment.HARDSHIP_REVIEW,
            "five or more months behind and unlikely to pay: hardship review before anything else",
            buckets=("M5", "M6", "M6+"),
            score_max=0.25,
            templates=("hardship_review_letter",),
            offer_types=_FORBEARANCE,
        ),
        Segment(
            "late",
            Treatment.PLAN_OFFER,
            "five or more months behind: offer a repayment plan",
            buckets=("M5", "M6"),
            templates=("plan_offer_call_script", "plan_offer_email"),
            offer_types=(OfferType.INSTALLMENT_PLAN, OfferType.SETTLEMENT),
        ),
        Segment(
            "over_180",
            Treatment.HARDSHIP_REVIEW,
            "over 180 days: hardship review before any charge-off decision",
            templates=("hardship_review_letter",),
            offer_types=_FORBEARANCE,
        ),
    )


DEFAULT_STRATEGY = Strategy(
    "default-2026.2",
    (
        # the challenger tests a lighter touch: more self-cure reminders in M1, and an SMS
        # instead of a call for M2 accounts likely to pay
        Arm("champion", 90, (*_HOLDS, *_tail(0.7, Treatment.CALL))),
        Arm("challenger", 10, (*_HOLDS, *_tail(0.6, Treatment.SMS_REMINDER))),
    ),
)
"""The built-in strategy; ``strategies/default.yaml`` is the same strategy as a file."""


def channels_for(treatment: Treatment | str) -> tuple[str, ...]:
    """Channels a treatment plans (see ``TREATMENT_CHANNELS``)."""
    return TREATMENT_CHANNELS[Treatment(treatment)]


def segment_table(strategy: Strategy) -> Sequence[tuple[str, int, Segment]]:
    """Flattened ``(arm, position, segment)`` rows, for vectorised application."""
    return [(a.name, i, s) for a in strategy.arms for i, s in enumerate(a.segments)]
