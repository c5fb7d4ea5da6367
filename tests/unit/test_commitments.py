"""Promise and plan tracking service on an in-memory repository."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from arrears.domain.plans import (
    CommitmentStatus,
    OfferPolicy,
    PlanError,
    PromiseToPay,
    RepaymentPlan,
    ScheduledPayment,
    installment_schedule,
)
from arrears.services.commitments import CommitmentEvent, CommitmentTracker


class FakeRepo:
    def __init__(self) -> None:
        self.promises: dict[str, tuple[PromiseToPay, CommitmentStatus]] = {}
        self.plans: dict[str, RepaymentPlan] = {}
        self.pays: dict[str, list[tuple[date, int]]] = {}
        self.accounts: dict[str, tuple[str, int | None]] = {}
        self.history: list[tuple[str, str, str, date, CommitmentStatus]] = []

    def account(self, account_id):
        return self.accounts.get(account_id)

    def open_promises(self, account_id=None):
        return [
            v
            for v in self.promises.values()
            if v[1] is CommitmentStatus.PENDING and account_id in (None, v[0].account_id)
        ]

    def open_plans(self, account_id=None):
        return [
            p
            for p in self.plans.values()
            if p.status is CommitmentStatus.KEPT and account_id in (None, p.account_id)
        ]

    def get_plan(self, plan_id):
        return self.plans.get(plan_id)

    def payments(self, account_id):
        return self.pays.get(account_id, [])

    def add_promise(self, promise, channel):
        self.promises[promise.promise_id] = (promise, CommitmentStatus.PENDING)

    def add_plan(self, plan):
        assert plan.plan_id not in self.plans
        self.plans[plan.plan_id] = plan

    def set_promise_statuses(self, changes):
        for promise_id, status in changes:
            self.promises[promise_id] = (self.promises[promise_id][0], status)

    def set_plan_statuses(self, changes):
        for plan_id, status in changes:
            self.plans[plan_id] = dataclasses.replace(self.plans[plan_id], status=status)

    def record_events(self, events):
        self.history.extend(events)


def test_review_marks_promises_and_plans_and_feeds_plan_active():
    repo = FakeRepo()
    repo.promises["P1"] = (
        PromiseToPay("P1", "A1", 1_000, date(2026, 1, 1), date(2026, 1, 5)),
        CommitmentStatus.PENDING,
    )
    repo.promises["P2"] = (
        PromiseToPay("P2", "A2", 1_000, date(2026, 1, 1), date(2026, 1, 5)),
        CommitmentStatus.PENDING,
    )
    repo.promises["P5"] = (  # made before the review date, due after it: pending
        PromiseToPay("P5", "A5", 1_000, date(2026, 1, 15), date(2026, 1, 25)),
        CommitmentStatus.PENDING,
    )
    repo.promises["P6"] = (  # made after the review date (an earlier date re-run)
        PromiseToPay("P6", "A6", 1_000, date(2026, 1, 22), date(2026, 1, 25)),
        CommitmentStatus.PENDING,
    )
    repo.promises["P7"] = (  # due within the grace days, unpaid: still pending, not chased
        PromiseToPay("P7", "A7", 1_000, date(2026, 1, 10), date(2026, 1, 18)),
        CommitmentStatus.PENDING,
    )
    repo.pays["A1"] = [(date(2026, 1, 6), 1_000)]  # within the 3-day grace
    sched = installment_schedule(20_000, 2, date(2026, 1, 10))
    repo.plans["L1"] = RepaymentPlan("L1", "A3", date(2026, 1, 1), sched)
    repo.plans["L2"] = RepaymentPlan("L2", "A4", date(2026, 1, 1), sched)
    repo.pays["A3"] = [(date(2026, 1, 10), 10_000)]
    tracker = CommitmentTracker(repo, OfferPolicy(promise_grace_days=3, plan_grace_days=5))

    assert tracker.plan_active_accounts(date(2026, 1, 20)) == frozenset({"A3"})
    events, active, pending = tracker.review_day(date(2026, 1, 20))
    assert active == frozenset({"A3"})  # the same accounts, in the same pass
    assert pending == frozenset({"A5", "A7"})  # made by the review date, not yet due + grace
    assert {(e.name, e.commitment_id) for e in events} == {
        ("PromiseKept", "P1"),
        ("PromiseBroken", "P2"),
        ("PlanBroken", "L2"),
    }
    assert repo.promises["P2"][1] is CommitmentStatus.BROKEN
    assert repo.plans["L2"].status is CommitmentStatus.BROKEN
    assert repo.plans["L1"].status is CommitmentStatus.KEPT
    assert tracker.review(date(2026, 1, 20)) == []  # nothing changes twice
    assert sorted(repo.history) == [
        ("PlanBroken", "L2", "A4", date(2026, 1, 20), CommitmentStatus.BROKEN),
        ("PromiseBroken", "P2", "A2", date(2026, 1, 20), CommitmentStatus.BROKEN),
        ("PromiseKept", "P1", "A1", date(2026, 1, 20), CommitmentStatus.KEPT),
    ]


def test_replan_limit_comes_from_the_policy():
    repo = FakeRepo()
    repo.accounts["A1"] = ("USD", None)
    sched = installment_schedule(20_000, 2, date(2026, 1, 10))
    plan = RepaymentPlan("L1", "A1", date(2026, 1, 1), sched)
    repo.plans["L1"] = plan
    tracker = CommitmentTracker(repo, OfferPolicy(max_replans=1))
    sched = installment_schedule(20_000, 2, date(2026, 2, 10))
    new, event = tracker.replan(plan, "L2", sched, date(2026, 1, 12))
    assert event.name == "PlanReplanned" and repo.plans["L1"].status is CommitmentStatus.REPLANNED
    assert repo.plans["L2"] == new
    with pytest.raises(PlanError, match="hardship review"):
        tracker.replan(new, "L3", sched, date(2026, 1, 20))
    assert [h[:2] for h in repo.history] == [("PlanReplanned", "L1"), ("PlanAgreed", "L2")]
    assert repo.plans.keys() == {"L1", "L2"}  # the refused re-plan wrote nothing


def test_replanning_a_replanned_plan_is_refused():
    repo = FakeRepo()
    repo.accounts["A1"] = ("USD", None)
    sched = installment_schedule(20_000, 2, date(2026, 1, 10))
    tracker = CommitmentTracker(repo, OfferPolicy())
    tracker.record_plan(RepaymentPlan("L1", "A1", date(2026, 1, 1), sched))
    tracker.replan(repo.plans["L1"], "L2", sched, date(2026, 1, 2))
    with pytest.raises(PlanError, match="already re-planned"):
        tracker.replan(repo.plans["L1"], "L3", sched, date(2026, 1, 3))


def test_record_promise_stores_it_pending_with_its_made_event():
    repo = FakeRepo()
    repo.accounts["A1"] = ("USD", 50_000)
    tracker = CommitmentTracker(repo, OfferPolicy())
    p = PromiseToPay("P1", "A1", 12_345, date(2026, 1, 1), date(2026, 1, 9))
    event = tracker.record_promise(p, "call")
    assert event == CommitmentEvent("PromiseMade", "P1", "A1", date(2026, 1, 1))
    assert repo.promises["P1"] == (p, CommitmentStatus.PENDING)
    assert repo.history == [("PromiseMade", "P1", "A1", date(2026, 1, 1), CommitmentStatus.PENDING)]


@pytest.mark.parametrize(
    ("account", "amount", "channel", "error", "match"),
    [
        ("NOPE", 100, None, LookupError, "no account 'NOPE'"),
        ("A1", 50_001, None, PlanError, r"500\.01 USD is more than the account's balance"),
        ("A1", 100, "pigeon", PlanError, "channel must be one of"),
    ],
)
def test_record_promise_refuses_bad_input_and_writes_nothing(
    account, amount, channel, error, match
):
    repo = FakeRepo()
    repo.accounts["A1"] = ("USD", 50_000)
    tracker = CommitmentTracker(repo, OfferPolicy())
    with pytest.raises(error, match=match):
        tracker.record_promise(
            PromiseToPay("P1", account, amount, date(2026, 1, 1), date(2026, 1, 9)), channel
        )
    assert repo.promises == {} and repo.history == []


def test_a_promise_due_beyond_the_policy_horizon_is_refused():
    """A pending promise holds the account (promise_pending): it cannot hold it for years."""
    repo = FakeRepo()
    repo.accounts["A1"] = ("USD", None)
    tracker = CommitmentTracker(repo, OfferPolicy(promise_max_days=30))
    with pytest.raises(PlanError, match="due 31 days after it was made; at most 30"):
        tracker.record_promise(PromiseToPay("P1", "A1", 1, date(2026, 1, 1), date(2026, 2, 1)))
    assert repo.promises == {} and repo.history == []
    tracker.record_promise(PromiseToPay("P1", "A1", 1, date(2026, 1, 1), date(2026, 1, 31)))
    assert repo.promises["P1"][1] is CommitmentStatus.PENDING
    with pytest.raises(PlanError, match=r"promise_max_days must be 1\.\.90"):
        OfferPolicy(promise_max_days=0)


def test_an_unpaid_promise_holds_the_account_up_to_due_plus_grace_and_not_a_day_more():
    repo = FakeRepo()
    repo.accounts["A1"] = ("USD", None)
    tracker = CommitmentTracker(repo, OfferPolicy(promise_grace_days=3))
    tracker.record_promise(PromiseToPay("P1", "A1", 100, date(2026, 1, 1), date(2026, 1, 9)))
    assert tracker.review_day(date(2026, 1, 12)).promise_pending == frozenset({"A1"})
    last = tracker.review_day(date(2026, 1, 13))
    assert last.promise_pending == frozenset()
    assert [e.name for e in last.events] == ["PromiseBroken"]


def test_second_pending_promise_on_an_account_is_refused():
    repo = FakeRepo()
    repo.accounts["A1"] = ("USD", None)
    tracker = CommitmentTracker(repo, OfferPolicy())
    tracker.record_promise(PromiseToPay("P1", "A1", 100, date(2026, 1, 1), date(2026, 1, 9)))
    with pytest.raises(PlanError, match="already has a pending promise P1 due 2026-01-09"):
        tracker.record_promise(PromiseToPay("P2", "A1", 100, date(2026, 1, 2), date(2026, 1, 9)))
    assert repo.promises.keys() == {"P1"}
    # once broken, a new promise may be taken
    tracker.review(date(2026, 1, 13))
    tracker.record_promise(PromiseToPay("P2", "A1", 100, date(2026, 1, 13), date(2026, 1, 20)))
    assert repo.promises["P2"][1] is CommitmentStatus.PENDING


def test_record_plan_refuses_a_second_active_plan():
    repo = FakeRepo()
    repo.accounts["A1"] = ("USD", None)
    sched = installment_schedule(20_000, 2, date(2026, 1, 10))
    tracker = CommitmentTracker(repo, OfferPolicy())
    tracker.record_plan(RepaymentPlan("L1", "A1", date(2026, 1, 1), sched))
    with pytest.raises(PlanError, match="already has an active plan L1: re-plan it instead"):
        tracker.record_plan(RepaymentPlan("L2", "A1", date(2026, 1, 1), sched))
    assert repo.plans.keys() == {"L1"}


def _sp(seq, due, amount, principal=None, interest=0, fees=0):
    return ScheduledPayment(
        seq, due, amount, amount if principal is None else principal, interest, fees
    )


@pytest.mark.parametrize(
    ("schedule", "match"),
    [
        ((), "at least one installment"),
        ((_sp(2, date(2026, 2, 1), 100),), "installment 1 is numbered 2"),
        ((_sp(1, date(2025, 12, 31), 100),), "before the plan was agreed"),
        (
            (_sp(1, date(2026, 2, 1), 100), _sp(2, date(2026, 2, 1), 100)),
            "installment 2 is not due after installment 1",
        ),
        ((_sp(1, date(2026, 2, 1), 0),), "amounts must be > 0"),
        ((_sp(1, date(2026, 2, 1), 100, principal=90),), "is not principal \\+ interest"),
    ],
)
def test_a_schedule_that_does_not_add_up_is_refused(schedule, match):
    repo = FakeRepo()
    repo.accounts["A1"] = ("USD", None)
    tracker = CommitmentTracker(repo, OfferPolicy())
    with pytest.raises(PlanError, match=match):
        tracker.record_plan(RepaymentPlan("L1", "A1", date(2026, 1, 1), schedule))
    assert repo.plans == {} and repo.history == []
