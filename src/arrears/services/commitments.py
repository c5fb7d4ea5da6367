"""Use case: track promises to pay and repayment plans (kept, broken, re-planned).

The service reads open commitments and the account's payments through a
:class:`CommitmentRepository` port, evaluates them with the pure rules of
:mod:`arrears.domain.plans` (grace periods from the strategy's
:class:`~arrears.domain.plans.OfferPolicy`), writes back the new statuses and returns the events
that happened. It never commits: the caller's unit of work does. The accounts whose plan is
being kept (:meth:`CommitmentTracker.plan_active_accounts`) feed the daily run's
``plan_active`` flag, so a kept plan is never escalated.

Storage of promises and plans in the ledger is not built yet; tests use an in-memory fake.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from arrears.domain.plans import (
    CommitmentStatus,
    OfferPolicy,
    PromiseToPay,
    RepaymentPlan,
    ScheduledPayment,
    plan_status,
    promise_status,
    replan,
)


class CommitmentRepository(Protocol):
    """Port: open promises and plans, payments per account, status updates."""

    def open_promises(self) -> Sequence[tuple[PromiseToPay, CommitmentStatus]]:
        """Promises not yet kept or broken, with their stored status."""
        ...

    def open_plans(self) -> Sequence[RepaymentPlan]:
        """Plans that are neither completed, broken nor re-planned."""
        ...

    def payments(self, account_id: str) -> Sequence[tuple[date, int]]:
        """``(paid_on, amount_minor)`` of the account."""
        ...

    def set_promise_status(self, promise_id: str, status: CommitmentStatus) -> None:
        """Store a promise's new status."""
        ...

    def save_plan(self, plan: RepaymentPlan) -> None:
        """Insert or replace a plan (by ``plan_id``)."""
        ...


@dataclass(frozen=True)
class CommitmentEvent:
    """Something that happened to a commitment, in the past tense (``PromiseKept``,
    ``PromiseBroken``, ``PlanBroken``, ``PlanCompleted``, ``PlanReplanned``)."""

    name: str
    commitment_id: str
    account_id: str
    on: date


class CommitmentTracker:
    """Review promises and plans, and re-plan.

    Parameters
    ----------
    repo : CommitmentRepository
    policy : OfferPolicy
        ``promise_grace_days``, ``plan_grace_days`` and ``max_replans``.
    """

    def __init__(self, repo: CommitmentRepository, policy: OfferPolicy) -> None:
        self.repo = repo
        self.policy = policy

    def review(self, as_of: date) -> list[CommitmentEvent]:
        """Evaluate every open promise and plan as of ``as_of``; store and return changes."""
        events: list[CommitmentEvent] = []
        for promise, old in self.repo.open_promises():
            new = promise_status(
                promise,
                self.repo.payments(promise.account_id),
                as_of,
                self.policy.promise_grace_days,
            )
            if new is not old:
                self.repo.set_promise_status(promise.promise_id, new)
                if new is CommitmentStatus.KEPT:
                    events.append(
                        CommitmentEvent(
                            "PromiseKept", promise.promise_id, promise.account_id, as_of
                        )
                    )
                elif new is CommitmentStatus.BROKEN:
                    events.append(
                        CommitmentEvent(
                            "PromiseBroken", promise.promise_id, promise.account_id, as_of
                        )
                    )
        for plan in self.repo.open_plans():
            new = plan_status(
                plan, self.repo.payments(plan.account_id), as_of, self.policy.plan_grace_days
            )
            if new is plan.status:
                continue
            self.repo.save_plan(_with_status(plan, new))
            name = {
                CommitmentStatus.BROKEN: "PlanBroken",
                CommitmentStatus.COMPLETED: "PlanCompleted",
                CommitmentStatus.KEPT: "PlanKept",
            }.get(new)
            if name:
                events.append(CommitmentEvent(name, plan.plan_id, plan.account_id, as_of))
        return events

    def replan(
        self,
        plan: RepaymentPlan,
        new_id: str,
        schedule: tuple[ScheduledPayment, ...],
        agreed_on: date,
    ) -> tuple[RepaymentPlan, CommitmentEvent]:
        """Replace ``plan`` by a new plan with ``schedule``.

        Raises
        ------
        arrears.domain.plans.PlanError
            When the plan was re-planned ``max_replans`` times already (hardship review
            instead) or is completed.
        """
        old, new = replan(plan, new_id, schedule, agreed_on, max_replans=self.policy.max_replans)
        self.repo.save_plan(old)
        self.repo.save_plan(new)
        return new, CommitmentEvent("PlanReplanned", plan.plan_id, plan.account_id, agreed_on)

    def plan_active_accounts(self, as_of: date) -> frozenset[str]:
        """Accounts with a plan being kept as of ``as_of`` (the strategy's ``plan_active``)."""
        out = set()
        for plan in self.repo.open_plans():
            status = plan_status(
                plan, self.repo.payments(plan.account_id), as_of, self.policy.plan_grace_days
            )
            if status is CommitmentStatus.KEPT:
                out.add(plan.account_id)
        return frozenset(out)


def _with_status(plan: RepaymentPlan, status: CommitmentStatus) -> RepaymentPlan:
    return RepaymentPlan(
        plan.plan_id,
        plan.account_id,
        plan.agreed_on,
        plan.schedule,
        plan.replans,
        status,
        plan.replaces,
    )
