"""In-memory fakes of the ports, for service tests that run in milliseconds."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime

from arrears.domain.audit import GENESIS_HASH, AuditEntry, chain_of, entry_hash
from arrears.domain.compliance.engine import Attempt, PastContact
from arrears.domain.ports import Reservation


@dataclass
class GateStore:
    """What a database would hold: ledger rows and audit entries (committed state)."""

    reservations: dict[int, Reservation] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    imported: list[tuple[str, PastContact]] = field(default_factory=list)
    commits: int = 0
    locks: list[str] = field(default_factory=list)


class FakeContacts:
    def __init__(self, store: GateStore) -> None:
        self.store = store

    def history(self, borrower_id: str, since: datetime, until: datetime) -> list[PastContact]:
        rows = [
            PastContact(
                r.attempt_at,
                r.channel,
                r.account_id,
                "reserved" if r.status == "reserved" else (r.outcome or ""),
                r.party,
                r.agency_id,
                r.number,
                r.conversation,
            )
            for r in self.store.reservations.values()
            if r.borrower_id == borrower_id
            and r.status != "cancelled"
            and since <= r.attempt_at < until
        ]
        rows += [p for b, p in self.store.imported if b == borrower_id and since <= p.at < until]
        return sorted(rows, key=lambda p: p.at)

    def reserve(
        self,
        attempt: Attempt,
        reserved_at: datetime,
        decision_audit_seq: int,
        keep_recording_until: datetime | None = None,
    ) -> int:
        rid = len(self.store.reservations) + 1
        self.store.reservations[rid] = Reservation(
            rid,
            attempt.borrower_id,
            attempt.account_id,
            attempt.channel,
            attempt.party,
            attempt.purpose,
            attempt.agency_id,
            attempt.number,
            attempt.at,
            "reserved",
            None,
            False,
            decision_audit_seq,
            keep_recording_until,
        )
        return rid

    def get(self, reservation_id: int) -> Reservation | None:
        return self.store.reservations.get(reservation_id)

    def complete(
        self,
        reservation_id: int,
        status: str,
        outcome: str | None,
        conversation: bool,
        completed_at: datetime,
        recording_ref: str | None = None,
    ) -> None:
        r = self.store.reservations[reservation_id]
        self.store.reservations[reservation_id] = replace(
            r,
            status=status,
            outcome=outcome,
            conversation=conversation,
            recording_ref=recording_ref,
        )

    def set_recording(self, reservation_id: int, recording_ref: str) -> None:
        r = self.store.reservations[reservation_id]
        if r.status != "completed" or r.recording_ref:
            raise LookupError(f"reservation {reservation_id}: no")
        self.store.reservations[reservation_id] = replace(r, recording_ref=recording_ref)


class FakeAudit:
    def __init__(self, store: GateStore) -> None:
        self.store = store

    def append(self, kind: str, borrower_id: str | None, payload: str, at: datetime) -> int:
        chain = chain_of(borrower_id)
        seq = self.store.audit[-1].seq + 1 if self.store.audit else 1
        prev = self.heads().get(chain, (0, GENESIS_HASH))[1]
        digest = entry_hash(prev, payload, seq, at)
        self.store.audit.append(
            AuditEntry(seq, at, kind, borrower_id, payload, prev, digest, chain)
        )
        return seq

    def entries(self) -> Iterator[AuditEntry]:
        return iter(list(self.store.audit))

    def heads(self) -> dict[int, tuple[int, str]]:
        return {e.chain: (e.seq, e.hash) for e in self.store.audit}


class FakeGateUnitOfWork:
    """Works on a copy of the store; the copy replaces the store only on commit."""

    def __init__(self, store: GateStore, fail_on_append: bool = False) -> None:
        self.committed_store = store
        self.fail_on_append = fail_on_append

    def __enter__(self) -> FakeGateUnitOfWork:
        self.work = copy.deepcopy(self.committed_store)
        self.contacts = FakeContacts(self.work)
        self.audit = FakeAudit(self.work)
        if self.fail_on_append:

            def boom(*_a: object) -> int:
                raise RuntimeError("disk full")

            self.audit.append = boom  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        self.work = GateStore()

    def lock_borrower(self, borrower_id: str) -> None:
        self.work.locks.append(borrower_id)

    def locked_history(
        self, borrower_id: str, since: datetime, until: datetime
    ) -> list[PastContact]:
        self.lock_borrower(borrower_id)
        return self.contacts.history(borrower_id, since, until)

    def commit_decision(
        self,
        attempt: Attempt,
        payload: str,
        at: datetime,
        *,
        reserve: bool,
        keep_recording_until: datetime | None = None,
    ) -> tuple[int, int | None]:
        seq = self.audit.append("decision", attempt.borrower_id, payload, at)
        rid = self.contacts.reserve(attempt, at, seq, keep_recording_until) if reserve else None
        self.commit()
        return seq, rid

    def commit(self) -> None:
        s = self.committed_store
        s.reservations, s.audit, s.locks = (
            self.work.reservations,
            self.work.audit,
            self.work.locks,
        )
        s.commits += 1

    def rollback(self) -> None:
        self.work = copy.deepcopy(self.committed_store)
