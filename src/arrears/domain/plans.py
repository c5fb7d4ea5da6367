"""Repayment plans, forbearance, legal limits on the debt, promises to pay (pure, stdlib only).

Conventions
-----------
* Amounts are integer minor units of one currency; rates are :class:`~decimal.Decimal` fractions
  (``Decimal("0.24")`` is 24 % a year). Nothing here uses floats.
* Installment schedules are monthly. The periodic rate is the nominal annual rate / 12. The
  regular installment is the level (annuity) payment **rounded down** to the minor unit
  (``amount // n`` for an interest-free plan); each period's interest is the outstanding
  balance x periodic rate rounded **half to even**; the **last installment absorbs the
  remainder**, so the schedule repays the amount exactly and the last installment is the
  largest (by less than ``n`` minor units for an interest-free plan). Affordability is
  checked against the largest installment.
* APR and IRR are not computed here: :func:`Offer.cash_flows` gives the flows and
  :mod:`arrears.pipeline.offers` computes the APR with numpy-financial (``irr`` x 12, the
  nominal annual rate of the monthly internal rate of return).
* Legal caps (:class:`RateCap`) follow the PRC Supreme People's Court provisions on private
  lending (2020 revision, art. 25: interest above four times the one-year Loan Prime Rate at the
  contract's conclusion is not protected) and the 24 % a year ceiling that PRC regulators set for
  licensed consumer-credit products. The cap compares the interest and fees charged with
  ``principal x annual cap x days / 365``; the allowance is rounded down (in the borrower's
  favour) and whatever is charged above it is excluded from what arrears asks.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    getcontext,
    localcontext,
)
from enum import StrEnum
from functools import lru_cache

MIN_INSTALLMENTS = 2
MAX_INSTALLMENTS = 24
MAX_TERM_INSTALLMENTS = 120


class PlanError(ValueError):
    """Raised for an offer that cannot be built as asked (bad bounds, too small an amount...)."""


class FeeNotAllowed(PlanError):
    """Raised when an offer would charge a fee the contract and the rule pack do not allow."""


class OfferType(StrEnum):
    """Kinds of offer a treatment path may make."""

    INSTALLMENT_PLAN = "installment_plan"
    SETTLEMENT = "settlement"
    PAYMENT_HOLIDAY = "payment_holiday"
    TERM_EXTENSION = "term_extension"
    WAIVER = "fee_interest_waiver"


@dataclass(frozen=True, slots=True)
class Affordability:
    """Monthly amount a borrower can sustainably pay, low and high estimate (minor units).

    Raises
    ------
    PlanError
        If an estimate is negative or ``low > high``.
    """

    low_minor: int
    high_minor: int

    def __post_init__(self) -> None:
        if self.low_minor < 0 or self.high_minor < self.low_minor:
            raise PlanError(
                f"affordability needs 0 <= low <= high, got {self.low_minor}..{self.high_minor}"
            )


@dataclass(frozen=True, slots=True)
class ScheduledPayment:
    """One installment of a schedule: ``amount = principal + interest + fees`` (minor units)."""

    seq: int
    due_on: date
    amount_minor: int
    principal_minor: int
    interest_minor: int
    fees_minor: int = 0


@dataclass(frozen=True, slots=True)
class Offer:
    """An offer to a borrower and its exact schedule.

    Attributes
    ----------
    offer_type : OfferType
    amount_owed_minor : int
        The debt the offer deals with (after any amount excluded by a legal cap).
    financed_minor : int
        What the schedule repays before its own interest and fees: the amount owed less any
        settlement discount or waiver.
    schedule : tuple of ScheduledPayment
        Empty for a payment holiday without a follow-on plan.
    start_on : date
        The day the offer starts (cash-flow time zero for the APR).
    discount_minor, waived_minor : int
        Settlement discount; interest and fees waived.
    holiday_months : int
        Months without payment before the schedule (payment holiday or deferral).
    note : str
        Plain-words summary for the agent and the borrower.
    """

    offer_type: OfferType
    amount_owed_minor: int
    financed_minor: int
    schedule: tuple[ScheduledPayment, ...]
    start_on: date
    discount_minor: int = 0
    waived_minor: int = 0
    holiday_months: int = 0
    note: str = ""

    @property
    def installments(self) -> int:
        """Number of payments in the schedule."""
        return len(self.schedule)

    @property
    def installment_minor(self) -> int:
        """The regular (first) installment, 0 without a schedule."""
        return self.schedule[0].amount_minor if self.schedule else 0

    @property
    def max_installment_minor(self) -> int:
        """The largest installment (what affordability is checked against)."""
        return max((p.amount_minor for p in self.schedule), default=0)

    @property
    def total_paid_minor(self) -> int:
        """Everything the borrower pays under the offer."""
        return sum(p.amount_minor for p in self.schedule)

    @property
    def cost_of_credit_minor(self) -> int:
        """Interest and fees the offer itself charges: total paid less the amount financed."""
        return self.total_paid_minor - self.financed_minor if self.schedule else 0

    def cash_flows(self) -> list[tuple[int, int]]:
        """``(month index, minor units)`` flows from the borrower's side: ``(0, +financed)`` then
        ``(k, -installment)`` for each installment, ``k`` months after ``start_on``."""
        flows = [(0, self.financed_minor)]
        for p in self.schedule:
            months = (
                (p.due_on.year - self.start_on.year) * 12 + p.due_on.month - self.start_on.month
            )
            flows.append((months, -p.amount_minor))
        return flows


@dataclass(frozen=True, slots=True)
class OfferTerms:
    """An offer's figures without its schedule rows (what the daily run writes to offers.csv).

    Every installment but the last equals the first (the offers of the daily run carry no
    fees), so the first and last installments, their count and the first due date give the
    whole schedule: the same figures as the :class:`Offer` (``OfferTerms.of(offer)``), which
    the ``*_terms`` functions compute without building it.

    Attributes
    ----------
    offer_type : OfferType
    amount_owed_minor, financed_minor : int
        As in :class:`Offer`.
    installments : int
        Number of payments (0 for a payment holiday).
    installment_minor, last_installment_minor : int
        The first (regular) and the last installment (0 without a schedule).
    start_on : date
    first_due : date or None
        Due date of installment 1 (None without a schedule); installment ``k`` falls due
        ``k - 1`` months later, as in :func:`installment_schedule`.
    discount_minor, waived_minor, holiday_months, note
        As in :class:`Offer`.
    """

    offer_type: OfferType
    amount_owed_minor: int
    financed_minor: int
    installments: int
    installment_minor: int
    last_installment_minor: int
    start_on: date
    first_due: date | None
    discount_minor: int = 0
    waived_minor: int = 0
    holiday_months: int = 0
    note: str = ""

    @classmethod
    def of(cls, offer: Offer) -> OfferTerms:
        """The terms of a built offer.

        Raises
        ------
        PlanError
            If an installment other than the last differs from the first (a fee on
            installment 1): such a schedule has no terms.
        """
        s = offer.schedule
        if any(p.amount_minor != s[0].amount_minor for p in s[1:-1]):
            raise PlanError("the schedule is not level: its terms cannot describe it")
        return cls(
            offer.offer_type,
            offer.amount_owed_minor,
            offer.financed_minor,
            len(s),
            s[0].amount_minor if s else 0,
            s[-1].amount_minor if s else 0,
            offer.start_on,
            s[0].due_on if s else None,
            offer.discount_minor,
            offer.waived_minor,
            offer.holiday_months,
            offer.note,
        )

    @property
    def max_installment_minor(self) -> int:
        """The largest installment (what affordability is checked against)."""
        return max(self.installment_minor, self.last_installment_minor)

    @property
    def total_paid_minor(self) -> int:
        """Everything the borrower pays under the offer."""
        if not self.installments:
            return 0
        return self.installment_minor * (self.installments - 1) + self.last_installment_minor

    @property
    def cost_of_credit_minor(self) -> int:
        """Interest and fees the offer itself charges: total paid less the amount financed."""
        return self.total_paid_minor - self.financed_minor if self.installments else 0

    def cash_flows(self) -> list[tuple[int, int]]:
        """The flows of :meth:`Offer.cash_flows`: ``(0, +financed)`` then ``(k, -installment)``."""
        flows = [(0, self.financed_minor)]
        if self.first_due is None or not self.installments:
            return flows
        m = (self.first_due.year - self.start_on.year) * 12
        m += self.first_due.month - self.start_on.month
        flows.extend((m + k, -self.installment_minor) for k in range(self.installments - 1))
        flows.append((m + self.installments - 1, -self.last_installment_minor))
        return flows


def add_months(anchor: date, months: int) -> date:
    """``anchor`` plus calendar months, the day clamped to the month's end (31 Jan + 1 = 28 Feb)."""
    total = anchor.month - 1 + months
    year, month = anchor.year + total // 12, total % 12 + 1
    return date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


def check_fees(fees: Mapping[str, int], allowed: Collection[str]) -> None:
    """Refuse any fee the contract or the rule pack does not allow.

    Raises
    ------
    FeeNotAllowed
        Naming the first fee not in ``allowed`` (or negative).
    """
    for name, amount in fees.items():
        if amount < 0:
            raise FeeNotAllowed(f"fee {name!r} is negative ({amount})")
        if amount and name not in allowed:
            raise FeeNotAllowed(
                f"fee {name!r} is not allowed by the contract or the rule pack "
                f"(allowed: {sorted(allowed) or 'none'})"
            )


def installment_schedule(
    amount_minor: int,
    n: int,
    first_due: date,
    annual_rate: Decimal = Decimal(0),
    *,
    fees: Mapping[str, int] | None = None,
    allowed_fees: Collection[str] = (),
    max_installments: int = MAX_INSTALLMENTS,
) -> tuple[ScheduledPayment, ...]:
    """An exact monthly schedule repaying ``amount_minor`` in ``n`` installments.

    Parameters
    ----------
    amount_minor : int
        Amount to repay, > 0.
    n : int
        Number of installments, ``2 <= n <= max_installments``.
    first_due : date
        Due date of installment 1; the others fall on the same day of later months.
    annual_rate : Decimal
        Nominal annual interest rate of the plan (0 for an interest-free plan).
    fees : mapping of str to int, optional
        One-off fees added to installment 1 (each must be in ``allowed_fees``).

    Returns
    -------
    tuple of ScheduledPayment
        ``n`` rows; regular installment rounded down, interest half to even, the last absorbs
        the remainder. The principal parts add up to ``amount_minor`` exactly.

    Raises
    ------
    PlanError
        If ``n`` is out of range, the amount is too small for ``n`` installments or the rate
        is negative.
    FeeNotAllowed
        If a fee is not allowed.
    """
    fees = dict(fees or {})
    check_fees(fees, allowed_fees)
    if not MIN_INSTALLMENTS <= n <= max_installments:
        raise PlanError(f"installments must be {MIN_INSTALLMENTS}..{max_installments}, got {n}")
    if amount_minor <= 0:
        raise PlanError(f"amount to repay must be > 0, got {amount_minor}")
    if annual_rate < 0:
        raise PlanError(f"annual rate must be >= 0, got {annual_rate}")
    r = annual_rate / 12
    if r == 0:
        regular = amount_minor // n
    else:
        with localcontext() as ctx:
            ctx.prec = 40
            annuity = Decimal(amount_minor) * r / (1 - (1 + r) ** -n)
        regular = int(annuity.to_integral_value(rounding=ROUND_DOWN))
    if regular < 1:
        raise PlanError(f"{amount_minor} minor units cannot be split into {n} installments")
    fee_total = sum(fees.values())
    balance = amount_minor
    rows: list[ScheduledPayment] = []
    for k in range(1, n + 1):
        interest = int((Decimal(balance) * r).to_integral_value(rounding=ROUND_HALF_EVEN))
        principal = balance if k == n else regular - interest
        if principal <= 0:
            raise PlanError(f"installment {k} would not repay any principal")
        fee = fee_total if k == 1 else 0
        rows.append(
            ScheduledPayment(
                k,
                add_months(first_due, k - 1),
                principal + interest + fee,
                principal,
                interest,
                fee,
            )
        )
        balance -= principal
    return tuple(rows)


_TEN_19 = 10**19
_TEN_40 = 10**40


class _RateArithmetic:
    """The arithmetic of :func:`installment_schedule` for one annual rate, prepared once.

    The plan search and the schedule-free offer figures (:class:`OfferTerms`) call it many
    times. It gives exactly the numbers of the schedule (same Decimal operations in the same
    contexts), only faster:

    * the annuity denominator ``1 - (1 + r) ** -n`` (40 digits) is computed once per ``n``;
    * ``Decimal(balance) * r`` rounded half to even is done in integers when the product is
      exact in the current context (``r``'s coefficient times the balance has at most ``prec``
      digits), which is what Decimal would compute; otherwise with Decimal itself.

    Build it with :func:`_rate_arithmetic` (cached per rate and decimal context).
    """

    __slots__ = (
        "_coef",
        "_ctx40",
        "_denoms",
        "_drifts",
        "_limit",
        "_scale",
        "_scale_exponent",
        "r",
    )

    def __init__(self, annual_rate: Decimal) -> None:
        self.r = annual_rate / 12  # the current context, as installment_schedule does
        self._ctx40 = getcontext().copy()  # what localcontext() + prec = 40 gives
        self._ctx40.prec = 40
        self._denoms: dict[int, tuple[Decimal, int, int]] = {}
        self._drifts: dict[int, tuple[int, int]] = {}
        sign, digits, exponent = self.r.as_tuple()
        self._coef = 0  # r = coef / scale = coef x 10^scale_exponent, when 0 < r < 1
        self._scale = 1
        self._scale_exponent = 0
        self._limit = 10 ** getcontext().prec
        if self.r > 0 and isinstance(exponent, int) and exponent < 0 and not sign:
            self._coef = int("".join(map(str, digits)))
            self._scale = 10**-exponent
            self._scale_exponent = exponent

    def interest(self, balance: int) -> int:
        """``int((Decimal(balance) * r).to_integral_value(ROUND_HALF_EVEN))``."""
        p = balance * self._coef
        if self._coef and 0 <= p < self._limit:
            q, rem = divmod(p, self._scale)
            twice = 2 * rem
            if twice > self._scale or (twice == self._scale and q & 1):
                q += 1
            return q
        return int((Decimal(balance) * self.r).to_integral_value(rounding=ROUND_HALF_EVEN))

    def regular(self, amount_minor: int, n: int) -> int:
        """The level installment rounded down (``amount // n`` interest-free).

        ``amount x r / (1 - (1 + r)^-n)`` at 40 digits, rounded down. With the denominator
        ``d`` (40 digits, once per ``n``) the quotient ``Q = amount x r / d`` is a ratio of
        integers: its floor ``k`` is the answer unless the 40-digit division could round Q up
        to ``k + 1``. That needs ``k + 1 - Q`` within a unit of the 40th digit, at most
        ``10^-20`` when ``k < 10^19``; so with ``k < 10^19`` and a gap above ``10^-19`` the
        integers decide, and Decimal does the rest (and any product ``amount x r`` longer
        than 40 digits).
        """
        if self.r == 0:
            return amount_minor // n
        ctx = self._ctx40
        got = self._denoms.get(n)
        if got is None:
            denom = ctx.subtract(1, ctx.power(ctx.add(1, self.r), -n))
            _, digits, exponent = denom.as_tuple()
            shift = self._scale_exponent - int(exponent)  # Q = x * 10^shift / coefficient
            coefficient = int("".join(map(str, digits)))
            got = (denom, 10**shift if shift > 0 else 1, coefficient * 10 ** max(-shift, 0))
            self._denoms[n] = got
        denom, mult, den = got
        x = amount_minor * self._coef
        if 0 < x < _TEN_40:
            k, rem = divmod(x * mult, den)
            # k + 1 - Q = (den - rem) / den; for k + 1 <= 10^19 a unit of the 40th digit is
            # at most 10^-20, so a gap above 10^-19 cannot be rounded away
            if rem == 0 or (k < _TEN_19 and (den - rem) * _TEN_19 > den):
                return k
        annuity = ctx.divide(ctx.multiply(Decimal(amount_minor), self.r), denom)
        return int(annuity.to_integral_value(rounding=ROUND_DOWN))

    def surely_fits(self, amount_minor: int, n: int, regular: int, target: int) -> bool:
        """True only if the schedule of ``n`` installments exists and none exceeds ``target``.

        A bound instead of the schedule (False means "undecided", not "does not fit"). With
        ``A`` the exact level payment and ``b_k`` the exact balances (``b_{n-1} (1 + r) = A``),
        the schedule's balances ``B_k`` drift by ``e_{k+1} = e_k (1 + r) + d_k + (A -
        regular)``, ``|d_k| <= 1/2`` (interest rounding) and ``0 <= A - regular < 1``, so
        ``|e_{n-1}| (1 + r) <= 1.5 (n - 1) (1 + r)^(n-1)`` and the last installment
        ``B_{n-1} + I_{n-1} <= A + |e_{n-1}| (1 + r) + 1/2 < regular + drift`` with
        ``drift = ceil(1.6 n (1 + r)^n) + 2``. The schedule exists when installment 1 repays
        principal (then the balance falls and the interest with it, so every later one does)
        and the last balance stays positive (``A / (1 + r) > drift``).
        """
        bounds = self._drifts.get(n)
        if bounds is None:
            up = Context(prec=12, rounding=ROUND_CEILING)  # every step rounded up: bounds
            growth = up.power(up.add(1, self.r), n)
            raw = up.multiply(up.multiply(Decimal("1.6"), n), growth)
            whole = int(raw.to_integral_value(ROUND_CEILING)) + 2
            least = up.multiply(whole + 1, growth)  # (1 + r)^n >= 1 + r: room to spare
            bounds = (whole, int(least.to_integral_value(ROUND_CEILING)) + 1)
            self._drifts[n] = bounds
        drift, least_regular = bounds
        return (
            regular + drift <= target
            and regular > least_regular
            and regular - self.interest(amount_minor) >= 1
        )

    def terms(self, amount_minor: int, n: int) -> tuple[int, int] | None:
        """``(regular, last)`` installments of the schedule, None where it raises PlanError.

        Every installment but the last equals ``regular`` (no fees); the principal parts add
        up to ``amount_minor``.
        """
        if amount_minor <= 0 or self.r < 0:
            return None
        regular = self.regular(amount_minor, n)
        if regular < 1:
            return None
        if self.r == 0:
            return regular, amount_minor - regular * (n - 1)
        balance = amount_minor
        for _ in range(n - 1):
            principal = regular - self.interest(balance)
            if principal <= 0:
                return None
            balance -= principal
            if balance <= 0:  # the last installment would repay nothing
                return None
        return regular, balance + self.interest(balance)


@lru_cache(maxsize=64)
def _cached_rate_arithmetic(
    annual_rate: Decimal, _prec: int, _rounding: str | None
) -> _RateArithmetic:
    return _RateArithmetic(annual_rate)


def _rate_arithmetic(annual_rate: Decimal) -> _RateArithmetic:
    ctx = getcontext()
    return _cached_rate_arithmetic(annual_rate, ctx.prec, ctx.rounding)


def _largest_amount(amount_minor: int, n: int, annual_rate: Decimal) -> int | None:
    """Largest installment of :func:`installment_schedule` without building it (None: no plan).

    Same arithmetic as the schedule (regular rounded down, interest half to even, the last
    absorbs the remainder) but no dates or objects: the plan search calls it many times.
    """
    if annual_rate < 0:
        return None
    got = _rate_arithmetic(annual_rate).terms(amount_minor, n)
    return None if got is None else max(got)


def _plan_length(
    amount_minor: int,
    affordability: Affordability,
    rate: _RateArithmetic,
    lo: int,
    hi: int,
) -> tuple[int, str] | None:
    """``(installments, "low" | "high")`` of the plan :func:`affordable_plan` makes, or None.

    For the low then the high estimate: the fewest installments in ``lo..hi`` whose largest
    installment is within it, found by bisection over ``n`` (the number of installments the
    bisection settles on is the plan, exactly as it always was). Each ``n`` is worked out at
    most once for both estimates; ``n`` whose regular installment already exceeds the estimate
    (the largest is never smaller) is rejected without its schedule.
    """
    targets = ((affordability.low_minor, "low"), (affordability.high_minor, "high"))
    if rate.r == 0:
        # interest-free: the largest installment is the last, amount - (amount // n) * (n - 1)
        amount = amount_minor
        for target, label in targets:
            q = amount // hi
            if q < 1 or amount - q * (hi - 1) > target:
                continue
            a, b = lo, hi  # invariant: b fits
            while a < b:
                mid = (a + b) // 2
                q = amount // mid
                if q >= 1 and amount - q * (mid - 1) <= target:
                    b = mid
                else:
                    a = mid + 1
            return b, label
        return None

    regulars: dict[int, int] = {}
    largest: dict[int, int | None] = {}

    def fits(n: int, target: int) -> bool:
        reg = regulars.get(n)
        if reg is None:
            reg = regulars[n] = rate.regular(amount_minor, n)
        if reg < 1 or reg > target:
            return False
        if rate.surely_fits(amount_minor, n, reg, target):
            return True
        if n not in largest:
            got = rate.terms(amount_minor, n)
            largest[n] = None if got is None else max(got)
        top = largest[n]
        return top is not None and top <= target

    for target, label in targets:
        if not fits(hi, target):
            continue
        a, b = lo, hi  # invariant: b fits
        while a < b:
            mid = (a + b) // 2
            if fits(mid, target):
                b = mid
            else:
                a = mid + 1
        return b, label
    return None


def _check_plan_bounds(min_installments: int, max_installments: int) -> None:
    if not MIN_INSTALLMENTS <= min_installments <= max_installments <= MAX_INSTALLMENTS:
        raise PlanError(
            f"installment bounds must satisfy {MIN_INSTALLMENTS} <= min <= max <= "
            f"{MAX_INSTALLMENTS}, got {min_installments}..{max_installments}"
        )


def _plan_note(n: int, label: str) -> str:
    return f"{n} monthly installments within the {label} affordability estimate"


def affordable_plan(
    amount_minor: int,
    affordability: Affordability,
    start_on: date,
    annual_rate: Decimal = Decimal(0),
    *,
    min_installments: int = MIN_INSTALLMENTS,
    max_installments: int = MAX_INSTALLMENTS,
) -> Offer | None:
    """The shortest installment plan the borrower can afford, or None.

    The plan aims at the **low** affordability estimate; if no plan of ``min..max``
    installments fits it, at the high estimate; if none fits that either, there is no
    affordable plan (refer to a hardship review). Installment 1 is due one month after
    ``start_on``.

    Raises
    ------
    PlanError
        If the installment bounds are outside 2..24.
    """
    _check_plan_bounds(min_installments, max_installments)
    if amount_minor <= 0 or annual_rate < 0:
        return None
    found = _plan_length(
        amount_minor,
        affordability,
        _rate_arithmetic(annual_rate),
        min_installments,
        max_installments,
    )
    if found is None:
        return None
    n, label = found
    sched = installment_schedule(amount_minor, n, add_months(start_on, 1), annual_rate)
    return Offer(
        OfferType.INSTALLMENT_PLAN,
        amount_minor,
        amount_minor,
        sched,
        start_on,
        note=_plan_note(n, label),
    )


@dataclass(frozen=True, slots=True)
class SettlementBounds:
    """Discounts (fractions of the amount owed) the lender allows on a settlement.

    Raises
    ------
    PlanError
        Unless ``0 <= min_discount <= max_discount < 1``.
    """

    min_discount: Decimal
    max_discount: Decimal

    def __post_init__(self) -> None:
        if not Decimal(0) <= self.min_discount <= self.max_discount < Decimal(1):
            raise PlanError(
                "settlement bounds need 0 <= min_discount <= max_discount < 1, got "
                f"{self.min_discount}..{self.max_discount}"
            )


def settlement(
    amount_minor: int,
    discount: Decimal,
    bounds: SettlementBounds,
    start_on: date,
    *,
    due_days: int = 30,
) -> Offer:
    """A one-off settlement of ``amount_minor`` at ``discount`` (fraction), due in ``due_days``.

    The discount is ``amount x discount`` rounded down to the minor unit.

    Raises
    ------
    PlanError
        If the discount is outside the lender's bounds or the amount is not positive.
    """
    if amount_minor <= 0:
        raise PlanError(f"amount to settle must be > 0, got {amount_minor}")
    if not bounds.min_discount <= discount <= bounds.max_discount:
        raise PlanError(
            f"discount {discount} is outside the lender's bounds "
            f"{bounds.min_discount}..{bounds.max_discount}"
        )
    off = int((Decimal(amount_minor) * discount).to_integral_value(rounding=ROUND_DOWN))
    pay = amount_minor - off
    due = start_on + timedelta(days=due_days)
    return Offer(
        OfferType.SETTLEMENT,
        amount_minor,
        pay,
        (ScheduledPayment(1, due, pay, pay, 0),),
        start_on,
        discount_minor=off,
        note=f"settle in full with one payment by {due.isoformat()}, {discount:%} discount",
    )


def affordable_settlement(
    amount_minor: int,
    affordability: Affordability,
    bounds: SettlementBounds,
    start_on: date,
    *,
    step: Decimal = Decimal("0.01"),
    due_days: int = 30,
) -> Offer | None:
    """The settlement with the smallest discount (a multiple of ``step`` inside the bounds)
    whose single payment is within the high affordability estimate; None if none is."""
    if amount_minor <= 0:
        return None
    need = 1 - Decimal(affordability.high_minor) / Decimal(amount_minor)
    steps = (max(need, bounds.min_discount) / step).to_integral_value(rounding=ROUND_CEILING)
    discount = max(steps * step, bounds.min_discount)
    while discount <= bounds.max_discount:
        offer = settlement(amount_minor, discount, bounds, start_on, due_days=due_days)
        if offer.max_installment_minor <= affordability.high_minor:
            return offer
        discount += step
    return None


def payment_holiday(
    amount_minor: int,
    start_on: date,
    months: int,
    *,
    then_installments: int = 0,
    annual_rate: Decimal = Decimal(0),
) -> Offer:
    """A payment holiday of ``months`` (1..6): no payment due, interest and fees frozen.

    With ``then_installments`` >= 2 it is a deferral: an installment plan whose first
    installment falls due one month after the holiday ends.

    Raises
    ------
    PlanError
        If ``months`` is outside 1..6 or the follow-on plan cannot be built.
    """
    if not 1 <= months <= 6:
        raise PlanError(f"a payment holiday lasts 1..6 months, got {months}")
    ends = add_months(start_on, months)
    sched: tuple[ScheduledPayment, ...] = ()
    if then_installments:
        sched = installment_schedule(
            amount_minor, then_installments, add_months(ends, 1), annual_rate
        )
    note = f"no payment due until {ends.isoformat()}; interest and fees frozen; review before then"
    return Offer(
        OfferType.PAYMENT_HOLIDAY,
        amount_minor,
        amount_minor,
        sched,
        start_on,
        holiday_months=months,
        note=note,
    )


def term_extension(
    outstanding_minor: int,
    remaining_installments: int,
    extra_installments: int,
    start_on: date,
    annual_rate: Decimal = Decimal(0),
) -> Offer:
    """Spread the whole outstanding balance over the remaining term plus ``extra_installments``.

    Raises
    ------
    PlanError
        If ``extra_installments < 1`` or the new term exceeds ``MAX_TERM_INSTALLMENTS``.
    """
    if extra_installments < 1:
        raise PlanError(f"a term extension adds at least 1 installment, got {extra_installments}")
    n = max(remaining_installments, 1) + extra_installments
    sched = installment_schedule(
        outstanding_minor,
        n,
        add_months(start_on, 1),
        annual_rate,
        max_installments=MAX_TERM_INSTALLMENTS,
    )
    return Offer(
        OfferType.TERM_EXTENSION,
        outstanding_minor,
        outstanding_minor,
        sched,
        start_on,
        note=f"term extended by {extra_installments} months to {n} monthly installments",
    )


def waiver_plan(
    principal_minor: int,
    interest_minor: int,
    fees_minor: int,
    affordability: Affordability,
    start_on: date,
    *,
    waive_interest: bool = True,
    waive_fees: bool = True,
) -> Offer | None:
    """Waive the interest and/or fees in arrears, then the shortest affordable interest-free
    plan on the rest (or one payment when the rest fits the low estimate). None if no plan of
    2..24 installments fits the high estimate."""
    waived = (interest_minor if waive_interest else 0) + (fees_minor if waive_fees else 0)
    owed = principal_minor + interest_minor + fees_minor
    rest = owed - waived
    if waived == 0 or rest <= 0:
        return None
    plan = affordable_plan(rest, affordability, start_on)
    if plan is None:
        return None
    return Offer(
        OfferType.WAIVER,
        owed,
        rest,
        plan.schedule,
        start_on,
        waived_minor=waived,
        note=f"interest and fees in arrears waived; {plan.note}",
    )


# --- offer figures without schedules (the daily run's offers) -------------------------------


@lru_cache(maxsize=32)
def _month_after(day: date) -> date:
    return add_months(day, 1)


def _level_terms(
    amount_minor: int, n: int, annual_rate: Decimal, max_installments: int
) -> tuple[int, int]:
    """``(regular, last)`` of ``installment_schedule(amount_minor, n, ..., annual_rate)``.

    Raises
    ------
    PlanError
        Where :func:`installment_schedule` raises it (without fees).
    """
    if not MIN_INSTALLMENTS <= n <= max_installments:
        raise PlanError(f"installments must be {MIN_INSTALLMENTS}..{max_installments}, got {n}")
    if amount_minor <= 0:
        raise PlanError(f"amount to repay must be > 0, got {amount_minor}")
    if annual_rate < 0:
        raise PlanError(f"annual rate must be >= 0, got {annual_rate}")
    got = _rate_arithmetic(annual_rate).terms(amount_minor, n)
    if got is None:
        raise PlanError(f"{amount_minor} minor units cannot be repaid in {n} installments")
    return got


def affordable_plan_terms(
    amount_minor: int,
    affordability: Affordability,
    start_on: date,
    annual_rate: Decimal = Decimal(0),
    *,
    min_installments: int = MIN_INSTALLMENTS,
    max_installments: int = MAX_INSTALLMENTS,
) -> OfferTerms | None:
    """The terms of :func:`affordable_plan` (same plan, same figures), without its schedule.

    Raises
    ------
    PlanError
        If the installment bounds are outside 2..24.
    """
    _check_plan_bounds(min_installments, max_installments)
    if amount_minor <= 0 or annual_rate < 0:
        return None
    rate = _rate_arithmetic(annual_rate)
    found = _plan_length(amount_minor, affordability, rate, min_installments, max_installments)
    if found is None:
        return None
    n, label = found
    got = rate.terms(amount_minor, n)
    assert got is not None  # the search only settles on a plan that exists
    return OfferTerms(
        OfferType.INSTALLMENT_PLAN,
        amount_minor,
        amount_minor,
        n,
        got[0],
        got[1],
        start_on,
        _month_after(start_on),
        note=_plan_note(n, label),
    )


def term_extension_terms(
    outstanding_minor: int,
    remaining_installments: int,
    extra_installments: int,
    start_on: date,
    annual_rate: Decimal = Decimal(0),
) -> OfferTerms:
    """The terms of :func:`term_extension` (same figures), without its schedule.

    Raises
    ------
    PlanError
        Where :func:`term_extension` raises it.
    """
    if extra_installments < 1:
        raise PlanError(f"a term extension adds at least 1 installment, got {extra_installments}")
    n = max(remaining_installments, 1) + extra_installments
    regular, last = _level_terms(outstanding_minor, n, annual_rate, MAX_TERM_INSTALLMENTS)
    return OfferTerms(
        OfferType.TERM_EXTENSION,
        outstanding_minor,
        outstanding_minor,
        n,
        regular,
        last,
        start_on,
        _month_after(start_on),
        note=f"term extended by {extra_installments} months to {n} monthly installments",
    )


# --- legal limits on the debt ---------------------------------------------------------------


class CapKind(StrEnum):
    """How a legal cap on the cost of credit is expressed."""

    LPR_MULTIPLE = "lpr_multiple"  # a multiple of the one-year Loan Prime Rate
    FIXED = "fixed"  # a fixed annual rate


@dataclass(frozen=True, slots=True)
class RateCap:
    """A legal ceiling on interest and fees, as an annual rate.

    Attributes
    ----------
    kind : CapKind
    value : Decimal
        The multiple (``4`` for 4 x LPR) or the annual rate (``0.24``).
    source : str
        Legal source, e.g. ``"SPC Provisions on Private Lending (2020) art. 25"``.
    """

    kind: CapKind
    value: Decimal
    source: str = ""

    def __post_init__(self) -> None:
        if self.value <= 0:
            raise PlanError(f"a rate cap must be > 0, got {self.value}")

    def annual_rate(self, lpr: Decimal) -> Decimal:
        """The cap as an annual rate, given the one-year LPR (a fraction, e.g. 0.03)."""
        return self.value * lpr if self.kind is CapKind.LPR_MULTIPLE else self.value


@dataclass(frozen=True, slots=True)
class CapCheck:
    """What a cap allows on one contract (minor units) and what is excluded from the arrears."""

    annual_cap: Decimal
    allowed_minor: int
    charged_minor: int
    excess_minor: int
    excluded_minor: int

    @property
    def over_cap(self) -> bool:
        """True when more interest and fees were charged than the cap allows."""
        return self.excess_minor > 0


def cap_check(
    principal_minor: int,
    charged_interest_fees_minor: int,
    days: int,
    annual_cap: Decimal,
    arrears_interest_fees_minor: int,
) -> CapCheck:
    """Compare a contract's interest and fees with a legal cap.

    Parameters
    ----------
    principal_minor : int
        Amount lent.
    charged_interest_fees_minor : int
        All interest and fees the contract charges (scheduled).
    days : int
        Term of the contract in days (day count actual/365).
    annual_cap : Decimal
        The cap as an annual rate (:meth:`RateCap.annual_rate`).
    arrears_interest_fees_minor : int
        Interest and fees inside today's arrears amount.

    Returns
    -------
    CapCheck
        ``allowed = principal x cap x days / 365`` rounded down; ``excess = charged - allowed``
        (>= 0); ``excluded = min(excess, arrears interest and fees)``: the part of what is in
        arrears that arrears will not ask for.
    """
    if principal_minor < 0 or days < 0 or charged_interest_fees_minor < 0:
        raise PlanError("principal, days and charges must be >= 0")
    allowed = int(
        (Decimal(principal_minor) * annual_cap * days / 365).to_integral_value(rounding=ROUND_DOWN)
    )
    excess = max(0, charged_interest_fees_minor - allowed)
    return CapCheck(
        annual_cap,
        allowed,
        charged_interest_fees_minor,
        excess,
        min(excess, max(arrears_interest_fees_minor, 0)),
    )


# --- promises to pay and plans tracked ------------------------------------------------------


class CommitmentStatus(StrEnum):
    """Where a promise to pay or a repayment plan stands."""

    PENDING = "pending"  # promise not yet due (or within its grace period)
    KEPT = "kept"  # promise paid; plan on track (the plan is active)
    BROKEN = "broken"
    COMPLETED = "completed"  # plan fully paid
    REPLANNED = "replanned"  # plan replaced by a new one


@dataclass(frozen=True, slots=True)
class PromiseToPay:
    """A borrower's promise to pay ``amount_minor`` by ``due_on`` (made on ``made_on``)."""

    promise_id: str
    account_id: str
    amount_minor: int
    made_on: date
    due_on: date

    def __post_init__(self) -> None:
        if self.amount_minor <= 0:
            raise PlanError(f"promise on account {self.account_id}: amount must be > 0")
        if self.due_on < self.made_on:
            raise PlanError(
                f"promise on account {self.account_id}: due {self.due_on.isoformat()}, before "
                f"it was made ({self.made_on.isoformat()})"
            )


@dataclass(frozen=True, slots=True)
class RepaymentPlan:
    """An agreed plan: its schedule, when it was agreed, and how many times it was re-planned."""

    plan_id: str
    account_id: str
    agreed_on: date
    schedule: tuple[ScheduledPayment, ...]
    replans: int = 0
    status: CommitmentStatus = CommitmentStatus.KEPT
    replaces: str | None = field(default=None)


def _paid_between(payments: Iterable[tuple[date, int]], start: date, end: date) -> int:
    return sum(a for d, a in payments if start <= d <= end)


def promise_status(
    promise: PromiseToPay, payments: Iterable[tuple[date, int]], as_of: date, grace_days: int
) -> CommitmentStatus:
    """Kept when payments from ``made_on`` up to ``due_on + grace_days`` (and ``as_of``) reach
    the amount; broken once ``as_of`` is past ``due_on + grace_days`` without that; else
    pending.

    ``payments`` are ``(paid_on, amount_minor)`` of the promise's account.
    """
    if grace_days < 0:
        raise PlanError(f"grace period must be >= 0 days, got {grace_days}")
    deadline = promise.due_on + timedelta(days=grace_days)
    paid = _paid_between(payments, promise.made_on, min(as_of, deadline))
    if paid >= promise.amount_minor:
        return CommitmentStatus.KEPT
    return CommitmentStatus.BROKEN if as_of > deadline else CommitmentStatus.PENDING


def plan_status(
    plan: RepaymentPlan, payments: Iterable[tuple[date, int]], as_of: date, grace_days: int
) -> CommitmentStatus:
    """Kept while, for every installment whose due date + grace is before ``as_of``, the
    payments since the plan was agreed cover all installments up to it; broken at the first
    that is not covered; completed once the whole schedule is paid. A re-planned plan stays
    re-planned.
    """
    if plan.status is CommitmentStatus.REPLANNED:
        return plan.status
    if grace_days < 0:
        raise PlanError(f"grace period must be >= 0 days, got {grace_days}")
    pays = sorted((d, a) for d, a in payments if plan.agreed_on <= d <= as_of)
    total = sum(p.amount_minor for p in plan.schedule)
    if sum(a for _, a in pays) >= total:
        return CommitmentStatus.COMPLETED
    due_cum = 0
    for inst in plan.schedule:
        due_cum += inst.amount_minor
        deadline = inst.due_on + timedelta(days=grace_days)
        if deadline >= as_of:
            break
        if sum(a for d, a in pays if d <= deadline) < due_cum:
            return CommitmentStatus.BROKEN
    return CommitmentStatus.KEPT


def replan(
    old: RepaymentPlan,
    new_id: str,
    schedule: tuple[ScheduledPayment, ...],
    agreed_on: date,
    *,
    max_replans: int = 2,
) -> tuple[RepaymentPlan, RepaymentPlan]:
    """Replace ``old`` by a new plan: returns ``(old marked re-planned, new plan)``.

    Raises
    ------
    PlanError
        If the plan was already re-planned ``max_replans`` times, or is completed.
    """
    if old.status is CommitmentStatus.COMPLETED:
        raise PlanError(f"plan {old.plan_id} is completed: nothing to re-plan")
    if old.replans >= max_replans:
        raise PlanError(
            f"plan {old.plan_id} was re-planned {old.replans} times (max {max_replans}): "
            "refer to a hardship review instead"
        )
    done = RepaymentPlan(
        old.plan_id,
        old.account_id,
        old.agreed_on,
        old.schedule,
        old.replans,
        CommitmentStatus.REPLANNED,
        old.replaces,
    )
    new = RepaymentPlan(
        new_id, old.account_id, agreed_on, schedule, old.replans + 1, replaces=old.plan_id
    )
    return done, new


# --- policy: what a strategy may offer and the legal limits it applies ---------------------


@dataclass(frozen=True, slots=True)
class OfferPolicy:
    """Lender settings for sizing offers (see ``offers:`` in a strategy file).

    Attributes
    ----------
    plan_annual_rate : Decimal
        Nominal annual rate charged on installment plans (0: interest frozen).
    min_installments, max_installments : int
        Plan length bounds, within 2..24.
    settlement : SettlementBounds
        Discounts allowed on a settlement.
    holiday_months : int
        Length of a payment holiday, 1..6.
    term_extension_months : int
        Installments a term extension adds.
    allowed_fees : frozenset of str
        Fees the contract or rule pack allows on an offer (empty: none).
    promise_grace_days, plan_grace_days : int
        Days after a due date before a promise or plan installment counts as broken.
    promise_max_days : int
        Latest due date of a promise, in days after it was made (a promise holds the account:
        a longer one is a plan). 1..90.
    max_replans : int
        Re-plans allowed before a hardship review is required.
    """

    plan_annual_rate: Decimal = Decimal(0)
    min_installments: int = MIN_INSTALLMENTS
    max_installments: int = MAX_INSTALLMENTS
    settlement: SettlementBounds = SettlementBounds(Decimal("0.10"), Decimal("0.40"))
    holiday_months: int = 3
    term_extension_months: int = 6
    allowed_fees: frozenset[str] = frozenset()
    promise_grace_days: int = 3
    plan_grace_days: int = 5
    max_replans: int = 2
    promise_max_days: int = 30

    def __post_init__(self) -> None:
        if not MIN_INSTALLMENTS <= self.min_installments <= self.max_installments <= 24:
            raise PlanError("installments must satisfy 2 <= min_installments <= max <= 24")
        if self.plan_annual_rate < 0:
            raise PlanError("plan_annual_rate must be >= 0")
        if not 1 <= self.holiday_months <= 6:
            raise PlanError("holiday_months must be 1..6")
        if self.term_extension_months < 1:
            raise PlanError("term_extension_months must be >= 1")
        if min(self.promise_grace_days, self.plan_grace_days, self.max_replans) < 0:
            raise PlanError("grace days and max_replans must be >= 0")
        if not 1 <= self.promise_max_days <= 90:
            raise PlanError("promise_max_days must be 1..90")


DEFAULT_OFFER_POLICY = OfferPolicy()
"""The offer settings of ``strategies/default.yaml``."""


@dataclass(frozen=True, slots=True)
class ProductCap:
    """A legal cap for one product in one jurisdiction (``CN``, ``US-NY``: prefix match)."""

    jurisdiction: str
    product: str
    cap: RateCap


@dataclass(frozen=True, slots=True)
class LegalLimits:
    """Legal caps on the cost of credit, and the one-year LPR the LPR-based caps use."""

    lpr_one_year: Decimal = Decimal("0.030")
    caps: tuple[ProductCap, ...] = ()

    def cap_for(self, jurisdiction: str, product: str) -> RateCap | None:
        """The cap for ``product`` in ``jurisdiction`` or its nearest parent (``US-NY`` ->
        ``US``), or None."""
        parts = jurisdiction.split("-")
        for k in range(len(parts), 0, -1):
            j = "-".join(parts[:k])
            for c in self.caps:
                if c.jurisdiction == j and c.product == product:
                    return c.cap
        return None

    def annual_cap(self, jurisdiction: str, product: str) -> Decimal | None:
        """The cap as an annual rate (None when no cap is configured)."""
        cap = self.cap_for(jurisdiction, product)
        return None if cap is None else cap.annual_rate(self.lpr_one_year)


SPC_PRIVATE_LENDING = (
    "SPC Provisions on Several Issues concerning the Application of Law in the Trial of "
    "Private Lending Cases (2020 revision), art. 25: four times the one-year LPR"
)
CN_LICENSED_24 = (
    "PRC: 24% a year ceiling on the comprehensive cost of licensed consumer credit "
    "(Notice on Regulating and Rectifying Cash Loan Business, 2017 No. 141, and regulators' "
    "guidance)"
)
TW_CARD_15 = "Taiwan Banking Act art. 47-1: credit-card interest at most 15% a year"
TW_CIVIL_16 = "Taiwan Civil Code art. 205: interest above 16% a year is not claimable"

DEFAULT_LIMITS = LegalLimits(
    Decimal("0.030"),
    (
        ProductCap("CN", "loan", RateCap(CapKind.FIXED, Decimal("0.24"), CN_LICENSED_24)),
        ProductCap("CN", "card", RateCap(CapKind.FIXED, Decimal("0.24"), CN_LICENSED_24)),
        ProductCap("TW", "card", RateCap(CapKind.FIXED, Decimal("0.15"), TW_CARD_15)),
        ProductCap("TW", "loan", RateCap(CapKind.FIXED, Decimal("0.16"), TW_CIVIL_16)),
    ),
)
"""Caps of ``strategies/default.yaml``: licensed-lender caps for CN and the TW statutory caps."""
