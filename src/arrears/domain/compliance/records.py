"""Record-keeping duties of a contact: how long its recording must be kept.

Rules of type ``record_keeping`` (e.g. ``TW.RECORDING.RETENTION``: Financial Supervisory
Commission, Directions for Financial Institutions Outsourcing Collection of Receivables,
"record collection calls and keep the recordings for at least six months") never decide
whether a contact may be made. They say what must be kept once it is: the gate stores, on each
reservation they cover, the instant until which its recording must be kept
(:func:`recording_duty`), and ``arrears audit recordings`` lists the contacts that reached
someone but have no recording reference, and the recordings whose keeping period has ended.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from arrears.domain.compliance.check import candidate_zones
from arrears.domain.compliance.engine import Attempt, BorrowerState, applicable_packs
from arrears.domain.compliance.packs import RulePack


def add_months(at: datetime, months: int) -> datetime:
    """``at`` plus ``months`` calendar months, the day clipped to the month's last day
    (31 August + 6 months = 28 or 29 February), same wall time, in ``at``'s time zone. A wall
    time that falls in a repeated or skipped hour there gives the later of its instants (a
    keeping period never ends early).

    Raises
    ------
    ValueError
        For a naive ``at`` or ``months < 0``.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("add_months: at must be timezone-aware")
    if months < 0:
        raise ValueError(f"add_months: months must be >= 0, got {months}")
    index = at.month - 1 + months
    year, month = at.year + index // 12, index % 12 + 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    wall = at.replace(year=year, month=month, day=day)
    return max(wall.replace(fold=0), wall.replace(fold=1), key=lambda t: t.astimezone(UTC))


@dataclass(frozen=True, slots=True)
class RecordingDuty:
    """What must be kept of one contact.

    Attributes
    ----------
    rule_ids : tuple of str
        The ``record_keeping`` rules that apply (sorted).
    keep_until : datetime
        UTC instant until which the recording must be kept: the contact's instant plus the
        longest period of those rules, in calendar months of the borrower's local time (when
        the zone is unknown, the latest over the jurisdiction's zones).
    """

    rule_ids: tuple[str, ...]
    keep_until: datetime


def recording_duty(
    attempt: Attempt, borrower: BorrowerState, packs: Sequence[RulePack]
) -> RecordingDuty | None:
    """The recording duty of ``attempt`` under the packs that apply to ``borrower``, or None.

    A rule applies when it is in force on the contact's local date (in any of the borrower's
    candidate zones) and lists the contact's channel (a rule without ``channels`` lists them
    all).
    """
    zones = [ZoneInfo(z) for z in candidate_zones(borrower.jurisdiction, borrower.timezone)]
    days = {attempt.at.astimezone(z).date() for z in zones}
    rules = [
        r
        for p in applicable_packs(borrower, packs)
        for r in p.rules
        if r.type == "record_keeping"
        and r.months
        and attempt.channel in r.channels
        and any(r.in_force(d) for d in days)
    ]
    if not rules:
        return None
    months = max(r.months or 0 for r in rules)
    keep_until = max(add_months(attempt.at.astimezone(z), months).astimezone(UTC) for z in zones)
    return RecordingDuty(tuple(sorted({r.id for r in rules})), keep_until)


#: Outcomes of a contact that reached someone: a recording of it is expected.
REACHED_OUTCOMES = ("connected", "rpc", "ptp", "refused", "wrong_number")


@dataclass(frozen=True, slots=True)
class DutyRow:
    """One contact-ledger row with a recording duty (``keep_until`` set at reservation)."""

    reservation_id: int
    borrower_id: str
    channel: str
    attempt_at: datetime
    status: str
    outcome: str | None
    keep_until: datetime
    recording_ref: str | None
    stored: bool = True  # False: found from the decision's audit entry, not on the row


@dataclass(frozen=True, slots=True)
class RecordingRegister:
    """The state of the recording duties on ``as_of``.

    Attributes
    ----------
    as_of : datetime
        When the register was read (UTC).
    duties : int
        Contacts with a recording duty (every status).
    reached : int
        Completed with an outcome that reached someone (:data:`REACHED_OUTCOMES`).
    recorded : int
        Of those, with a recording reference.
    missing : list of DutyRow
        Reached someone, no recording reference: the duty is not met.
    open : int
        Not made yet on ``as_of`` (reserved, its time not more than :data:`OUTCOME_GRACE`
        ago, or later than ``as_of``).
    overdue : list of DutyRow
        Reserved, their time more than :data:`OUTCOME_GRACE` before ``as_of``, and no outcome
        recorded: they may have reached someone, so their recording may be missing too.
    expired : list of DutyRow
        With a recording whose keeping period ended before ``as_of``: it may be deleted
        (unless something else holds it: an open complaint, a dispute, litigation).
    not_stored : int
        Duties found from the decisions' audit entries for rows that do not carry them
        (reserved before migration 0009, or the value removed from the row).
    """

    as_of: datetime
    duties: int
    reached: int
    recorded: int
    missing: list[DutyRow]
    open: int
    expired: list[DutyRow]
    not_stored: int = 0
    overdue: list[DutyRow] = field(default_factory=list)


#: How long after a reserved contact's time its outcome may still be unrecorded.
OUTCOME_GRACE = timedelta(days=1)


def recording_register(rows: Sequence[DutyRow], as_of: datetime) -> RecordingRegister:
    """Sort the rows with a recording duty into met, missing, open, overdue and expired, on
    ``as_of`` (contacts after ``as_of`` count as not made yet)."""
    made = [r for r in rows if r.attempt_at <= as_of]
    reached = [r for r in made if r.status == "completed" and r.outcome in REACHED_OUTCOMES]
    overdue = [r for r in made if r.status == "reserved" and r.attempt_at + OUTCOME_GRACE < as_of]
    return RecordingRegister(
        as_of=as_of,
        duties=len(rows),
        reached=len(reached),
        recorded=sum(1 for r in reached if r.recording_ref),
        missing=[r for r in reached if not r.recording_ref],
        open=sum(1 for r in rows if r.status == "reserved") - len(overdue),
        expired=[r for r in made if r.recording_ref and r.keep_until < as_of],
        not_stored=sum(1 for r in rows if not r.stored),
        overdue=overdue,
    )
