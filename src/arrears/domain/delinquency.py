"""Delinquency arithmetic: payment allocation, days past due (DPD), arrears amount, buckets.

Conventions (the same in the vectorised batch path, :mod:`arrears.pipeline.assess`):

* Payments booked on or before the as-of date count; a payment on the as-of date itself can
  clear arrears on that date.
* Payments go to installments oldest due date first (then by ``seq``); within an installment the
  waterfall orders the components (default: fees, then interest, then principal). Money left
  after every scheduled installment is a credit balance and is not arrears.
* An installment is past due once its due date is *before* the as-of date: on its due date it is
  due but DPD is still 0.
* DPD is the number of calendar days from the due date of the oldest installment that is past
  due and not fully paid to the as-of date. Leap days count as days.
* The arrears amount is the unpaid part of all past-due installments.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from arrears.domain.model import Account, Installment, Payment

COMPONENTS: tuple[str, ...] = ("fees", "interest", "principal")


class DelinquencyError(ValueError):
    """Raised for an invalid bucket scheme, waterfall or schedule."""


@dataclass(frozen=True, slots=True)
class Waterfall:
    """Order in which a payment settles the components of one installment.

    Parameters
    ----------
    order : tuple of str
        A permutation of ``("fees", "interest", "principal")``. Default: fees, interest, principal.

    Raises
    ------
    DelinquencyError
        If ``order`` is not a permutation of the three components.
    """

    order: tuple[str, ...] = COMPONENTS

    def __post_init__(self) -> None:
        if sorted(self.order) != sorted(COMPONENTS) or len(self.order) != 3:
            raise DelinquencyError(
                f"waterfall must order exactly fees, interest, principal; got {self.order}"
            )


DEFAULT_WATERFALL = Waterfall()


@dataclass(frozen=True, slots=True)
class Bucket:
    """A named DPD range, inclusive bounds; ``high`` None means open-ended."""

    name: str
    low: int
    high: int | None


@dataclass(frozen=True, slots=True)
class BucketScheme:
    """Contiguous, non-overlapping DPD buckets starting at 0.

    Raises
    ------
    DelinquencyError
        If buckets leave a gap, overlap, do not start at DPD 0, or the last is not open-ended.
    """

    buckets: tuple[Bucket, ...]

    def __post_init__(self) -> None:
        if not self.buckets:
            raise DelinquencyError("bucket scheme is empty")
        expected = 0
        names: set[str] = set()
        for i, b in enumerate(self.buckets):
            if b.name in names:
                raise DelinquencyError(f"bucket name {b.name!r} repeated")
            names.add(b.name)
            if b.low != expected:
                raise DelinquencyError(
                    f"bucket {b.name!r} starts at {b.low}, expected {expected} (gap or overlap)"
                )
            last = i == len(self.buckets) - 1
            if b.high is None:
                if not last:
                    raise DelinquencyError(f"only the last bucket may be open-ended ({b.name!r})")
                break
            if b.high < b.low:
                raise DelinquencyError(f"bucket {b.name!r} ends before it starts")
            expected = b.high + 1
        if self.buckets[-1].high is not None:
            raise DelinquencyError("the last bucket must be open-ended")

    def bucket_for(self, dpd: int) -> str:
        """Return the bucket name for ``dpd`` (days, >= 0).

        Raises
        ------
        DelinquencyError
            If ``dpd`` is negative.
        """
        if dpd < 0:
            raise DelinquencyError(f"DPD cannot be negative: {dpd}")
        for b in self.buckets:
            if b.high is None or dpd <= b.high:
                return b.name
        raise AssertionError("unreachable: last bucket is open-ended")

    @property
    def names(self) -> tuple[str, ...]:
        """Bucket names in DPD order."""
        return tuple(b.name for b in self.buckets)

    @classmethod
    def from_bounds(cls, spec: Sequence[tuple[str, int, int | None]]) -> BucketScheme:
        """Build a scheme from ``(name, low, high)`` triples."""
        return cls(tuple(Bucket(n, lo, hi) for n, lo, hi in spec))


DEFAULT_BUCKETS = BucketScheme.from_bounds(
    [
        ("current", 0, 0),
        ("M1", 1, 30),
        ("M2", 31, 60),
        ("M3", 61, 90),
        ("M4", 91, 120),
        ("M5", 121, 150),
        ("M6", 151, 180),
        ("M6+", 181, None),
    ]
)


@dataclass(frozen=True, slots=True)
class InstallmentState:
    """How much of one installment is paid, per component, as of a date (minor units)."""

    installment: Installment
    paid: dict[str, int]

    @property
    def unpaid(self) -> int:
        """Unpaid total, minor units."""
        return self.installment.total - sum(self.paid.values())

    def unpaid_component(self, name: str) -> int:
        """Unpaid part of one component, minor units."""
        return self.installment.component(name) - self.paid[name]


def allocate(
    installments: Iterable[Installment],
    payments: Iterable[Payment],
    as_of: date,
    waterfall: Waterfall = DEFAULT_WATERFALL,
) -> tuple[list[InstallmentState], int]:
    """Apply payments booked on or before ``as_of`` to installments, oldest first.

    Returns
    -------
    states : list of InstallmentState
        One per installment, in due order.
    credit : int
        Money paid beyond every scheduled installment (minor units, >= 0).
    """
    ordered = sorted(installments, key=lambda i: (i.due_date, i.seq))
    pot = sum(p.amount for p in payments if p.paid_on <= as_of)
    states: list[InstallmentState] = []
    for inst in ordered:
        paid: dict[str, int] = {}
        for comp in waterfall.order:
            take = min(pot, inst.component(comp))
            paid[comp] = take
            pot -= take
        states.append(InstallmentState(inst, paid))
    return states, pot


@dataclass(frozen=True, slots=True)
class Assessment:
    """Arrears of one account on one date.

    Attributes
    ----------
    dpd : int
        Days past due (>= 0).
    bucket : str
        Bucket name under the scheme used.
    arrears : int
        Unpaid amount of past-due installments, minor units.
    arrears_by_component : dict of str to int
        ``arrears`` split into fees, interest and principal (minor units). Empty when the
        arrears come from a lender-reported figure.
    oldest_unpaid_due : date or None
        Due date of the oldest past-due unpaid installment.
    past_due_installments : int
        How many past-due installments are not fully paid.
    credit : int
        Overpayment held as credit (minor units).
    source : str
        ``"schedule"`` when computed from installments and payments, ``"reported"`` when taken
        from the lender's reported DPD, ``"none"`` when the account has neither.
    """

    dpd: int
    bucket: str
    arrears: int
    arrears_by_component: dict[str, int]
    oldest_unpaid_due: date | None
    past_due_installments: int
    credit: int
    source: str

    @property
    def in_arrears(self) -> bool:
        """True when DPD > 0."""
        return self.dpd > 0


def assess(
    account: Account,
    installments: Iterable[Installment],
    payments: Iterable[Payment],
    as_of: date,
    scheme: BucketScheme = DEFAULT_BUCKETS,
    waterfall: Waterfall = DEFAULT_WATERFALL,
) -> Assessment:
    """Assess one account's arrears as of ``as_of``.

    Accounts with an installment schedule are assessed from it; accounts without one use the
    lender-reported ``reported_dpd`` and ``reported_past_due`` when present.

    Raises
    ------
    DelinquencyError
        If an installment or payment belongs to another account.
    """
    insts = list(installments)
    pays = list(payments)
    foreign = [i.account_id for i in insts if i.account_id != account.account_id] + [
        p.account_id for p in pays if p.account_id != account.account_id
    ]
    if foreign:
        raise DelinquencyError(
            f"installment or payment of account {foreign[0]} given for account {account.account_id}"
        )
    if not insts:
        if account.reported_dpd is not None:
            dpd = account.reported_dpd
            return Assessment(
                dpd=dpd,
                bucket=scheme.bucket_for(dpd),
                arrears=account.reported_past_due or 0,
                arrears_by_component={},
                oldest_unpaid_due=None,
                past_due_installments=0,
                credit=0,
                source="reported",
            )
        return Assessment(0, scheme.bucket_for(0), 0, {}, None, 0, 0, "none")
    states, credit = allocate(insts, pays, as_of, waterfall)
    past_due = [s for s in states if s.installment.due_date < as_of and s.unpaid > 0]
    oldest = past_due[0].installment.due_date if past_due else None
    dpd = (as_of - oldest).days if oldest else 0
    by_comp = {c: sum(s.unpaid_component(c) for s in past_due) for c in COMPONENTS}
    return Assessment(
        dpd=dpd,
        bucket=scheme.bucket_for(dpd),
        arrears=sum(by_comp.values()),
        arrears_by_component=by_comp,
        oldest_unpaid_due=oldest,
        past_due_installments=len(past_due),
        credit=credit,
        source="schedule",
    )


def add_months(anchor: date, months: int) -> date:
    """Return the date ``months`` calendar months after ``anchor``, kept on the anchor's day.

    When the target month is shorter, the date falls on that month's last day (31 Jan + 1 month
    is 28 or 29 Feb; 29 Feb + 12 months is 28 Feb), and later months return to the anchor day.
    """
    total = anchor.month - 1 + months
    year, month = anchor.year + total // 12, total % 12 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def monthly_due_dates(first_due: date, count: int) -> list[date]:
    """Due dates of ``count`` monthly installments anchored on ``first_due``'s day of month."""
    if count < 1:
        raise DelinquencyError(f"an installment plan needs at least one installment, got {count}")
    return [add_months(first_due, k) for k in range(count)]
