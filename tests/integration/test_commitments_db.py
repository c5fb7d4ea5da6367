"""Promises and plans in the ledger, on SQLite and PostgreSQL (``ledger_engine`` fixture).

The tracker (``arrears.services.commitments``) runs on the SQL repository over the small
portfolio of ``tests/builders.py``; payments are rows of the ledger's ``payments`` table.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from tests.builders import small_portfolio

from arrears.adapters.db import ledger
from arrears.adapters.db.commitments import (
    SqlCommitmentRepository,
    commitment_history,
    list_commitments,
)
from arrears.adapters.db.tables import (
    commitment_events,
    payments,
    plan_installments,
    promises,
    repayment_plans,
)
from arrears.domain.plans import (
    CommitmentStatus,
    OfferPolicy,
    PlanError,
    PromiseToPay,
    RepaymentPlan,
    installment_schedule,
)
from arrears.services.commitments import CommitmentTracker

T0 = datetime(2025, 4, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))  # 01:30 UTC
POLICY = OfferPolicy(promise_grace_days=3, plan_grace_days=5)


@pytest.fixture
def engine(ledger_engine: Engine) -> Engine:
    with ledger_engine.begin() as conn:
        ledger.import_frames(
            conn, small_portfolio(), sha256="a" * 64, source="test", imported_at=T0
        )
    return ledger_engine


def _tracker(conn: Connection) -> CommitmentTracker:
    return CommitmentTracker(SqlCommitmentRepository(conn, T0), POLICY)


def _pay(conn: Connection, pid: str, account: str, on: date, amount: int) -> None:
    conn.execute(
        payments.insert().values(
            payment_id=pid, account_id=account, paid_on=on, amount_minor=amount
        )
    )


def _count(conn: Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_promise_round_trips_with_currency_dates_and_utc_instant(engine: Engine) -> None:
    p = PromiseToPay("PTP-1", "A-CN-LOAN", 123_45, date(2025, 4, 1), date(2025, 4, 8))
    with engine.begin() as conn:
        _tracker(conn).record_promise(p, "call")
    with engine.connect() as conn:
        repo = SqlCommitmentRepository(conn, T0)
        assert repo.open_promises() == [(p, CommitmentStatus.PENDING)]
        assert repo.open_promises("A-TW-LOAN") == []
        row = conn.execute(sa.select(promises)).one()
        assert (row.currency, row.amount_minor, row.channel) == ("CNY", 12_345, "call")
        assert isinstance(row.amount_minor, int) and row.due_on == date(2025, 4, 8)
        assert row.recorded_at == datetime(2025, 4, 1, 1, 30, tzinfo=UTC)
        assert row.recorded_at.tzinfo is not None
        [h] = commitment_history(conn)
        assert (h.kind, h.event, h.status, h.event_on) == (
            "promise",
            "PromiseMade",
            "pending",
            date(2025, 4, 1),
        )


def test_plan_round_trips_with_its_exact_schedule(engine: Engine) -> None:
    sched = installment_schedule(1_000_001, 3, date(2025, 5, 1))
    plan = RepaymentPlan("PLN-1", "A-CN-LOAN", date(2025, 4, 1), sched)
    with engine.begin() as conn:
        _tracker(conn).record_plan(plan)
    with engine.connect() as conn:
        repo = SqlCommitmentRepository(conn, T0)
        assert repo.open_plans() == [plan]
        assert repo.get_plan("PLN-1") == plan
        assert repo.get_plan("nope") is None
        amounts = conn.execute(
            sa.select(plan_installments.c.amount_minor).order_by(plan_installments.c.seq)
        ).scalars()
        assert list(amounts) == [333_333, 333_333, 333_335]  # the last absorbs the remainder
        [row] = list_commitments(conn)
        assert (row.kind, row.currency, row.amount_minor, row.installments) == (
            "plan",
            "CNY",
            1_000_001,
            3,
        )
        assert (row.first_due, row.due_on, row.status) == (
            date(2025, 5, 1),
            date(2025, 7, 1),
            "kept",
        )


def test_review_uses_ledger_payments_and_records_dated_history(engine: Engine) -> None:
    with engine.begin() as conn:
        t = _tracker(conn)
        # kept: paid on the last day of the grace period
        t.record_promise(
            PromiseToPay("P-KEPT", "A-CN-LOAN", 500, date(2025, 4, 1), date(2025, 4, 5))
        )
        t.record_promise(
            PromiseToPay("P-BROKEN", "A-NY-CARD", 500, date(2025, 4, 1), date(2025, 4, 5))
        )
        _pay(conn, "X-1", "A-CN-LOAN", date(2025, 4, 8), 500)
        # a payment before the promise was made does not keep it
        _pay(conn, "X-0", "A-NY-CARD", date(2025, 3, 31), 500)
        t.record_plan(
            RepaymentPlan(
                "L-KEPT",
                "A-TW-LOAN",
                date(2025, 4, 1),
                installment_schedule(20_000, 2, date(2025, 4, 10)),
            )
        )
        _pay(conn, "X-2", "A-TW-LOAN", date(2025, 4, 15), 10_000)  # 5th day of grace
    with engine.begin() as conn:
        t = _tracker(conn)
        assert t.plan_active_accounts(date(2025, 4, 16)) == frozenset({"A-TW-LOAN"})
        events = t.review(date(2025, 4, 9))
        assert {(e.name, e.commitment_id) for e in events} == {
            ("PromiseKept", "P-KEPT"),
            ("PromiseBroken", "P-BROKEN"),
        }
    with engine.begin() as conn:
        assert _tracker(conn).review(date(2025, 4, 9)) == []  # nothing changes twice
        # the plan's first installment: grace ends 15 Apr, paid on 15 Apr -> still kept
        assert _tracker(conn).review(date(2025, 4, 16)) == []
        # second installment due 10 May unpaid: broken once its grace (15 May) has passed
        assert _tracker(conn).review(date(2025, 5, 15)) == []
        [e] = _tracker(conn).review(date(2025, 5, 16))
        assert (e.name, e.commitment_id, e.on) == ("PlanBroken", "L-KEPT", date(2025, 5, 16))
    with engine.connect() as conn:
        statuses = dict(conn.execute(sa.select(promises.c.promise_id, promises.c.status)).all())
        assert statuses == {"P-KEPT": "kept", "P-BROKEN": "broken"}
        assert conn.execute(sa.select(repayment_plans.c.status)).scalar_one() == "broken"
        assert _tracker(conn).plan_active_accounts(date(2025, 5, 16)) == frozenset()
        hist = [(h.commitment_id, h.event, h.status, h.event_on) for h in commitment_history(conn)]
        # promises are reviewed oldest due first, then by id
        assert hist[3:] == [
            ("P-BROKEN", "PromiseBroken", "broken", date(2025, 4, 9)),
            ("P-KEPT", "PromiseKept", "kept", date(2025, 4, 9)),
            ("L-KEPT", "PlanBroken", "broken", date(2025, 5, 16)),
        ]
        broken = list_commitments(conn, status="broken")
        assert [(c.commitment_id, c.status_on) for c in broken] == [
            ("P-BROKEN", date(2025, 4, 9)),
            ("L-KEPT", date(2025, 5, 16)),
        ]
        assert [c.commitment_id for c in list_commitments(conn, kind="promise")] == [
            "P-KEPT",
            "P-BROKEN",
        ]


def test_replan_is_stored_with_its_link_and_count(engine: Engine) -> None:
    first = installment_schedule(20_000, 2, date(2025, 4, 10))
    with engine.begin() as conn:
        _tracker(conn).record_plan(RepaymentPlan("L1", "A-TW-LOAN", date(2025, 4, 1), first))
    with engine.begin() as conn:
        t = _tracker(conn)
        [e] = t.review(date(2025, 4, 20))
        assert e.name == "PlanBroken"
        old = t.repo.get_plan("L1")
        assert old is not None and old.status is CommitmentStatus.BROKEN
        t.replan(old, "L2", installment_schedule(20_000, 4, date(2025, 5, 1)), date(2025, 4, 21))
    with engine.connect() as conn:
        repo = SqlCommitmentRepository(conn, T0)
        old, new = repo.get_plan("L1"), repo.get_plan("L2")
        assert old is not None and old.status is CommitmentStatus.REPLANNED
        assert old.schedule == first  # never rewritten
        assert new is not None and (new.replaces, new.replans, new.status) == (
            "L1",
            1,
            CommitmentStatus.KEPT,
        )
        assert repo.open_plans() == [new]
        events = [(h.commitment_id, h.event) for h in commitment_history(conn)]
        assert events == [
            ("L1", "PlanAgreed"),
            ("L1", "PlanBroken"),
            ("L1", "PlanReplanned"),
            ("L2", "PlanAgreed"),
        ]


def test_refused_commitment_leaves_the_ledger_unchanged(engine: Engine) -> None:
    sched = installment_schedule(20_000, 2, date(2025, 4, 10))
    with pytest.raises(PlanError, match="more than the account's balance"), engine.begin() as conn:
        t = _tracker(conn)
        t.record_promise(PromiseToPay("P1", "A-TW-LOAN", 100, date(2025, 4, 1), date(2025, 4, 5)))
        # 1,030,000 CNY minor units is the balance: a plan above it is refused
        t.record_plan(
            RepaymentPlan(
                "L1",
                "A-CN-LOAN",
                date(2025, 4, 1),
                installment_schedule(1_030_001, 2, date(2025, 4, 10)),
            )
        )
    with pytest.raises(LookupError, match="no account 'A-NOPE'"), engine.begin() as conn:
        _tracker(conn).record_plan(RepaymentPlan("L2", "A-NOPE", date(2025, 4, 1), sched))
    with engine.connect() as conn:
        for table in (promises, repayment_plans, plan_installments, commitment_events):
            assert _count(conn, table) == 0, table.name


def test_database_refuses_an_installment_that_does_not_add_up(engine: Engine) -> None:
    with engine.begin() as conn:
        _tracker(conn).record_plan(
            RepaymentPlan(
                "L1", "A-TW-LOAN", date(2025, 4, 1), installment_schedule(200, 2, date(2025, 5, 1))
            )
        )
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(
            plan_installments.insert().values(
                plan_id="L1",
                seq=3,
                due_on=date(2025, 7, 1),
                amount_minor=100,
                principal_minor=90,
                interest_minor=0,
                fees_minor=0,
            )
        )
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(repayment_plans.update().values(status="maybe"))


def test_naive_recorded_at_is_refused(engine: Engine) -> None:
    with engine.connect() as conn, pytest.raises(ValueError, match="aware"):
        SqlCommitmentRepository(conn, datetime(2025, 4, 1, 9, 30))
