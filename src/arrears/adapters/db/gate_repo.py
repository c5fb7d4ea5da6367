"""SQLAlchemy implementations of the gate's ports: contact ledger, audit log, unit of work.

:class:`SqlGateUnitOfWork` is one database transaction that rolls back unless committed.

* PostgreSQL: READ COMMITTED; :meth:`SqlGateUnitOfWork.lock_borrower` locks the borrower's
  row (``SELECT ... FOR NO KEY UPDATE``, released at commit or rollback), so two transactions
  on one borrower run one after the other and the second reads the first's reservation. (A
  row lock rather than an advisory lock: advisory locks are database-wide, so two ledgers in
  two schemas of one database would queue on each other's borrower ids.) The audit chain
  head is one row that every append updates (``UPDATE ... RETURNING``, which waits for and
  re-reads the latest committed head), so appends are serialised and numbered without gaps;
  the hash is computed by PostgreSQL's ``sha256()`` in the same statement, with exactly the
  formula of
  :func:`arrears.domain.audit.entry_hash` (``audit verify`` recomputes it in Python).
* SQLite: the transaction starts with ``BEGIN IMMEDIATE`` (one writer at a time for the whole
  database, other writers wait up to the busy timeout), so locking the borrower is implicit.

Nothing here updates or deletes an audit entry; on PostgreSQL a trigger refuses it anyway.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
from sqlalchemy.engine import Connection, Engine, RowMapping

from arrears.adapters.db.tables import (
    UtcDateTime,
    audit_head,
    audit_log,
    borrowers,
    contact_history,
    contact_ledger,
)
from arrears.adapters.portfolio.schema import FLAG_COLUMNS
from arrears.domain.audit import GENESIS_HASH, AuditEntry, at_text, entry_hash
from arrears.domain.compliance.engine import Attempt, BorrowerState, PastContact
from arrears.domain.ports import Reservation

#: Imported outcomes that mean a conversation with the borrower about the debt took place.
CONVERSATION_OUTCOMES = ("rpc", "ptp")

# A row lock on the borrower (schema-local, unlike advisory locks, which are database-wide).
# NO KEY UPDATE conflicts with itself but not with the KEY SHARE locks that foreign-key checks
# of contact_ledger inserts take.
_LOCK = sa.text("SELECT 1 FROM borrowers WHERE borrower_id = :b FOR NO KEY UPDATE")

# Advance the chain head by one entry (the same hash as domain.audit.entry_hash); both
# PostgreSQL statements below start from it.
_PG_ADVANCE_HEAD = """
    WITH h AS (
        UPDATE audit_head
           SET seq = seq + 1,
               prev_hash = hash,
               hash = encode(sha256(convert_to(
                   hash || '|' || CAST(:payload AS text) || '|' || (seq + 1)::text
                   || '|' || CAST(:at_text AS text), 'UTF8')), 'hex')
         WHERE id = 1
     RETURNING seq, prev_hash, hash
    )"""

_PG_APPEND = sa.text(
    _PG_ADVANCE_HEAD
    + """
    INSERT INTO audit_log (seq, at, kind, borrower_id, payload, prev_hash, hash)
    SELECT seq, :at, :kind, :borrower_id, :payload, prev_hash, hash FROM h
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
        INSERT INTO audit_log (seq, at, kind, borrower_id, payload, prev_hash, hash)
        SELECT seq, :at, 'decision', :borrower_id, :payload, prev_hash, hash FROM h
        RETURNING seq
    ), r AS (
        INSERT INTO contact_ledger (borrower_id, account_id, channel, party, purpose,
            agency_id, number, attempt_at, status, outcome, conversation, reserved_at,
            completed_at, decision_audit_seq)
        SELECT :borrower_id, :account_id, :channel, :party, :purpose, :agency_id, :number,
            :attempt_at, 'reserved', NULL, false, :at, NULL, a.seq
          FROM a WHERE CAST(:reserve AS boolean)
        RETURNING id
    )
    SELECT a.seq, (SELECT id FROM r) AS reservation_id FROM a
    """
).bindparams(
    sa.bindparam("at", type_=UtcDateTime()), sa.bindparam("attempt_at", type_=UtcDateTime())
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
    )
)
_HEAD_BUMP = (
    audit_head.update()
    .where(audit_head.c.id == 1)
    .values(seq=audit_head.c.seq + 1)
    .returning(audit_head.c.seq, audit_head.c.hash)
)
_HEAD_SET = (
    audit_head.update()
    .where(audit_head.c.id == 1)
    .values(hash=sa.bindparam("h"), prev_hash=sa.bindparam("p"))
)
_HEAD = sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
_HEAD_ROW = {"id": 1, "seq": 0, "hash": GENESIS_HASH, "prev_hash": GENESIS_HASH}


def _ensure_head(conn: Connection) -> None:
    """Create the chain head (seq 0, genesis hash) if this is the ledger's first append.

    ``ON CONFLICT DO NOTHING`` waits for a concurrent creator and then does nothing, so two
    first appends cannot both start a chain."""
    if conn.dialect.name == "postgresql":
        stmt: Any = postgresql.insert(audit_head).values(_HEAD_ROW).on_conflict_do_nothing()
    else:
        stmt = sqlite.insert(audit_head).values(_HEAD_ROW).on_conflict_do_nothing()
    conn.execute(stmt)


_AUDIT_INSERT = audit_log.insert()


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
_PG_HEAD_SQL = "SELECT 1 FROM audit_head WHERE id = 1"
#: Engines whose audit head is known to exist (it is never removed once created).
_HEADS_SEEN: weakref.WeakSet[Engine] = weakref.WeakSet()


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

    def reserve(self, attempt: Attempt, reserved_at: datetime, decision_audit_seq: int) -> int:
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
    ) -> None:
        """Close a ``reserved`` row.

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
            },
        )
        if res.rowcount != 1:
            raise LookupError(f"reservation {reservation_id} is not reserved")


class SqlAuditLog:
    """:class:`~arrears.domain.ports.AuditLog` on one connection (append and read only)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._pg = conn.dialect.name == "postgresql"

    def append(self, kind: str, borrower_id: str | None, payload: str, at: datetime) -> int:
        """Append one entry after the head, in the caller's transaction; return its seq."""
        if self._pg:
            params = {
                "payload": payload,
                "at_text": at_text(at),
                "at": at,
                "kind": kind,
                "borrower_id": borrower_id,
            }
            seq = self._conn.execute(_PG_APPEND, params).scalar()
            if seq is None:  # no head yet: the ledger's first entry
                _ensure_head(self._conn)
                seq = self._conn.execute(_PG_APPEND, params).scalar_one()
            return int(seq)
        head = self._conn.execute(_HEAD_BUMP).first()
        if head is None:
            _ensure_head(self._conn)
            head = self._conn.execute(_HEAD_BUMP).one()
        seq, prev = int(head.seq), str(head.hash)
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
            ),
        )
        self._conn.execute(_HEAD_SET, {"h": digest, "p": prev})
        return seq

    def entries(self) -> Iterator[AuditEntry]:
        """Every entry in ascending seq order, streamed."""
        result = self._conn.execution_options(yield_per=5000).execute(
            sa.select(audit_log).order_by(audit_log.c.seq)
        )
        for r in result.mappings():
            yield AuditEntry(
                r["seq"], r["at"], r["kind"], r["borrower_id"], r["payload"], r["prev_hash"],
                r["hash"],
            )  # fmt: skip

    def head(self) -> tuple[int, str]:
        """Last seq and hash as stored in ``audit_head``."""
        row = self._conn.execute(_HEAD).first()
        if row is None:
            return 0, GENESIS_HASH
        return int(row.seq), str(row.hash)


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
        check_head = self._engine not in _HEADS_SEEN
        params = {**_PG_HISTORY_PARAMS, "b": borrower_id, "since": since, "until": until}
        lock_cur, hist_cur, head_cur = pg.cursor(), pg.cursor(), pg.cursor()
        with pg.pipeline():
            lock_cur.execute(_PG_LOCK_SQL, {"b": borrower_id})
            hist_cur.execute(_PG_HISTORY_SQL, params)
            if check_head:
                head_cur.execute(_PG_HEAD_SQL)
        rows = hist_cur.fetchall()
        if check_head and head_cur.fetchone() is None:
            _ensure_head(conn)  # the ledger's first entry: create the head in this transaction
        names = [d.name for d in hist_cur.description or ()]
        return sorted((_past(dict(zip(names, r, strict=True))) for r in rows), key=lambda p: p.at)

    def commit_decision(
        self, attempt: Attempt, payload: str, at: datetime, *, reserve: bool
    ) -> tuple[int, int | None]:
        """Append the decision and (when ``reserve``) its reservation, then commit; on
        PostgreSQL one statement and the COMMIT in one round trip, so the audit chain's head
        is locked only for the server's own work. Returns (audit seq, reservation id or None).

        Raises
        ------
        RuntimeError
            On PostgreSQL, if the audit chain has no head row (removed behind arrears' back):
            nothing was written.
        """
        conn = self.connection
        if conn.dialect.name != "postgresql":
            seq = self.audit.append("decision", attempt.borrower_id, payload, at)
            rid = self.contacts.reserve(attempt, at, seq) if reserve else None
            self.commit()
            return seq, rid
        pg = conn.connection.driver_connection
        assert pg is not None
        cur = pg.cursor()
        with pg.pipeline():
            cur.execute(_PG_DECIDE_SQL, self._decide_params(attempt, payload, at, reserve))
            pg.commit()
        row = cur.fetchone()
        conn.commit()  # the driver has committed; this closes SQLAlchemy's transaction
        self._committed = True
        if row is None:
            raise RuntimeError("the audit chain has no head row: the decision was not recorded")
        _HEADS_SEEN.add(self._engine)
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

    Flags are the true flag columns; opt-outs the ``|``-separated ``opt_out_channels``.
    """
    row = (
        conn.execute(sa.select(borrowers).where(borrowers.c.borrower_id == borrower_id))
        .mappings()
        .first()
    )
    if row is None:
        return None
    opted = row["opt_out_channels"] or ""
    return BorrowerState(
        borrower_id=borrower_id,
        jurisdiction=row["jurisdiction"],
        timezone=row["timezone"] or None,
        flags=frozenset(f for f in FLAG_COLUMNS if row[f]),
        opted_out=frozenset(c for c in opted.split("|") if c),
        unreachable=unreachable,
        lender_jurisdictions=lender_jurisdictions,
    )


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
