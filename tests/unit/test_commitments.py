"""Promise and plan tracking service on an in-memory repository."""

from __future__ import annotations

from datetime import date

import pytest

from arrears.domain.plans import (
    CommitmentStatus,
    OfferPolicy,
    PlanError,
    PromiseToPay,
    RepaymentPlan,
    installment_schedule,
)
from arrears.services.commitments import CommitmentTracker


class FakeRepo:
    def __init__(self) -> None:
        self.promises: dict[str, tuple[PromiseToPay, CommitmentStatus]] = {}
        self.plans: dict[str, RepaymentPlan] = {}
        self.pays: dict[str, list[tuple[date, int]]] = {}

    def open_promises(self):
        return [v for v in self.promises.values() if v[1] is CommitmentStatus.PENDING]

    def open_plans(self):
        return [p for p in self.plans.values() if p.status is CommitmentStatus.KEPT]

    def payments(self, account_id):
        return self.pays.get(account_id, [])

    def set_promise_status(self, promise_id, status):
        self.promises[promise_id] = (self.promises[promise_id][0], status)

    def save_plan(self, plan):
        self.plans[plan.plan_id] = plan


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
    repo.pays["A1"] = [(date(2026, 1, 6), 1_000)]  # within the 3-day grace
    sched = installment_schedule(20_000, 2, date(2026, 1, 10))
    repo.plans["L1"] = RepaymentPlan("L1", "A3", date(2026, 1, 1), sched)
    repo.plans["L2"] = RepaymentPlan("L2", "A4", date(2026, 1, 1), sched)
    repo.pays["A3"] = [(date(2026, 1, 10), 10_000)]
    tracker = CommitmentTracker(repo, OfferPolicy(promise_grace_days=3, plan_grace_days=5))

    assert tracker.plan_active_accounts(date(2026, 1, 20)) == frozenset({"A3"})
    events = tracker.review(date(2026, 1, 20))
    assert {(e.name, e.commitment_id) for e in events} == {
        ("PromiseKept", "P1"),
        ("PromiseBroken", "P2"),
        ("PlanBroken", "L2"),
    }
    assert repo.promises["P2"][1] is CommitmentStatus.BROKEN
    assert repo.plans["L2"].status is CommitmentStatus.BROKEN
    assert repo.plans["L1"].status is CommitmentStatus.KEPT
    assert tracker.review(date(2026, 1, 20)) == []  # nothing changes twice


def test_replan_limit_comes_from_the_policy():
    repo = FakeRepo()
    sched = installment_schedule(20_000, 2, date(2026, 1, 10))
    plan = RepaymentPlan("L1", "A1", date(2026, 1, 1), sched)
    tracker = CommitmentTracker(repo, OfferPolicy(max_replans=1))
    new, event = tracker.replan(plan, "L2", sched, date(2026, 1, 12))
    assert event.name == "PlanReplanned" and repo.plans["L1"].status is CommitmentStatus.REPLANNED
    assert repo.plans["L2"] == new
    with pytest.raises(PlanError, match="hardship review"):
        tracker.replan(new, "L3", sched, date(2026, 1, 20))
