"""Use case: track promises to pay and repayment plans (kept, broken, re-planned).

The service reads open commitments and the account's payments through a
:class:`CommitmentRepository` port, evaluates them with the pure rules of
:mod:`arrears.domain.plans` (grace periods from the strategy's
:class:`~arrears.domain.plans.OfferPolicy`), writes back the new statuses and returns the events
that happened. It never commits: the caller's unit of work does. The accounts whose plan is
being kept (:meth:`CommitmentTracker.plan_active_accounts`) feed the daily run's
``plan_active`` flag, so a kept plan is never escalated, and those with a pending promise its
``promise_pending`` flag, so a promise is not chased before it falls due.

Every change (a promise made, a plan agreed, kept, broken, completed, re-planned) is written to
the repository's history with its business date (:meth:`CommitmentRepository.record_events`).
A review writes its changes in three batched calls, whatever the number of commitments.
The ledger implementation is :class:`arrears.adapters.db.commitments.SqlCommitmentRepository`
(docs/commitments.md); the unit tests use an in-memory fake.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple, Protocol

from arrears.domain.compliance.packs import CHANNELS
from arrears.domain.money import format_minor
from arrears.domain.plans import (
    CommitmentStatus,
    OfferPolicy,
    PlanError,
    PromiseToPay,
    RepaymentPlan,
    ScheduledPayment,
    plan_status,
    promise_status,
    replan,
)

#: Channels a promise to pay may be taken on: the contact channels, and ``web`` (the
#: borrower's own self-service page).
PROMISE_CHANNELS: tuple[str, ...] = (*CHANNELS, "web")

#: One history row: ``(event name, commitment id, account id, business date, status after)``.
HistoryRow = tuple[str, str, str, date, CommitmentStatus]

#: Status of a commitment after each event.
EVENT_STATUS: dict[str, CommitmentStatus] = {
    "PromiseMade": CommitmentStatus.PENDING,
    "PromiseKept": CommitmentStatus.KEPT,
    "PromiseBroken": CommitmentStatus.BROKEN,
    "PlanAgreed": CommitmentStatus.KEPT,
    "PlanKept": CommitmentStatus.KEPT,
    "PlanBroken": CommitmentStatus.BROKEN,
    "PlanCompleted": CommitmentStatus.COMPLETED,
    "PlanReplanned": CommitmentStatus.REPLANNED,
}


class CommitmentRepository(Protocol):
    """Port: promises, plans, payments per account, status updates and their history."""

    def account(self, account_id: str) -> tuple[str, int | None] | None:
        """``(currency, balance_minor or None)`` of the account, or None if unknown."""
        ...

    def open_promises(
        self, account_id: str | None = None
    ) -> Sequence[tuple[PromiseToPay, CommitmentStatus]]:
        """Promises not yet kept or broken (of one account, or all), with their status."""
        ...

    def open_plans(self, account_id: str | None = None) -> Sequence[RepaymentPlan]:
        """Plans that are neither completed, broken nor re-planned (of one account, or all)."""
        ...

    def get_plan(self, plan_id: str) -> RepaymentPlan | None:
        """One plan, whatever its status, or None."""
        ...

    def payments(self, account_id: str) -> Sequence[tuple[date, int]]:
        """``(paid_on, amount_minor)`` of the account."""
        ...

    def add_promise(self, promise: PromiseToPay, channel: str | None) -> None:
        """Insert a new promise, status pending."""
        ...

    def add_plan(self, plan: RepaymentPlan) -> None:
        """Insert a new plan with its schedule (a stored schedule is never rewritten)."""
        ...

    def set_promise_statuses(self, changes: Sequence[tuple[str, CommitmentStatus]]) -> None:
        """Store promises' new statuses: ``(promise_id, status)`` of existing promises."""
        ...

    def set_plan_statuses(self, changes: Sequence[tuple[str, CommitmentStatus]]) -> None:
        """Store plans' new statuses: ``(plan_id, status)`` of existing plans."""
        ...

    def record_events(self, events: Sequence[HistoryRow]) -> None:
        """Append events to the history, in order."""
        ...


@dataclass(frozen=True)
class CommitmentEvent:
    """Something that happened to a commitment, in the past tense (``PromiseKept``,
    ``PromiseBroken``, ``PlanBroken``, ``PlanCompleted``, ``PlanReplanned``)."""

    name: str
    commitment_id: str
    account_id: str
    on: date


class DayReview(NamedTuple):
    """What :meth:`CommitmentTracker.review_day` found."""

    events: list[CommitmentEvent]
    plan_active: frozenset[str]
    promise_pending: frozenset[str]


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
        """Evaluate every open promise and plan as of ``as_of``; store and return changes.

        Same as ``review_day(as_of).events``.
        """
        return self.review_day(as_of).events

    def review_day(self, as_of: date) -> DayReview:
        """Review as of ``as_of`` (see below) and return the changes, the accounts whose plan
        is being kept after it (:meth:`plan_active_accounts`, in the same pass) and those with
        a promise made on or before ``as_of`` that is still pending (the strategy's
        ``promise_pending``: not paid in full, and ``as_of`` not past its due date and grace).

        A promise is kept or broken, a plan broken or completed, as
        :func:`~arrears.domain.plans.promise_status` and
        :func:`~arrears.domain.plans.plan_status` decide with the policy's grace periods.
        Each change is recorded in the history with ``as_of`` as its date. Reviewing the same
        date twice changes nothing the second time.
        """
        events: list[CommitmentEvent] = []
        kept: set[str] = set()
        pending: set[str] = set()
        promise_changes: list[tuple[str, CommitmentStatus]] = []
        plan_changes: list[tuple[str, CommitmentStatus]] = []
        for promise, old in self.repo.open_promises():
            new = promise_status(
                promise,
                self.repo.payments(promise.account_id),
                as_of,
                self.policy.promise_grace_days,
            )
            if new is CommitmentStatus.PENDING and promise.made_on <= as_of:
                pending.add(promise.account_id)
            if new is not old:
                promise_changes.append((promise.promise_id, new))
                name = {
                    CommitmentStatus.KEPT: "PromiseKept",
                    CommitmentStatus.BROKEN: "PromiseBroken",
                }.get(new)
                if name:
                    events.append(
                        CommitmentEvent(name, promise.promise_id, promise.account_id, as_of)
                    )
        for plan in self.repo.open_plans():
            new = plan_status(
                plan, self.repo.payments(plan.account_id), as_of, self.policy.plan_grace_days
            )
            if new is CommitmentStatus.KEPT:
                kept.add(plan.account_id)
            if new is plan.status:
                continue
            plan_changes.append((plan.plan_id, new))
            name = {
                CommitmentStatus.BROKEN: "PlanBroken",
                CommitmentStatus.COMPLETED: "PlanCompleted",
                CommitmentStatus.KEPT: "PlanKept",
            }.get(new)
            if name:
                events.append(CommitmentEvent(name, plan.plan_id, plan.account_id, as_of))
        if promise_changes:
            self.repo.set_promise_statuses(promise_changes)
        if plan_changes:
            self.repo.set_plan_statuses(plan_changes)
        self._record(events)
        return DayReview(events, frozenset(kept), frozenset(pending))

    def record_promise(self, promise: PromiseToPay, channel: str | None = None) -> CommitmentEvent:
        """Store a new promise to pay (status pending) and its ``PromiseMade`` event.

        Raises
        ------
        LookupError
            If the account is unknown.
        arrears.domain.plans.PlanError
            If ``channel`` is not one of :data:`PROMISE_CHANNELS`, the amount is above the
            account's balance, it is due more than ``policy.promise_max_days`` after it was
            made, or the account already has a pending promise (one promise at a
            time: it must be kept or broken first, so that one payment never keeps two).
        """
        if channel is not None and channel not in PROMISE_CHANNELS:
            raise PlanError(
                f"channel must be one of {', '.join(PROMISE_CHANNELS)}, got {channel!r}"
            )
        self._check_account(promise.account_id, promise.amount_minor, "promise")
        days = (promise.due_on - promise.made_on).days
        if days > self.policy.promise_max_days:
            raise PlanError(
                f"promise on account {promise.account_id} is due {days} days after it was made; "
                f"at most {self.policy.promise_max_days} (strategy offers.promise_max_days): "
                "a promise holds the account from collection, a longer one is a repayment plan "
                "(arrears plan add)"
            )
        pending = self.repo.open_promises(promise.account_id)
        if pending:
            other = pending[0][0]
            raise PlanError(
                f"account {promise.account_id} already has a pending promise "
                f"{other.promise_id} due {other.due_on.isoformat()}: one promise at a time"
            )
        self.repo.add_promise(promise, channel)
        event = CommitmentEvent(
            "PromiseMade", promise.promise_id, promise.account_id, promise.made_on
        )
        self._record([event])
        return event

    def record_plan(self, plan: RepaymentPlan) -> CommitmentEvent:
        """Store a newly agreed plan and its ``PlanAgreed`` event.

        Raises
        ------
        LookupError
            If the account is unknown.
        arrears.domain.plans.PlanError
            If the schedule does not add up (:func:`check_schedule`), its total is above the
            account's balance, or the account already has an active plan (re-plan it instead).
        """
        if plan.status is not CommitmentStatus.KEPT or plan.replans or plan.replaces:
            raise PlanError(f"plan {plan.plan_id}: a new plan starts kept, not re-planned")
        check_schedule(plan.schedule, plan.agreed_on)
        total = sum(p.amount_minor for p in plan.schedule)
        self._check_account(plan.account_id, total, "plan")
        active = self.repo.open_plans(plan.account_id)
        if active:
            raise PlanError(
                f"account {plan.account_id} already has an active plan {active[0].plan_id}: "
                "re-plan it instead"
            )
        self.repo.add_plan(plan)
        event = CommitmentEvent("PlanAgreed", plan.plan_id, plan.account_id, plan.agreed_on)
        self._record([event])
        return event

    def replan(
        self,
        plan: RepaymentPlan,
        new_id: str,
        schedule: tuple[ScheduledPayment, ...],
        agreed_on: date,
    ) -> tuple[RepaymentPlan, CommitmentEvent]:
        """Replace ``plan`` by a new plan with ``schedule``.

        Records ``PlanReplanned`` for the old plan and ``PlanAgreed`` for the new one, both on
        ``agreed_on``; returns the new plan and the ``PlanReplanned`` event.

        Raises
        ------
        arrears.domain.plans.PlanError
            When the plan was re-planned ``max_replans`` times already (hardship review
            instead), is completed or already re-planned, or the new schedule does not add up.
        """
        if plan.status is CommitmentStatus.REPLANNED:
            raise PlanError(f"plan {plan.plan_id} was already re-planned")
        check_schedule(schedule, agreed_on)
        self._check_account(plan.account_id, sum(p.amount_minor for p in schedule), "plan")
        old, new = replan(plan, new_id, schedule, agreed_on, max_replans=self.policy.max_replans)
        self.repo.set_plan_statuses([(old.plan_id, old.status)])
        self.repo.add_plan(new)
        event = CommitmentEvent("PlanReplanned", plan.plan_id, plan.account_id, agreed_on)
        self._record([event, CommitmentEvent("PlanAgreed", new.plan_id, new.account_id, agreed_on)])
        return new, event

    def _check_account(self, account_id: str, amount_minor: int, what: str) -> None:
        found = self.repo.account(account_id)
        if found is None:
            raise LookupError(f"no account {account_id!r} in the ledger")
        currency, balance = found
        if balance is not None and amount_minor > balance:
            raise PlanError(
                f"{what} of {format_minor(amount_minor, currency)} {currency} is more than the "
                f"account's balance ({format_minor(balance, currency)} {currency}): a {what} "
                "never asks for more than is owed"
            )

    def _record(self, events: Sequence[CommitmentEvent]) -> None:
        if events:
            self.repo.record_events(
                [
                    (e.name, e.commitment_id, e.account_id, e.on, EVENT_STATUS[e.name])
                    for e in events
                ]
            )

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


def check_schedule(schedule: Sequence[ScheduledPayment], agreed_on: date) -> None:
    """Check that a plan's schedule adds up.

    Installments are numbered 1..n, due on or after ``agreed_on`` in strictly increasing
    order, each amount > 0 and exactly ``principal + interest + fees`` (minor units, parts
    >= 0).

    Raises
    ------
    arrears.domain.plans.PlanError
        Naming the first installment that breaks a rule.
    """
    if not schedule:
        raise PlanError("a plan needs at least one installment")
    previous: date | None = None
    for k, p in enumerate(schedule, start=1):
        if p.seq != k:
            raise PlanError(f"installment {k} is numbered {p.seq}")
        if p.due_on < agreed_on:
            raise PlanError(
                f"installment {k} is due {p.due_on.isoformat()}, before the plan was agreed "
                f"({agreed_on.isoformat()})"
            )
        if previous is not None and p.due_on <= previous:
            raise PlanError(f"installment {k} is not due after installment {k - 1}")
        if p.amount_minor <= 0 or min(p.principal_minor, p.interest_minor, p.fees_minor) < 0:
            raise PlanError(f"installment {k}: amounts must be > 0 (parts >= 0)")
        if p.amount_minor != p.principal_minor + p.interest_minor + p.fees_minor:
            raise PlanError(
                f"installment {k}: amount {p.amount_minor} is not principal + interest + fees "
                f"({p.principal_minor} + {p.interest_minor} + {p.fees_minor})"
            )
        previous = p.due_on
