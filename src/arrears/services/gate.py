"""The contact gate: the only way arrears makes an outbound contact.

:meth:`ContactGate.attempt` decides one contact attempt in ONE unit of work:

1. lock the borrower (PostgreSQL: a transaction-scoped advisory lock on the borrower id;
   SQLite: ``BEGIN IMMEDIATE``), so concurrent workers on one borrower queue up;
2. read the borrower's contact history (contact ledger + imported contact history);
3. :func:`arrears.domain.compliance.engine.evaluate` the attempt against the rule packs;
4. append the decision, allowed or blocked, to the hash-chained audit log;
5. when allowed, record a ``reserved`` row in the contact ledger (it counts against every cap
   from that moment, before the contact is even made);
6. commit. Any error before the commit rolls everything back: no reservation without its audit
   entry, no audit entry without its reservation.

Outcomes (:data:`OUTCOMES`) are recorded against the reservation with
:meth:`ContactGate.record_outcome`, also audited; a reservation never used is cancelled with
:meth:`ContactGate.cancel`. Channel adapters can only send with an open
:class:`~arrears.domain.ports.Reservation` (:meth:`ContactGate.open_reservation`,
:meth:`ContactGate.dispatch`): there is no path to a borrower that skips the gate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from arrears.domain.audit import canonical_json
from arrears.domain.compliance.check import HolidayLookup
from arrears.domain.compliance.engine import (
    UNANSWERED_OUTCOMES,
    Attempt,
    BorrowerState,
    Decision,
    PastContact,
    evaluate,
)
from arrears.domain.compliance.packs import RulePack
from arrears.domain.compliance.records import recording_duty
from arrears.domain.ports import Clock, GateUnitOfWork, OutboundChannel, Reservation

#: Outcomes a reservation can be completed with.
OUTCOMES = (
    "connected",
    "rpc",
    "ptp",
    "no_answer",
    "busy",
    "voicemail",
    "wrong_number",
    "refused",
    "delivered",
    "failed",
)
#: Channels on which a conversation with the borrower can take place (a telephone
#: conversation, Regulation F 1006.14(b)(2)(i)(B), or one in person).
CONVERSATION_CHANNELS = frozenset({"call", "visit"})
#: Outcomes where nobody was reached: recording one as a conversation is refused.
NO_CONVERSATION_OUTCOMES = frozenset(UNANSWERED_OUTCOMES | {"wrong_number"})
#: History read around an attempt: every rule of the shipped packs looks back at most 7 days
#: (rolling caps, the wait after a conversation); 35 days leaves room for monthly house rules.
DEFAULT_LOOKBACK = timedelta(days=35)


class GateError(ValueError):
    """A gate request that cannot be carried out (unknown reservation, bad outcome...)."""


@dataclass(frozen=True, slots=True)
class GateResult:
    """What the gate decided for one attempt.

    Attributes
    ----------
    decision : Decision
        The engine's decision (allowed, blocking rule ids, reasons, next_allowed_at).
    reservation_id : int or None
        Contact-ledger id of the reservation when allowed, else None.
    audit_seq : int
        Audit entry recording the decision.
    """

    decision: Decision
    reservation_id: int | None
    audit_seq: int


# --- payloads (canonical JSON in the audit log; replay reads them back) --------------------


def _t(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def attempt_to_dict(a: Attempt) -> dict[str, Any]:
    """JSON-ready form of an attempt (instants as ISO 8601 UTC)."""
    return {
        "borrower_id": a.borrower_id,
        "account_id": a.account_id,
        "channel": a.channel,
        "at": _t(a.at),
        "party": a.party,
        "purpose": a.purpose,
        "agency_id": a.agency_id,
        "to_workplace": a.to_workplace,
        "staff_count": a.staff_count,
        "number": a.number,
    }


def attempt_from_dict(d: Mapping[str, Any]) -> Attempt:
    """Inverse of :func:`attempt_to_dict`.

    Raises
    ------
    KeyError, ValueError
        For a payload that is not an attempt.
    """
    return Attempt(
        borrower_id=str(d["borrower_id"]),
        account_id=d.get("account_id"),
        channel=str(d["channel"]),
        at=datetime.fromisoformat(str(d["at"])),
        party=str(d.get("party", "borrower")),
        purpose=str(d.get("purpose", "collection")),
        agency_id=str(d.get("agency_id", "lender")),
        to_workplace=bool(d.get("to_workplace", False)),
        staff_count=int(d.get("staff_count", 1)),
        number=d.get("number"),
    )


def borrower_to_dict(b: BorrowerState) -> dict[str, Any]:
    """JSON-ready snapshot of the borrower state a decision was taken on."""
    consent = (
        [f"{b.consent_hours[0]:%H:%M}", f"{b.consent_hours[1]:%H:%M}"] if b.consent_hours else None
    )
    out: dict[str, Any] = {
        "borrower_id": b.borrower_id,
        "jurisdiction": b.jurisdiction,
        "timezone": b.timezone,
        "flags": sorted(b.flags),
        "opted_out": sorted(b.opted_out),
        "consent_hours": consent,
        "unreachable": b.unreachable,
        "lender_jurisdictions": list(b.lender_jurisdictions),
    }
    if b.consent_by_channel:  # only then: older payloads keep their exact form
        out["consent_by_channel"] = [
            [c, f"{start:%H:%M}", f"{end:%H:%M}"] for c, start, end in b.consent_by_channel
        ]
    return out


def borrower_from_dict(d: Mapping[str, Any]) -> BorrowerState:
    """Inverse of :func:`borrower_to_dict`."""
    consent = d.get("consent_hours")
    return BorrowerState(
        borrower_id=str(d["borrower_id"]),
        jurisdiction=str(d["jurisdiction"]),
        timezone=d.get("timezone"),
        flags=frozenset(d.get("flags", ())),
        opted_out=frozenset(d.get("opted_out", ())),
        consent_hours=(time.fromisoformat(consent[0]), time.fromisoformat(consent[1]))
        if consent
        else None,
        unreachable=bool(d.get("unreachable", False)),
        lender_jurisdictions=tuple(d.get("lender_jurisdictions", ())),
        consent_by_channel=tuple(
            (str(c), time.fromisoformat(start), time.fromisoformat(end))
            for c, start, end in d.get("consent_by_channel", ())
        ),
    )


def decision_to_dict(dec: Decision) -> dict[str, Any]:
    """JSON-ready form of a decision."""
    return {
        "allowed": dec.allowed,
        "rule_ids": list(dec.rule_ids),
        "reasons": list(dec.reasons),
        "next_allowed_at": _t(dec.next_allowed_at) if dec.next_allowed_at else None,
        "pack_refs": list(dec.pack_refs),
    }


def decision_payload(attempt: Attempt, borrower: BorrowerState, decision: Decision) -> str:
    """Canonical JSON of a decision entry: the attempt, the borrower state and the decision."""
    return canonical_json(
        {
            "attempt": attempt_to_dict(attempt),
            "borrower": borrower_to_dict(borrower),
            "decision": decision_to_dict(decision),
        }
    )


# --- the service ----------------------------------------------------------------------------


class ContactGate:
    """The contact gate service (see the module docstring).

    Parameters
    ----------
    uow_factory : callable
        Returns a fresh :class:`~arrears.domain.ports.GateUnitOfWork` per use case.
    packs : sequence of RulePack
        Every loaded rule pack (the engine picks those applying to each borrower).
    is_holiday : callable
        ``(jurisdiction, local date) -> bool``.
    clock : Clock
        Source of "now" (reservation and audit instants).
    lookback : timedelta
        How far around the attempt instant history is read (both directions: reservations
        planned for later instants count too).
    """

    def __init__(
        self,
        uow_factory: Callable[[], GateUnitOfWork],
        packs: Sequence[RulePack],
        is_holiday: HolidayLookup,
        clock: Clock,
        lookback: timedelta = DEFAULT_LOOKBACK,
    ) -> None:
        self._uow_factory = uow_factory
        self.packs = tuple(packs)
        self._is_holiday = is_holiday
        self._clock = clock
        self._lookback = lookback

    def attempt(self, attempt: Attempt, borrower: BorrowerState) -> GateResult:
        """Decide one contact attempt and, when allowed, reserve it; audit either way.

        Parameters
        ----------
        attempt : Attempt
            The contact to make (``at`` UTC-aware).
        borrower : BorrowerState
            The borrower's state now (jurisdiction, zone, flags, opt-outs...).

        Returns
        -------
        GateResult

        Raises
        ------
        GateError
            If the attempt and the borrower state name different borrowers, or ``at`` is naive.
        """
        if attempt.borrower_id != borrower.borrower_id:
            raise GateError(
                f"attempt is for borrower {attempt.borrower_id!r} but the state is for "
                f"{borrower.borrower_id!r}"
            )
        if attempt.at.tzinfo is None or attempt.at.utcoffset() is None:
            raise GateError("attempt.at must be timezone-aware")
        with self._uow_factory() as uow:
            history = uow.locked_history(
                attempt.borrower_id, attempt.at - self._lookback, attempt.at + self._lookback
            )
            decision = evaluate(attempt, history, borrower, self.packs, self._is_holiday)
            now = self._clock.now()
            payload = decision_payload(attempt, borrower, decision)
            duty = recording_duty(attempt, borrower, self.packs) if decision.allowed else None
            seq, rid = uow.commit_decision(
                attempt,
                payload,
                now,
                reserve=decision.allowed,
                keep_recording_until=duty.keep_until if duty else None,
            )
        return GateResult(decision, rid, seq)

    def explain(
        self, attempt: Attempt, borrower: BorrowerState, history: Sequence[PastContact]
    ) -> Decision:
        """Evaluate without reserving or auditing (what-if; ``arrears explain``)."""
        return evaluate(attempt, history, borrower, self.packs, self._is_holiday)

    def history(self, borrower_id: str, around: datetime) -> list[PastContact]:
        """The borrower's history within the lookback around ``around`` (read only)."""
        with self._uow_factory() as uow:
            return uow.contacts.history(
                borrower_id, around - self._lookback, around + self._lookback
            )

    def record_outcome(
        self,
        reservation_id: int,
        outcome: str,
        conversation: bool = False,
        recording_ref: str | None = None,
    ) -> int:
        """Complete a reservation with its outcome (and the reference of its recording, when
        one was made); audit it. Returns the audit seq.

        Raises
        ------
        GateError
            For an unknown outcome, an unknown reservation, one already completed or
            cancelled, ``conversation`` with an outcome where nobody was reached
            (:data:`NO_CONVERSATION_OUTCOMES`) or on a channel other than a call or a visit, or
            a recording reference that is blank or longer than 200 characters.
        """
        if outcome not in OUTCOMES:
            raise GateError(f"unknown outcome {outcome!r}: use one of {', '.join(OUTCOMES)}")
        if conversation and outcome in NO_CONVERSATION_OUTCOMES:
            raise GateError(
                f"outcome {outcome!r} means nobody was reached: it cannot be a conversation"
            )
        if recording_ref is not None:
            recording_ref = recording_ref.strip()
            if not 0 < len(recording_ref) <= 200:
                raise GateError("a recording reference must be 1 to 200 characters")
        return self._close(
            reservation_id, "completed", outcome, conversation, recording_ref=recording_ref
        )

    def attach_recording(self, reservation_id: int, recording_ref: str) -> int:
        """Give a completed contact the reference of its recording (recordings often arrive
        after the outcome is recorded); audit it as an ``outcome`` entry. Returns the audit
        seq.

        Raises
        ------
        GateError
            For a blank or over-long reference, an unknown reservation, one not completed
            (record its outcome with the reference instead), or one that already has a
            recording (a reference is never replaced).
        """
        ref = recording_ref.strip()
        if not 0 < len(ref) <= 200:
            raise GateError("a recording reference must be 1 to 200 characters")
        with self._uow_factory() as uow:
            found = uow.contacts.get(reservation_id)
            if found is None:
                raise GateError(f"no reservation with id {reservation_id}")
            uow.lock_borrower(found.borrower_id)
            current = uow.contacts.get(reservation_id)
            assert current is not None
            if current.status != "completed":
                raise GateError(
                    f"reservation {reservation_id} is {current.status}: record its outcome "
                    "first (with --recording)"
                )
            if current.recording_ref:
                raise GateError(
                    f"reservation {reservation_id} already has recording "
                    f"{current.recording_ref!r}: a reference is never replaced"
                )
            uow.contacts.set_recording(reservation_id, ref)
            payload = {
                "reservation_id": reservation_id,
                "decision_audit_seq": current.decision_audit_seq,
                "status": "completed",
                "outcome": current.outcome,
                "channel": current.channel,
                "attempt_at": _t(current.attempt_at),
                "recording_ref": ref,
                "recording_attached": True,
            }
            seq = uow.audit.append(
                "outcome", current.borrower_id, canonical_json(payload), self._clock.now()
            )
            uow.commit()
        return seq

    def cancel(self, reservation_id: int, reason: str) -> int:
        """Cancel a reservation that was never used (it stops counting); audit it.

        Raises
        ------
        GateError
            For an unknown reservation, one no longer reserved, or one whose time has passed
            (it may have been made: record its outcome instead).
        """
        return self._close(reservation_id, "cancelled", None, False, reason)

    def _close(
        self,
        reservation_id: int,
        status: str,
        outcome: str | None,
        conversation: bool,
        reason: str = "",
        recording_ref: str | None = None,
    ) -> int:
        with self._uow_factory() as uow:
            found = uow.contacts.get(reservation_id)
            if found is None:
                raise GateError(f"no reservation with id {reservation_id}")
            uow.lock_borrower(found.borrower_id)
            current = uow.contacts.get(reservation_id)  # re-read under the lock
            if current is None or current.status != "reserved":
                state = current.status if current else "gone"
                raise GateError(f"reservation {reservation_id} is {state}, not reserved")
            now = self._clock.now()
            if status == "cancelled" and now > current.attempt_at:
                # the contact's time has come: it may have been made, and a cancellation
                # would take it out of the caps
                raise GateError(
                    f"reservation {reservation_id} was for {_t(current.attempt_at)}, which has "
                    "passed: record its outcome (e.g. failed) instead of cancelling it"
                )
            if conversation and current.channel not in CONVERSATION_CHANNELS:
                raise GateError(
                    f"reservation {reservation_id} is a {current.channel}: a conversation takes "
                    "a call or a visit"
                )
            uow.contacts.complete(
                reservation_id, status, outcome, conversation, now, recording_ref=recording_ref
            )
            payload: dict[str, Any] = {
                "reservation_id": reservation_id,
                "decision_audit_seq": current.decision_audit_seq,
                "status": status,
                "outcome": outcome,
                "conversation": conversation,
                "channel": current.channel,
                "attempt_at": _t(current.attempt_at),
            }
            if reason:
                payload["reason"] = reason
            if recording_ref is not None:
                payload["recording_ref"] = recording_ref
            seq = uow.audit.append("outcome", current.borrower_id, canonical_json(payload), now)
            uow.commit()
        return seq

    def open_reservation(self, reservation_id: int, channel: str) -> Reservation:
        """The reservation, checked to be open and for ``channel``: what a channel needs.

        Raises
        ------
        GateError
            If there is no such reservation, it is not ``reserved``, or it is for another
            channel.
        """
        with self._uow_factory() as uow:
            r = uow.contacts.get(reservation_id)
        if r is None:
            raise GateError(f"no reservation with id {reservation_id}")
        if r.status != "reserved":
            raise GateError(f"reservation {reservation_id} is {r.status}: it cannot be used")
        if r.channel != channel:
            raise GateError(
                f"reservation {reservation_id} is for channel {r.channel}, not {channel}"
            )
        return r

    def dispatch(self, reservation_id: int, channel: OutboundChannel, content: str) -> str:
        """Send ``content`` through ``channel`` under an open reservation; return the message id.

        The only sanctioned way to reach a channel adapter. The outcome is recorded
        separately (:meth:`record_outcome`) when the channel reports it.

        Raises
        ------
        GateError
            As :meth:`open_reservation`.
        """
        reservation = self.open_reservation(reservation_id, channel.name)
        return channel.send(reservation, content)


def is_unreachable(history: Sequence[PastContact], failed_run: int = 3) -> bool:
    """True when the borrower counts as unreachable for locate-only third-party contact.

    Unreachable: the last call outcome was ``wrong_number`` (number invalid), or the last
    ``failed_run`` call attempts to the borrower all failed (no answer, busy, voicemail,
    failed). Source: GB/T 45251-2025 provision on third-party contact (borrower unreachable).
    """
    calls = sorted(
        (h for h in history if h.channel == "call" and h.party == "borrower"),
        key=lambda h: h.at,
    )
    done = [h for h in calls if h.outcome != "reserved"]
    if not done:
        return False
    if done[-1].outcome == "wrong_number":
        return True
    tail = done[-failed_run:]
    return len(tail) == failed_run and all(
        h.outcome in ("no_answer", "busy", "voicemail", "failed") for h in tail
    )
