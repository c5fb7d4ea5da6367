"""Ports: what the domain and services need from the outside, as Protocols."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from arrears.domain.audit import AuditEntry

if TYPE_CHECKING:  # the engine imports nothing from here; keep ports import-light
    from arrears.domain.compliance.engine import Attempt, PastContact


class Clock(Protocol):
    """Source of the current instant (timezone-aware UTC)."""

    def now(self) -> datetime:
        """Current instant, timezone-aware UTC."""
        ...


# --- contact gate (issue 3): contact ledger, audit log, unit of work, outbound channels -----


@dataclass(frozen=True, slots=True)
class Reservation:
    """A contact the gate let through, recorded in the contact ledger.

    Only :class:`arrears.services.gate.ContactGate` creates reservations (from the ledger); an
    outbound channel takes one as proof that the contact was allowed (see
    :class:`OutboundChannel`).

    Attributes
    ----------
    id : int
        Contact-ledger id (the reservation id).
    borrower_id, account_id, channel, party, purpose, agency_id, number
        What was allowed, as in the attempt.
    attempt_at : datetime
        Start of the contact (UTC).
    status : str
        ``reserved``, ``completed`` or ``cancelled``.
    outcome : str or None
        Recorded outcome once completed.
    conversation : bool
        A telephone conversation about the debt took place.
    decision_audit_seq : int
        Audit entry of the decision that allowed it.
    keep_recording_until : datetime or None
        Until when its recording must be kept (a ``record_keeping`` rule applies), else None.
    recording_ref : str or None
        Reference of the recording, given with the outcome.
    """

    id: int
    borrower_id: str
    account_id: str | None
    channel: str
    party: str
    purpose: str
    agency_id: str
    number: str | None
    attempt_at: datetime
    status: str
    outcome: str | None
    conversation: bool
    decision_audit_seq: int
    keep_recording_until: datetime | None = None
    recording_ref: str | None = None


class ContactLedgerRepo(Protocol):
    """The contact ledger of one unit of work (reads see its own writes)."""

    def history(self, borrower_id: str, since: datetime, until: datetime) -> list[PastContact]:
        """Contacts of the borrower with ``since <= at < until``: reserved and completed
        ledger rows plus imported outbound contact history (cancelled rows excluded)."""
        ...

    def reserve(
        self,
        attempt: Attempt,
        reserved_at: datetime,
        decision_audit_seq: int,
        keep_recording_until: datetime | None = None,
    ) -> int:
        """Insert a ``reserved`` row for ``attempt``; return its id."""
        ...

    def get(self, reservation_id: int) -> Reservation | None:
        """The reservation with that id, or None."""
        ...

    def complete(
        self,
        reservation_id: int,
        status: str,
        outcome: str | None,
        conversation: bool,
        completed_at: datetime,
        recording_ref: str | None = None,
    ) -> None:
        """Set the final status (``completed`` or ``cancelled``), outcome and recording
        reference of a reservation."""
        ...

    def set_recording(self, reservation_id: int, recording_ref: str) -> None:
        """Give a completed contact without one its recording reference.

        Raises ``LookupError`` if the row is not completed or already has a reference."""
        ...


class AuditLog(Protocol):
    """The append-only, hash-chained audit log (see :mod:`arrears.domain.audit`)."""

    def append(self, kind: str, borrower_id: str | None, payload: str, at: datetime) -> int:
        """Append one entry (``payload`` canonical JSON) to the head of the borrower's chain
        (:func:`arrears.domain.audit.chain_of`); return its seq.

        Appends to one chain are serialised by its head; the seq is taken after the head is
        locked, so within a chain seq increases in chain order."""
        ...

    def entries(self) -> Iterator[AuditEntry]:
        """Every entry in ascending seq order."""
        ...

    def heads(self) -> dict[int, tuple[int, str]]:
        """The stored chain heads: chain -> (last seq, its hash); (0, genesis hash) for an
        empty chain."""
        ...


class GateUnitOfWork(Protocol):
    """One transaction of the gate; rolls back on exit unless :meth:`commit` was called.

    Use as a context manager. Services never commit on their own: the unit of work does, when
    the service calls :meth:`commit` at the end of the use case.
    """

    @property
    def contacts(self) -> ContactLedgerRepo:
        """The contact ledger in this transaction."""
        ...

    @property
    def audit(self) -> AuditLog:
        """The audit log in this transaction."""
        ...

    def __enter__(self) -> GateUnitOfWork: ...

    def __exit__(self, *exc: object) -> None: ...

    def lock_borrower(self, borrower_id: str) -> None:
        """Serialise this transaction with every other one on ``borrower_id`` until it ends."""
        ...

    def locked_history(
        self, borrower_id: str, since: datetime, until: datetime
    ) -> list[PastContact]:
        """:meth:`lock_borrower`, then ``contacts.history(borrower_id, since, until)``.

        An adapter may send both in one round trip, provided the history read still happens
        after the lock is granted (it must see every reservation committed before).
        """
        ...

    def commit_decision(
        self,
        attempt: Attempt,
        payload: str,
        at: datetime,
        *,
        reserve: bool,
        keep_recording_until: datetime | None = None,
    ) -> tuple[int, int | None]:
        """Append the decision entry and, when ``reserve``, the reservation pointing at it
        (with ``keep_recording_until``); then commit.

        Equivalent to ``audit.append("decision", ...)``, ``contacts.reserve(...)`` and
        :meth:`commit`; an adapter may do all of it in one round trip, to keep the audit
        chain's head locked as briefly as possible. Returns (audit seq, reservation id or None).
        """
        ...

    def commit(self) -> None:
        """Make the unit of work's writes durable."""
        ...

    def rollback(self) -> None:
        """Discard the unit of work's writes."""
        ...


class OutboundChannel(Protocol):
    """A channel adapter (SMS, e-mail, dialler, letters...).

    Every send takes the :class:`Reservation` the gate returned for that very contact; a
    channel adapter must refuse a reservation that is not ``reserved`` or is for another
    channel (:func:`arrears.services.gate.ContactGate.open_reservation` does both checks).
    There is deliberately no way to send without one.
    """

    name: str

    def send(self, reservation: Reservation, content: str) -> str:
        """Send ``content`` under ``reservation``; return the provider's message id."""
        ...
