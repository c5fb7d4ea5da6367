"""SQLAlchemy implementations of the gate's ports: contact ledger, audit log, unit of work.

:class:`SqlGateUnitOfWork` is one database transaction that rolls back unless committed.

* PostgreSQL: READ COMMITTED; :meth:`SqlGateUnitOfWork.lock_borrower` locks the borrower's
  row (``SELECT ... FOR NO KEY UPDATE``, released at commit or rollback), so two transactions
  on one borrower run one after the other and the second reads the first's reservation. (A
  row lock rather than an advisory lock: advisory locks are database-wide, so two ledgers in
  two schemas of one database would queue on each other's borrower ids.) An append locks
  the head row of the borrower's audit chain (``SELECT ... FOR UPDATE``, one of
  :data:`~arrears.domain.audit.AUDIT_CHAINS`), then, in the next statement, takes the entry's
  seq from the sequence ``audit_log_seq`` and advances the head; so appends to one chain are
  serialised and their seqs increase along it, while appends to different chains proceed
  side by side. The hash is computed by PostgreSQL's ``sha256()`` in that statement, with
  exactly the formula of :func:`arrears.domain.audit.entry_hash` (``audit verify`` recomputes
  it in Python). Locks are always taken borrower first, chain head second, so two gate
  transactions cannot deadlock.
* SQLite: the transaction starts with ``BEGIN IMMEDIATE`` (one writer at a time for the whole
  database, other writers wait up to the busy timeout), so locking the borrower is implicit.

Nothing here updates or deletes an audit entry; on PostgreSQL a trigger refuses it anyway.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
from sqlalchemy.engine import Connection, Engine, RowMapping

from arrears.adapters.db.tables import (
    UtcDateTime,
    accounts,
    audit_head,
    audit_log,
    borrowers,
    contact_history,
    contact_ledger,
)
from arrears.adapters.portfolio.schema import FLAG_COLUMNS, FRAME_SCHEMAS, parse_consent
from arrears.domain.audit import AuditEntry, AuditHeadMissing, at_text, chain_of, entry_hash
from arrears.domain.compliance.engine import RESERVED, Attempt, BorrowerState, PastContact
from arrears.domain.ports import Reservation

#: Imported outcomes that mean a conversation with the borrower about the debt took place.
CONVERSATION_OUTCOMES = ("rpc", "ptp")

# A row lock on the borrower (schema-local, unlike advisory locks, which are database-wide).
# NO KEY UPDATE conflicts with itself but not with the KEY SHARE locks that foreign-key checks
# of contact_ledger inserts take.
_LOCK = sa.text("SELECT 1 FROM borrowers WHERE borrower_id = :b FOR NO KEY UPDATE")

# Lock the head row of one audit chain until the transaction ends. It must be a statement of
# its own, before the one that advances the head: that statement then starts (READ COMMITTED)
# after the lock is granted, so it reads the latest head and takes a seq larger than every
# seq already in the chain. (Taking nextval() in the advancing statement itself would draw
# the number before waiting for the lock.)
_LOCK_CHAIN = sa.text("SELECT 1 FROM audit_head WHERE chain = :chain FOR UPDATE")

# Advance a (locked) chain head by one entry (the same hash as domain.audit.entry_hash); both
# PostgreSQL statements below start from it.
_PG_ADVANCE_HEAD = """
    WITH n AS (SELECT nextval('audit_log_seq') AS s),
    h AS (
        UPDATE audit_head
           SET seq = n.s,
               prev_hash = audit_head.hash,
               hash = encode(sha256(convert_to(
                   audit_head.hash || '|' || CAST(:payload AS text) || '|' || n.s::text
                   || '|' || CAST(:at_text AS text), 'UTF8')), 'hex')
          FROM n
         WHERE audit_head.chain = :chain
     RETURNING audit_head.seq, audit_head.prev_hash, audit_head.hash
    )"""

_PG_APPEND = sa.text(
    _PG_ADVANCE_HEAD
    + """
    INSERT INTO audit_log (seq, at, kind, borrower_id, payload, prev_hash, hash, chain)
    SELECT seq, :at, :kind, :borrower_id, :payload, prev_hash, hash, :chain FROM h
    RETURNING seq
    """
).bindparams(sa.bindparam("at", type_=UtcDateTime()))


_SINCE = sa.bindparam("since", type_=UtcDateTime())
_UNTIL = sa.bindparam("until", type_=UtcDateTime())


# PostgreSQL: the decision entry and its reservation in ONE statement, so the chain head is
# locked for one round trip plus the commit (``:reserve`` false inserts no ledger row).
_PG_DECIDE = sa.text(
    _PG_ADVANCE_HEAD
    + """, a AS (
        INSERT INTO audit_log (seq, at, kind, borrower_id, payload, prev_hash, hash, chain)
        SELECT seq, :at, 'decision', :borrower_id, :payload, prev_hash, hash, :chain FROM h
        RETURNING seq
    ), r AS (
        INSERT INTO contact_ledger (borrower_id, account_id, channel, party, purpose,
            agency_id, number, attempt_at, status, outcome, conversation, reserved_at,
            completed_at, decision_audit_seq, keep_recording_until)
        SELECT :borrower_id, :account_id, :channel, :party, :purpose, :agency_id, :number,
            :attempt_at, 'reserved', NULL, false, :at, NULL, a.seq, :keep_recording_until
          FROM a WHERE CAST(:reserve AS boolean)
        RETURNING id
    )
    SELECT a.seq, (SELECT id FROM r) AS reservation_id FROM a
    """
).bindparams(
    sa.bindparam("at", type_=UtcDateTime()),
    sa.bindparam("attempt_at", type_=UtcDateTime()),
    sa.bindparam("keep_recording_until", type_=UtcDateTime()),
)


def _ledger_select() -> sa.Select[Any]:
    cl = contact_ledger.c
    return sa.select(
        cl.attempt_at.label("at"),
        cl.channel,
        cl.account_id,
        sa.case((cl.status == "reserved", "reserved"), else_=cl.outcome).label("outcome"),
        cl.party,
        cl.agency_id,
        cl.number,
        cl.conversation,
    ).where(
        cl.borrower_id == sa.bindparam("b"),
        cl.status != "cancelled",
        cl.attempt_at >= _SINCE,
        cl.attempt_at < _UNTIL,
    )


def _imported_select() -> sa.Select[Any]:
    ch = contact_history.c
    return sa.select(
        ch.started_at.label("at"),
        ch.channel,
        ch.account_id,
        ch.outcome,
        sa.literal("borrower").label("party"),
        sa.func.coalesce(ch.agent_id, "imported").label("agency_id"),
        sa.null().label("number"),
        sa.or_(*(ch.outcome == o for o in CONVERSATION_OUTCOMES)).label("conversation"),
    ).where(
        ch.borrower_id == sa.bindparam("b"),
        ch.direction == "outbound",
        ch.started_at >= _SINCE,
        ch.started_at < _UNTIL,
    )


# Statements are built once: SQLAlchemy then reuses their compiled form (building a statement
# per call cost more CPU than the database round trips).
_IMPORTED = _imported_select()
_HISTORY = sa.union_all(_ledger_select(), _IMPORTED)
_RESERVE = contact_ledger.insert().returning(contact_ledger.c.id)
_GET = sa.select(contact_ledger).where(contact_ledger.c.id == sa.bindparam("rid"))
_COMPLETE = (
    contact_ledger.update()
    .where(contact_ledger.c.id == sa.bindparam("rid"), contact_ledger.c.status == "reserved")
    .values(
        status=sa.bindparam("new_status"),
        outcome=sa.bindparam("new_outcome"),
        conversation=sa.bindparam("new_conversation", type_=sa.Boolean()),
        completed_at=sa.bindparam("done_at", type_=UtcDateTime()),
        recording_ref=sa.bindparam("new_recording_ref"),
    )
)
_HEAD_OF = sa.select(audit_head.c.seq, audit_head.c.hash).where(
    audit_head.c.chain == sa.bindparam("chain")
)
_HEAD_SET = (
    audit_head.update()
    .where(audit_head.c.chain == sa.bindparam("c"))
    .values(seq=sa.bindparam("s"), hash=sa.bindparam("h"), prev_hash=sa.bindparam("p"))
)
_HEADS = sa.select(audit_head.c.chain, audit_head.c.seq, audit_head.c.hash)
_NEXT_SEQ = sa.select(sa.func.coalesce(sa.func.max(audit_log.c.seq), 0) + 1)
_AUDIT_INSERT = audit_log.insert()


def _no_head(chain: int) -> AuditHeadMissing:
    return AuditHeadMissing(
        f"audit chain {chain} has no head row (migration 0006 creates one per chain; was it "
        "removed?): nothing was written"
    )


# --- PostgreSQL fast path: the gate's two round trips, pipelined on the psycopg connection -----
#
# ``ContactGate.attempt`` needs: BEGIN, lock the borrower, read its history (one round trip,
# psycopg pipeline mode: the statements still run one after the other, each READ COMMITTED
# statement with its own snapshot, so the history read sees whatever the lock waited for), then
# the decision statement and COMMIT (a second round trip). The chain head is therefore locked
# only while the server runs the decision statement and the commit, never across a client
# round trip. The statements are the SQLAlchemy ones above, compiled once for psycopg.
_PG_DIALECT = pg_psycopg.dialect()


def _compiled(stmt: Any) -> tuple[str, dict[str, Any]]:
    c = stmt.compile(dialect=_PG_DIALECT)
    return str(c), dict(c.params)


_PG_LOCK_SQL, _ = _compiled(_LOCK)
_PG_HISTORY_SQL, _PG_HISTORY_PARAMS = _compiled(_HISTORY)
_PG_DECIDE_SQL, _ = _compiled(_PG_DECIDE)
_PG_LOCK_CHAIN_SQL, _ = _compiled(_LOCK_CHAIN)


def _past(row: Mapping[Any, Any]) -> PastContact:
    """A history row (SQLAlchemy mapping or a plain dict from the psycopg fast path)."""
    at = row["at"]
    if isinstance(at, str):  # SQLite UNION loses the column type of the first select
        at = UtcDateTime().process_result_value(datetime.fromisoformat(at), sa.Dialect())
    return PastContact(
        at=at.astimezone(UTC),
        channel=row["channel"],
        account_id=row["account_id"],
        outcome=row["outcome"],
        party=row["party"],
        agency_id=row["agency_id"],
        number=row["number"],
        conversation=bool(row["conversation"]),
    )


def _reservation(row: RowMapping) -> Reservation:
    return Reservation(
        id=row["id"],
        borrower_id=row["borrower_id"],
        account_id=row["account_id"],
        channel=row["channel"],
        party=row["party"],
        purpose=row["purpose"],
        agency_id=row["agency_id"],
        number=row["number"],
        attempt_at=row["attempt_at"],
        status=row["status"],
        outcome=row["outcome"],
        conversation=bool(row["conversation"]),
        decision_audit_seq=row["decision_audit_seq"],
        keep_recording_until=row["keep_recording_until"],
        recording_ref=row["recording_ref"],
    )


class SqlContactLedger:
    """:class:`~arrears.domain.ports.ContactLedgerRepo` on one connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def history(self, borrower_id: str, since: datetime, until: datetime) -> list[PastContact]:
        """Reserved and completed ledger rows plus imported outbound history in
        ``[since, until)``; imported rows count as made by agency ``agent_id`` (or
        ``imported``), with a conversation when the outcome was ``rpc`` or ``ptp``."""
        rows = self._conn.execute(
            _HISTORY, {"b": borrower_id, "since": since, "until": until}
        ).mappings()
        return sorted((_past(r) for r in rows), key=lambda p: p.at)

    def reserve(
        self,
        attempt: Attempt,
        reserved_at: datetime,
        decision_audit_seq: int,
        keep_recording_until: datetime | None = None,
    ) -> int:
        """Insert a ``reserved`` row; return its id."""
        rid = self._conn.execute(
            _RESERVE,
            dict(
                borrower_id=attempt.borrower_id,
                account_id=attempt.account_id,
                channel=attempt.channel,
                party=attempt.party,
                purpose=attempt.purpose,
                agency_id=attempt.agency_id,
                number=attempt.number,
                attempt_at=attempt.at,
                status="reserved",
                outcome=None,
                conversation=False,
                reserved_at=reserved_at,
                completed_at=None,
                decision_audit_seq=decision_audit_seq,
                keep_recording_until=keep_recording_until,
            ),
        ).scalar_one()
        return int(rid)

    def get(self, reservation_id: int) -> Reservation | None:
        """The reservation with that id, or None."""
        row = self._conn.execute(_GET, {"rid": reservation_id}).mappings().first()
        return _reservation(row) if row else None

    def complete(
        self,
        reservation_id: int,
        status: str,
        outcome: str | None,
        conversation: bool,
        completed_at: datetime,
        recording_ref: str | None = None,
    ) -> None:
        """Close a ``reserved`` row (with the recording's reference, if any).

        Raises
        ------
        LookupError
            If the row is not (or no longer) reserved.
        """
        res = self._conn.execute(
            _COMPLETE,
            {
                "rid": reservation_id,
                "new_status": status,
                "new_outcome": outcome,
                "new_conversation": conversation,
                "done_at": completed_at,
                "new_recording_ref": recording_ref,
            },
        )
        if res.rowcount != 1:
            raise LookupError(f"reservation {reservation_id} is not reserved")

    def set_recording(self, reservation_id: int, recording_ref: str) -> None:
        """Set the recording reference of a completed row that has none.

        Raises
        ------
        LookupError
            If the row is not completed or already has a reference.
        """
        res = self._conn.execute(_SET_RECORDING, {"rid": reservation_id, "ref": recording_ref})
        if res.rowcount != 1:
            raise LookupError(
                f"reservation {reservation_id} is not a completed contact without a recording"
            )


_SET_RECORDING = (
    contact_ledger.update()
    .where(
        contact_ledger.c.id == sa.bindparam("rid"),
        contact_ledger.c.status == "completed",
        contact_ledger.c.recording_ref.is_(None),
    )
    .values(recording_ref=sa.bindparam("ref"))
)


class SqlAuditLog:
    """:class:`~arrears.domain.ports.AuditLog` on one connection (append and read only)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._pg = conn.dialect.name == "postgresql"

    def append(self, kind: str, borrower_id: str | None, payload: str, at: datetime) -> int:
        """Append one entry to the head of the borrower's chain (:func:`chain_of`), in the
        caller's transaction; return its seq.

        Raises
        ------
        RuntimeError
            If the chain has no head row (nothing is written).
        """
        chain = chain_of(borrower_id)
        if self._pg:
            if self._conn.execute(_LOCK_CHAIN, {"chain": chain}).first() is None:
                raise _no_head(chain)
            params = {
                "payload": payload,
                "at_text": at_text(at),
                "at": at,
                "kind": kind,
                "borrower_id": borrower_id,
                "chain": chain,
            }
            return int(self._conn.execute(_PG_APPEND, params).scalar_one())
        # SQLite: the transaction is the only writer (BEGIN IMMEDIATE), so max + 1 is safe.
        head = self._conn.execute(_HEAD_OF, {"chain": chain}).first()
        if head is None:
            raise _no_head(chain)
        prev = str(head.hash)
        seq = int(self._conn.execute(_NEXT_SEQ).scalar_one())
        digest = entry_hash(prev, payload, seq, at)
        self._conn.execute(
            _AUDIT_INSERT,
            dict(
                seq=seq,
                at=at,
                kind=kind,
                borrower_id=borrower_id,
                payload=payload,
                prev_hash=prev,
                hash=digest,
                chain=chain,
            ),
        )
        self._conn.execute(_HEAD_SET, {"c": chain, "s": seq, "h": digest, "p": prev})
        return seq

    def entries(self) -> Iterator[AuditEntry]:
        """Every entry in ascending seq order, streamed."""
        result = self._conn.execution_options(yield_per=5000).execute(
            sa.select(audit_log).order_by(audit_log.c.seq)
        )
        for r in result.mappings():
            yield AuditEntry(
                r["seq"], r["at"], r["kind"], r["borrower_id"], r["payload"], r["prev_hash"],
                r["hash"], r["chain"],
            )  # fmt: skip

    def heads(self) -> dict[int, tuple[int, str]]:
        """Every chain's (last seq, hash) as stored in ``audit_head``."""
        return {int(r.chain): (int(r.seq), str(r.hash)) for r in self._conn.execute(_HEADS)}


class SqlGateUnitOfWork:
    """:class:`~arrears.domain.ports.GateUnitOfWork` on an engine: one transaction.

    Parameters
    ----------
    engine : Engine
        Ledger engine (SQLite or PostgreSQL), migrated to head.
    """

    contacts: SqlContactLedger
    audit: SqlAuditLog

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self._committed = False

    def __enter__(self) -> SqlGateUnitOfWork:
        conn = self._engine.connect()
        if conn.dialect.name == "sqlite":
            conn.execution_options(sqlite_begin="IMMEDIATE")
        conn.begin()
        self._conn = conn
        self._committed = False
        self.contacts = SqlContactLedger(conn)
        self.audit = SqlAuditLog(conn)
        return self

    def __exit__(self, *exc: object) -> None:
        conn = self._conn
        self._conn = None
        if conn is None:
            return
        try:
            if not self._committed:
                conn.rollback()
        finally:
            conn.close()

    @property
    def connection(self) -> Connection:
        """The open connection (inside ``with`` only)."""
        if self._conn is None:
            raise RuntimeError("the unit of work is not open")
        return self._conn

    def lock_borrower(self, borrower_id: str) -> None:
        """PostgreSQL: ``SELECT ... FOR NO KEY UPDATE`` on the borrower row, held until the
        transaction ends (a borrower missing from ``borrowers`` cannot be reserved anyway: the
        ledger's foreign key refuses it); SQLite: already exclusive (``BEGIN IMMEDIATE``)."""
        conn = self.connection
        if conn.dialect.name == "postgresql":
            conn.execute(_LOCK, {"b": borrower_id})

    def locked_history(
        self, borrower_id: str, since: datetime, until: datetime
    ) -> list[PastContact]:
        """Lock the borrower (:meth:`lock_borrower`) and read its history in ``[since, until)``
        (:meth:`SqlContactLedger.history`); on PostgreSQL both in one round trip."""
        conn = self.connection
        if conn.dialect.name != "postgresql":
            self.lock_borrower(borrower_id)
            return self.contacts.history(borrower_id, since, until)
        pg = conn.connection.driver_connection
        assert pg is not None
        params = {**_PG_HISTORY_PARAMS, "b": borrower_id, "since": since, "until": until}
        lock_cur, hist_cur = pg.cursor(), pg.cursor()
        with pg.pipeline():
            lock_cur.execute(_PG_LOCK_SQL, {"b": borrower_id})
            hist_cur.execute(_PG_HISTORY_SQL, params)
        rows = hist_cur.fetchall()
        names = [d.name for d in hist_cur.description or ()]
        return sorted((_past(dict(zip(names, r, strict=True))) for r in rows), key=lambda p: p.at)

    def commit_decision(
        self,
        attempt: Attempt,
        payload: str,
        at: datetime,
        *,
        reserve: bool,
        keep_recording_until: datetime | None = None,
    ) -> tuple[int, int | None]:
        """Append the decision and (when ``reserve``) its reservation, then commit; on
        PostgreSQL the chain-head lock, one statement and the COMMIT in one round trip, so the
        borrower's audit chain head is locked only for the server's own work. Returns (audit
        seq, reservation id or None).

        Raises
        ------
        RuntimeError
            If the borrower's audit chain has no head row (removed behind arrears' back):
            nothing was written.
        """
        conn = self.connection
        if conn.dialect.name != "postgresql":
            seq = self.audit.append("decision", attempt.borrower_id, payload, at)
            rid = self.contacts.reserve(attempt, at, seq, keep_recording_until) if reserve else None
            self.commit()
            return seq, rid
        pg = conn.connection.driver_connection
        assert pg is not None
        params = self._decide_params(attempt, payload, at, reserve)
        params["keep_recording_until"] = keep_recording_until
        lock_cur, cur = pg.cursor(), pg.cursor()
        with pg.pipeline():
            lock_cur.execute(_PG_LOCK_CHAIN_SQL, {"chain": params["chain"]})
            cur.execute(_PG_DECIDE_SQL, params)
            pg.commit()
        row = cur.fetchone()
        conn.commit()  # the driver has committed; this closes SQLAlchemy's transaction
        self._committed = True
        if row is None:
            raise _no_head(params["chain"])
        seq, rid = row
        return int(seq), (int(rid) if rid is not None else None)

    @staticmethod
    def _decide_params(
        attempt: Attempt, payload: str, at: datetime, reserve: bool
    ) -> dict[str, Any]:
        return {
            "payload": payload,
            "at_text": at_text(at),
            "at": at,
            "borrower_id": attempt.borrower_id,
            "account_id": attempt.account_id,
            "channel": attempt.channel,
            "party": attempt.party,
            "purpose": attempt.purpose,
            "agency_id": attempt.agency_id,
            "number": attempt.number,
            "attempt_at": attempt.at,
            "reserve": reserve,
            "chain": chain_of(attempt.borrower_id),
        }

    def commit(self) -> None:
        """Commit the transaction."""
        self.connection.commit()
        self._committed = True

    def rollback(self) -> None:
        """Roll the transaction back."""
        self.connection.rollback()


# --- reads for the CLI (explain, replay) ----------------------------------------------------


def load_borrower_state(
    conn: Connection,
    borrower_id: str,
    *,
    unreachable: bool = False,
    lender_jurisdictions: tuple[str, ...] = (),
) -> BorrowerState | None:
    """Build the borrower's :class:`BorrowerState` from the ``borrowers`` row, or None.

    Flags are the true flag columns; opt-outs the ``|``-separated ``opt_out_channels``; consent
    hours the ``consent_hours`` column (``parse_consent``: for every channel and per channel).
    """
    row = (
        conn.execute(sa.select(borrowers).where(borrowers.c.borrower_id == borrower_id))
        .mappings()
        .first()
    )
    if row is None:
        return None
    opted = row["opt_out_channels"] or ""
    every, per_channel = parse_consent(row["consent_hours"])
    return BorrowerState(
        borrower_id=borrower_id,
        jurisdiction=row["jurisdiction"],
        timezone=row["timezone"] or None,
        flags=frozenset(f for f in FLAG_COLUMNS if row[f]),
        opted_out=frozenset(c for c in opted.split("|") if c),
        consent_hours=every,
        consent_by_channel=per_channel,
        unreachable=unreachable,
        lender_jurisdictions=lender_jurisdictions,
    )


def some_borrower_ids(conn: Connection, n: int) -> list[str]:
    """Up to ``n`` borrower ids of the ledger, smallest first (for error hints)."""
    ids = conn.execute(
        sa.select(borrowers.c.borrower_id).order_by(borrowers.c.borrower_id).limit(n)
    ).scalars()
    return [str(b) for b in ids]


def recording_rows(conn: Connection) -> list[dict[str, Any]]:
    """Contact-ledger rows with a recording duty (``keep_recording_until`` set), by id: ``id,
    borrower_id, channel, attempt_at, status, outcome, keep_recording_until, recording_ref``."""
    cl = contact_ledger.c
    rows = conn.execute(
        sa.select(
            cl.id, cl.borrower_id, cl.channel, cl.attempt_at, cl.status, cl.outcome,
            cl.keep_recording_until, cl.recording_ref,
        )
        .where(cl.keep_recording_until.is_not(None))
        .order_by(cl.id)
    ).mappings()  # fmt: skip
    return [dict(r) for r in rows]


def unstamped_decisions(conn: Connection, channels: Sequence[str]) -> list[dict[str, Any]]:
    """Contact-ledger rows on ``channels`` with no ``keep_recording_until`` (not cancelled),
    each with the payload of the decision that reserved it: ``id, status, outcome,
    recording_ref, payload``."""
    if not channels:
        return []
    cl, al = contact_ledger.c, audit_log.c
    rows = conn.execute(
        sa.select(cl.id, cl.status, cl.outcome, cl.recording_ref, al.payload)
        .join(audit_log, al.seq == cl.decision_audit_seq)
        .where(
            cl.keep_recording_until.is_(None),
            cl.status != "cancelled",
            cl.channel.in_(list(channels)),
        )
        .order_by(cl.id)
    ).mappings()
    return [dict(r) for r in rows]


def account_owner(conn: Connection, account_id: str) -> str | None:
    """The borrower id of ``account_id`` in the ledger's ``accounts``, or None."""
    return conn.execute(
        sa.select(accounts.c.borrower_id).where(accounts.c.account_id == account_id)
    ).scalar()


def ledger_rows(conn: Connection, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Contact-ledger rows with ``since <= attempt_at < until`` (for replay), as dicts."""
    rows = conn.execute(
        sa.select(contact_ledger)
        .where(contact_ledger.c.attempt_at >= since, contact_ledger.c.attempt_at < until)
        .order_by(contact_ledger.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def history_as_of(
    conn: Connection,
    borrower_id: str,
    since: datetime,
    until: datetime,
    *,
    before_seq: int,
    as_of: datetime,
) -> list[PastContact]:
    """The borrower's history in ``[since, until)`` as it stood when audit entry
    ``before_seq`` was written at ``as_of`` (for replay).

    Ledger rows count when their decision came earlier in the chain; an outcome recorded after
    ``as_of`` is shown as ``reserved`` and a reservation cancelled after it still counts.
    Imported contact history is included as it is now (its import time is not kept per row).
    """
    cl = contact_ledger.c
    rows = conn.execute(
        sa.select(contact_ledger).where(
            cl.borrower_id == borrower_id,
            cl.decision_audit_seq < before_seq,
            cl.attempt_at >= since,
            cl.attempt_at < until,
        )
    ).mappings()
    out: list[PastContact] = []
    for r in rows:
        closed = r["completed_at"] is not None and r["completed_at"] <= as_of
        if closed and r["status"] == "cancelled":
            continue
        out.append(
            PastContact(
                at=r["attempt_at"],
                channel=r["channel"],
                account_id=r["account_id"],
                outcome=r["outcome"] if closed else "reserved",
                party=r["party"],
                agency_id=r["agency_id"],
                number=r["number"],
                conversation=bool(r["conversation"]) if closed else False,
            )
        )
    imported = conn.execute(
        _IMPORTED, {"b": borrower_id, "since": since, "until": until}
    ).mappings()
    out.extend(_past(r) for r in imported)
    return sorted(out, key=lambda p: p.at)


def gate_contacts_frame(conn: Connection, since: datetime, until: datetime) -> pl.DataFrame:
    """The gate's contact-ledger rows with ``since <= attempt_at < until`` (not cancelled),
    shaped like the portfolio's ``contact_history`` (``FRAME_SCHEMAS["contact_history"]``),
    so the daily planner counts them as the gate does.

    ``contact_id`` is ``gate-<id>``; ``direction`` ``outbound``; ``started_at`` the attempt
    instant; ``outcome`` ``reserved`` while the contact is reserved (it then counts for every
    cap basis, as in the gate), else the recorded outcome, or ``rpc`` when the outcome recorded
    was not a conversation outcome but a conversation took place; ``agent_id`` the agency.
    """
    cl = contact_ledger.c
    rows = conn.execute(
        sa.select(
            cl.id, cl.borrower_id, cl.account_id, cl.channel, cl.attempt_at, cl.status,
            cl.outcome, cl.conversation, cl.agency_id,
        ).where(cl.status != "cancelled", cl.attempt_at >= since, cl.attempt_at < until)
    ).all()  # fmt: skip
    raw = pl.DataFrame(
        rows,
        schema={
            "id": pl.Int64, "borrower_id": pl.String, "account_id": pl.String,
            "channel": pl.String, "started_at": FRAME_SCHEMAS["contact_history"]["started_at"],
            "status": pl.String, "outcome": pl.String, "conversation": pl.Boolean,
            "agent_id": pl.String,
        },
        orient="row",
    )  # fmt: skip
    outcome = (
        pl.when(pl.col("status") == "reserved")
        .then(pl.lit(RESERVED))
        .when(pl.col("conversation") & ~pl.col("outcome").is_in(CONVERSATION_OUTCOMES))
        .then(pl.lit("rpc"))
        .otherwise(pl.col("outcome"))
    )
    return raw.select(
        pl.format("gate-{}", pl.col("id")).alias("contact_id"),
        "borrower_id",
        "account_id",
        "channel",
        pl.lit("outbound").alias("direction"),
        "started_at",
        outcome.alias("outcome"),
        "agent_id",
    ).cast(pl.Schema(FRAME_SCHEMAS["contact_history"]))
