"""Promises to pay and repayment plans in the ledger (tables of migration 0005).

:class:`SqlCommitmentRepository` implements the ``CommitmentRepository`` port of
:mod:`arrears.services.commitments` on one SQLAlchemy connection; it never commits (the
caller's transaction is the unit of work). Payments come from the ledger's ``payments`` table.
Amounts are integer minor units of the account's currency, dates are dates, ``recorded_at`` is
an aware UTC instant.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from arrears.adapters.db.tables import (
    accounts,
    commitment_events,
    payments,
    plan_installments,
    promises,
    repayment_plans,
)
from arrears.domain.plans import CommitmentStatus, PromiseToPay, RepaymentPlan, ScheduledPayment

_OPEN_PROMISE = CommitmentStatus.PENDING.value
_OPEN_PLAN = CommitmentStatus.KEPT.value
_SET_PROMISE_STATUS = (
    promises.update()
    .where(promises.c.promise_id == sa.bindparam("k_id"))
    .values(status=sa.bindparam("k_status"))
)
_SET_PLAN_STATUS = (
    repayment_plans.update()
    .where(repayment_plans.c.plan_id == sa.bindparam("k_id"))
    .values(status=sa.bindparam("k_status"))
)


class SqlCommitmentRepository:
    """Commitments of the ledger reached through ``conn``.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        Inside the caller's transaction.
    recorded_at : datetime
        Aware instant stamped on every row this repository writes (the unit of work's "now").

    Raises
    ------
    ValueError
        If ``recorded_at`` is naive.

    Notes
    -----
    The first :meth:`payments` call reads, in one query, the payments of every account with an
    open promise or plan; they are kept for the repository's life (one unit of work), so a
    review costs a handful of queries whatever the number of commitments.
    """

    def __init__(self, conn: Connection, recorded_at: datetime) -> None:
        if recorded_at.tzinfo is None or recorded_at.utcoffset() is None:
            raise ValueError("recorded_at must be an aware instant")
        self.conn = conn
        self.recorded_at = recorded_at
        self._payments: dict[str, list[tuple[date, int]]] | None = None

    # --- reads ---------------------------------------------------------------------------

    def account(self, account_id: str) -> tuple[str, int | None] | None:
        """``(currency, balance_minor or None)`` of the account, or None if unknown."""
        row = self.conn.execute(
            sa.select(accounts.c.currency, accounts.c.balance_minor).where(
                accounts.c.account_id == account_id
            )
        ).first()
        if row is None:
            return None
        return str(row.currency), None if row.balance_minor is None else int(row.balance_minor)

    def open_promises(
        self, account_id: str | None = None
    ) -> list[tuple[PromiseToPay, CommitmentStatus]]:
        """Pending promises (of one account, or all), oldest due first."""
        query = sa.select(promises).where(promises.c.status == _OPEN_PROMISE)
        if account_id is not None:
            query = query.where(promises.c.account_id == account_id)
        rows = self.conn.execute(query.order_by(promises.c.due_on, promises.c.promise_id))
        return [
            (
                PromiseToPay(r.promise_id, r.account_id, int(r.amount_minor), r.made_on, r.due_on),
                CommitmentStatus(r.status),
            )
            for r in rows
        ]

    def open_plans(self, account_id: str | None = None) -> list[RepaymentPlan]:
        """Active plans (status kept), of one account or all, with their schedules."""
        where = [repayment_plans.c.status == _OPEN_PLAN]
        if account_id is not None:
            where.append(repayment_plans.c.account_id == account_id)
        return self._plans(where)

    def get_plan(self, plan_id: str) -> RepaymentPlan | None:
        """One plan whatever its status, or None."""
        found = self._plans([repayment_plans.c.plan_id == plan_id])
        return found[0] if found else None

    def payments(self, account_id: str) -> list[tuple[date, int]]:
        """``(paid_on, amount_minor)`` of the account, oldest first."""
        if self._payments is None:
            self._payments = self._open_accounts_payments()
        if account_id in self._payments:
            return self._payments[account_id]
        rows = self.conn.execute(
            sa.select(payments.c.paid_on, payments.c.amount_minor)
            .where(payments.c.account_id == account_id)
            .order_by(payments.c.paid_on)
        )
        return [(r.paid_on, int(r.amount_minor)) for r in rows]

    # --- writes --------------------------------------------------------------------------

    def add_promise(self, promise: PromiseToPay, channel: str | None) -> None:
        """Insert a pending promise in the account's currency.

        Raises
        ------
        LookupError
            If the account is unknown.
        sqlalchemy.exc.IntegrityError
            If the promise id exists.
        """
        self.conn.execute(
            promises.insert().values(
                promise_id=promise.promise_id,
                account_id=promise.account_id,
                currency=self._currency(promise.account_id),
                amount_minor=promise.amount_minor,
                made_on=promise.made_on,
                due_on=promise.due_on,
                channel=channel,
                status=CommitmentStatus.PENDING.value,
                recorded_at=self.recorded_at,
            )
        )

    def add_plan(self, plan: RepaymentPlan) -> None:
        """Insert a plan and its schedule, in the account's currency.

        Raises
        ------
        LookupError
            If the account is unknown.
        sqlalchemy.exc.IntegrityError
            If the plan id exists (a stored schedule is never rewritten: re-plan instead).
        """
        self.conn.execute(
            repayment_plans.insert().values(
                plan_id=plan.plan_id,
                account_id=plan.account_id,
                currency=self._currency(plan.account_id),
                agreed_on=plan.agreed_on,
                status=CommitmentStatus(plan.status).value,
                replans=plan.replans,
                replaces=plan.replaces,
                recorded_at=self.recorded_at,
            )
        )
        if plan.schedule:
            self.conn.execute(
                plan_installments.insert(),
                [
                    {
                        "plan_id": plan.plan_id,
                        "seq": p.seq,
                        "due_on": p.due_on,
                        "amount_minor": p.amount_minor,
                        "principal_minor": p.principal_minor,
                        "interest_minor": p.interest_minor,
                        "fees_minor": p.fees_minor,
                    }
                    for p in plan.schedule
                ],
            )

    def set_promise_statuses(self, changes: Sequence[tuple[str, CommitmentStatus]]) -> None:
        """Store promises' new statuses (one batched statement)."""
        if changes:
            self.conn.execute(
                _SET_PROMISE_STATUS,
                [{"k_id": k, "k_status": CommitmentStatus(v).value} for k, v in changes],
            )

    def set_plan_statuses(self, changes: Sequence[tuple[str, CommitmentStatus]]) -> None:
        """Store plans' new statuses (one batched statement)."""
        if changes:
            self.conn.execute(
                _SET_PLAN_STATUS,
                [{"k_id": k, "k_status": CommitmentStatus(v).value} for k, v in changes],
            )

    def record_events(self, events: Sequence[tuple[str, str, str, date, CommitmentStatus]]) -> None:
        """Append ``(name, commitment_id, account_id, on, status_after)`` rows to
        ``commitment_events``, in order (one batched insert)."""
        if not events:
            return
        self.conn.execute(
            commitment_events.insert(),
            [
                {
                    "kind": "promise" if name.startswith("Promise") else "plan",
                    "commitment_id": cid,
                    "account_id": account,
                    "event": name,
                    "status": CommitmentStatus(status).value,
                    "event_on": on,
                    "recorded_at": self.recorded_at,
                }
                for name, cid, account, on, status in events
            ],
        )

    # --- helpers -------------------------------------------------------------------------

    def _currency(self, account_id: str) -> str:
        found = self.account(account_id)
        if found is None:
            raise LookupError(f"no account {account_id!r} in the ledger")
        return found[0]

    def _plans(self, where: Sequence[sa.ColumnElement[bool]]) -> list[RepaymentPlan]:
        heads = self.conn.execute(
            sa.select(repayment_plans).where(*where).order_by(repayment_plans.c.plan_id)
        ).all()
        if not heads:
            return []
        sched: dict[str, list[ScheduledPayment]] = defaultdict(list)
        i = plan_installments.c
        rows = self.conn.execute(
            sa.select(
                i.plan_id,
                i.seq,
                i.due_on,
                i.amount_minor,
                i.principal_minor,
                i.interest_minor,
                i.fees_minor,
            )
            .join(repayment_plans, repayment_plans.c.plan_id == i.plan_id)
            .where(*where)
            .order_by(i.plan_id, i.seq)
        )
        # plain tuples: this loop reads every installment of every open plan
        for plan_id, seq, due_on, amount, principal, interest, fees in rows.tuples():
            sched[plan_id].append(ScheduledPayment(seq, due_on, amount, principal, interest, fees))
        return [
            RepaymentPlan(
                h.plan_id,
                h.account_id,
                h.agreed_on,
                tuple(sched.get(h.plan_id, ())),
                int(h.replans),
                CommitmentStatus(h.status),
                h.replaces,
            )
            for h in heads
        ]

    def _open_accounts_payments(self) -> dict[str, list[tuple[date, int]]]:
        open_accounts = sa.union(
            sa.select(promises.c.account_id).where(promises.c.status == _OPEN_PROMISE),
            sa.select(repayment_plans.c.account_id).where(repayment_plans.c.status == _OPEN_PLAN),
        ).subquery()
        ids = [r[0] for r in self.conn.execute(sa.select(open_accounts.c.account_id))]
        out: dict[str, list[tuple[date, int]]] = {a: [] for a in ids}
        rows = self.conn.execute(
            sa.select(payments.c.account_id, payments.c.paid_on, payments.c.amount_minor)
            .where(payments.c.account_id.in_(sa.select(open_accounts.c.account_id)))
            .order_by(payments.c.account_id, payments.c.paid_on)
        )
        for account_id, paid_on, amount in rows.tuples():
            out[account_id].append((paid_on, amount))
        return out


# --- listing and history (read models for the CLI) ----------------------------------------


@dataclass(frozen=True)
class CommitmentRow:
    """One promise or plan as ``arrears commitments list`` shows it.

    Attributes
    ----------
    kind : str
        ``promise`` or ``plan``.
    amount_minor : int
        The promised amount, or the plan's total (sum of its installments), in minor units of
        ``currency``.
    made_on : date
        Day the promise was made or the plan agreed.
    due_on : date or None
        The promise's due date, or the plan's last installment due date.
    first_due : date or None
        The plan's first installment due date (the promise's due date for a promise).
    installments : int
        0 for a promise.
    status : str
        A :class:`~arrears.domain.plans.CommitmentStatus` value.
    status_on : date or None
        Business date of the last event (when the status was set).
    """

    kind: str
    commitment_id: str
    account_id: str
    currency: str
    amount_minor: int
    made_on: date
    first_due: date | None
    due_on: date | None
    installments: int
    status: str
    status_on: date | None
    channel: str | None = None
    replans: int = 0
    replaces: str | None = None


def list_commitments(
    conn: Connection,
    *,
    status: str | None = None,
    account_id: str | None = None,
    kind: str | None = None,
    ids: Sequence[str] | None = None,
) -> list[CommitmentRow]:
    """Promises and plans, filtered by status, account, kind (``promise``/``plan``) or ids.

    Ordered by account, then made/agreed date, then id.
    """
    last_on = dict(
        conn.execute(
            sa.select(commitment_events.c.commitment_id, sa.func.max(commitment_events.c.event_on))
            .where(*([commitment_events.c.commitment_id.in_(ids)] if ids is not None else []))
            .group_by(commitment_events.c.commitment_id)
        ).all()
    )
    out: list[CommitmentRow] = []
    if kind in (None, "promise"):
        q = sa.select(promises)
        if status is not None:
            q = q.where(promises.c.status == status)
        if account_id is not None:
            q = q.where(promises.c.account_id == account_id)
        if ids is not None:
            q = q.where(promises.c.promise_id.in_(ids))
        for r in conn.execute(q):
            out.append(
                CommitmentRow(
                    "promise",
                    r.promise_id,
                    r.account_id,
                    r.currency,
                    int(r.amount_minor),
                    r.made_on,
                    r.due_on,
                    r.due_on,
                    0,
                    r.status,
                    last_on.get(r.promise_id),
                    channel=r.channel,
                )
            )
    if kind in (None, "plan"):
        agg = (
            sa.select(
                plan_installments.c.plan_id,
                sa.func.sum(plan_installments.c.amount_minor).label("total"),
                sa.func.count().label("n"),
                sa.func.min(plan_installments.c.due_on).label("first_due"),
                sa.func.max(plan_installments.c.due_on).label("last_due"),
            )
            .group_by(plan_installments.c.plan_id)
            .subquery()
        )
        q = sa.select(repayment_plans, agg.c.total, agg.c.n, agg.c.first_due, agg.c.last_due).join(
            agg, agg.c.plan_id == repayment_plans.c.plan_id, isouter=True
        )
        if status is not None:
            q = q.where(repayment_plans.c.status == status)
        if account_id is not None:
            q = q.where(repayment_plans.c.account_id == account_id)
        if ids is not None:
            q = q.where(repayment_plans.c.plan_id.in_(ids))
        for r in conn.execute(q):
            out.append(
                CommitmentRow(
                    "plan",
                    r.plan_id,
                    r.account_id,
                    r.currency,
                    int(r.total or 0),
                    r.agreed_on,
                    r.first_due,
                    r.last_due,
                    int(r.n or 0),
                    r.status,
                    last_on.get(r.plan_id),
                    replans=int(r.replans),
                    replaces=r.replaces,
                )
            )
    out.sort(key=lambda c: (c.account_id, c.made_on, c.commitment_id))
    return out


@dataclass(frozen=True)
class HistoryEntry:
    """One row of ``commitment_events``."""

    kind: str
    commitment_id: str
    account_id: str
    event: str
    status: str
    event_on: date
    recorded_at: datetime


def commitment_history(
    conn: Connection, *, commitment_id: str | None = None, account_id: str | None = None
) -> list[HistoryEntry]:
    """The history of one commitment or account (or all), in the order it was recorded."""
    q = sa.select(commitment_events).order_by(commitment_events.c.id)
    if commitment_id is not None:
        q = q.where(commitment_events.c.commitment_id == commitment_id)
    if account_id is not None:
        q = q.where(commitment_events.c.account_id == account_id)
    return [
        HistoryEntry(
            r.kind, r.commitment_id, r.account_id, r.event, r.status, r.event_on, r.recorded_at
        )
        for r in conn.execute(q)
    ]
