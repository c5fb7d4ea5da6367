"""Plans and forbearance: exact schedules, affordability, APR, settlement bounds, legal caps,
promises to pay and plans tracked (kept, broken with grace, re-planned); the schedule-free
figures of the daily run (OfferTerms) held to the full schedules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.domain.plans import (
    Affordability,
    CapKind,
    CommitmentStatus,
    FeeNotAllowed,
    LegalLimits,
    Offer,
    OfferTerms,
    OfferType,
    PlanError,
    ProductCap,
    PromiseToPay,
    RateCap,
    RepaymentPlan,
    SettlementBounds,
    _rate_arithmetic,
    add_months,
    affordable_plan,
    affordable_plan_terms,
    affordable_settlement,
    cap_check,
    installment_schedule,
    payment_holiday,
    plan_status,
    promise_status,
    replan,
    settlement,
    term_extension,
    term_extension_terms,
    waiver_plan,
)
from arrears.pipeline.offers import apr_percent

D0 = date(2026, 1, 31)


def test_interest_free_schedule_is_exact_and_last_absorbs_remainder():
    s = installment_schedule(100_000, 3, date(2026, 2, 28))
    assert [p.amount_minor for p in s] == [33_333, 33_333, 33_334]
    assert sum(p.principal_minor for p in s) == 100_000
    assert [p.due_on for p in s] == [date(2026, 2, 28), date(2026, 3, 28), date(2026, 4, 28)]
    s = installment_schedule(1_000, 7, D0)
    assert [p.amount_minor for p in s] == [142] * 6 + [148]


def test_month_end_due_dates_clamp():
    s = installment_schedule(300, 3, date(2026, 1, 31))
    assert [p.due_on for p in s] == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]


def test_annuity_schedule_repays_exactly_and_apr_is_the_nominal_rate():
    s = installment_schedule(100_000, 12, D0, Decimal("0.12"))
    # level payment 100000 * 0.01 / (1 - 1.01**-12) = 8884.88..., rounded down
    assert all(p.amount_minor == 8_884 for p in s[:-1])
    assert sum(p.principal_minor for p in s) == 100_000
    assert s[0].interest_minor == 1_000  # 1 % of the full balance
    assert abs(s[-1].amount_minor - 8_884) < 12
    offer = affordable_plan(100_000, Affordability(9_000, 9_000), D0, Decimal("0.12"))
    assert offer is not None and offer.installments == 12
    assert apr_percent(offer) == Decimal("12.00")
    assert offer.cost_of_credit_minor == offer.total_paid_minor - 100_000 > 0


def test_interest_free_plan_has_zero_apr_and_total_cost_equal_to_debt():
    offer = affordable_plan(120_000, Affordability(10_000, 20_000), D0)
    assert offer is not None
    assert (offer.installments, offer.installment_minor) == (12, 10_000)
    assert apr_percent(offer) == Decimal("0.00")
    assert offer.total_paid_minor == 120_000


def test_plan_aims_at_low_then_high_then_gives_up():
    low_fit = affordable_plan(50_000, Affordability(5_000, 25_000), D0)
    assert low_fit is not None and low_fit.installments == 10 and "low" in low_fit.note
    high_fit = affordable_plan(200_000, Affordability(5_000, 10_000), D0)
    assert high_fit is not None and high_fit.installments == 20
    assert high_fit.max_installment_minor <= 10_000 and "high" in high_fit.note
    assert affordable_plan(1_000_000, Affordability(5_000, 10_000), D0) is None
    # the shortest plan is chosen: 19 installments would exceed 10 000
    assert installment_schedule(200_000, 19, D0)[-1].amount_minor > 10_000


def test_plan_bounds_and_amount_checked():
    with pytest.raises(PlanError, match=r"installments must be 2\.\.24"):
        installment_schedule(10_000, 25, D0)
    with pytest.raises(PlanError, match=r"installments must be 2\.\.24"):
        installment_schedule(10_000, 1, D0)
    with pytest.raises(PlanError, match="cannot be split"):
        installment_schedule(5, 6, D0)
    with pytest.raises(PlanError, match="low <= high"):
        Affordability(10, 5)


def test_fees_only_when_allowed():
    with pytest.raises(FeeNotAllowed, match="setup"):
        installment_schedule(10_000, 2, D0, fees={"setup": 500})
    s = installment_schedule(10_000, 2, D0, fees={"setup": 500}, allowed_fees={"setup"})
    assert [p.amount_minor for p in s] == [5_500, 5_000]


def test_settlement_inside_lender_bounds():
    bounds = SettlementBounds(Decimal("0.10"), Decimal("0.40"))
    with pytest.raises(PlanError, match="outside the lender's bounds"):
        settlement(100_000, Decimal("0.50"), bounds, D0)
    with pytest.raises(PlanError, match="outside the lender's bounds"):
        settlement(100_000, Decimal("0.05"), bounds, D0)
    s = settlement(100_001, Decimal("0.25"), bounds, D0)
    assert (s.discount_minor, s.total_paid_minor) == (25_000, 75_001)  # discount rounded down
    a = affordable_settlement(100_000, Affordability(10_000, 70_000), bounds, D0)
    assert a is not None and a.discount_minor == 30_000 and a.total_paid_minor == 70_000
    assert a.offer_type is OfferType.SETTLEMENT
    assert affordable_settlement(100_000, Affordability(0, 50_000), bounds, D0) is None
    with pytest.raises(PlanError):
        SettlementBounds(Decimal("0.5"), Decimal("0.2"))


def test_holiday_deferral_extension_and_waiver():
    h = payment_holiday(90_000, D0, 3)
    assert h.schedule == () and h.holiday_months == 3 and "2026-04-30" in h.note
    d = payment_holiday(90_000, D0, 3, then_installments=3)
    assert d.schedule[0].due_on == date(2026, 5, 30)
    assert d.total_paid_minor == 90_000
    with pytest.raises(PlanError):
        payment_holiday(90_000, D0, 7)
    t = term_extension(120_000, 6, 6, D0)
    assert t.installments == 12 and t.total_paid_minor == 120_000
    w = waiver_plan(60_000, 15_000, 5_000, Affordability(10_000, 20_000), D0)
    assert w is not None and w.waived_minor == 20_000 and w.total_paid_minor == 60_000
    assert w.amount_owed_minor == 80_000
    assert waiver_plan(60_000, 0, 0, Affordability(10_000, 20_000), D0) is None


def test_legal_cap_excludes_interest_and_fees_above_it():
    # CNY 10,000 lent for a year, 3,000 charged; 24 % allows 2,400; 500 of it is in arrears
    c = cap_check(1_000_000, 300_000, 365, Decimal("0.24"), 50_000)
    assert (c.allowed_minor, c.excess_minor, c.excluded_minor, c.over_cap) == (
        240_000,
        60_000,
        50_000,
        True,
    )
    # under the cap nothing is excluded
    assert cap_check(1_000_000, 200_000, 365, Decimal("0.24"), 50_000).excluded_minor == 0
    # private lending: four times the one-year LPR (3.0 % -> 12 %), half a year
    lpr4 = RateCap(CapKind.LPR_MULTIPLE, Decimal(4))
    assert lpr4.annual_rate(Decimal("0.030")) == Decimal("0.120")
    c = cap_check(1_000_000, 100_000, 182, lpr4.annual_rate(Decimal("0.030")), 80_000)
    assert c.allowed_minor == 59_835  # 1,000,000 x 0.12 x 182 / 365 = 59835.6, rounded down
    assert c.excluded_minor == 40_165
    limits = LegalLimits(
        Decimal("0.035"), (ProductCap("US", "loan", RateCap(CapKind.FIXED, Decimal("0.36"))),)
    )
    assert limits.annual_cap("US-NY", "loan") == Decimal("0.36")
    assert limits.annual_cap("US-NY", "card") is None
    assert limits.annual_cap("GB", "loan") is None


def test_promise_kept_broken_with_grace():
    p = PromiseToPay("P1", "A1", 5_000, date(2026, 1, 5), date(2026, 1, 10))
    grace = 3
    assert promise_status(p, [], date(2026, 1, 10), grace) is CommitmentStatus.PENDING
    assert promise_status(p, [], date(2026, 1, 13), grace) is CommitmentStatus.PENDING
    assert promise_status(p, [], date(2026, 1, 14), grace) is CommitmentStatus.BROKEN
    paid_in_grace = [(date(2026, 1, 12), 5_000)]
    assert promise_status(p, paid_in_grace, date(2026, 1, 20), grace) is CommitmentStatus.KEPT
    paid_late = [(date(2026, 1, 14), 5_000)]
    assert promise_status(p, paid_late, date(2026, 1, 20), grace) is CommitmentStatus.BROKEN
    partial = [(date(2026, 1, 8), 2_000), (date(2026, 1, 11), 2_999)]
    assert promise_status(p, partial, date(2026, 1, 20), grace) is CommitmentStatus.BROKEN
    before = [(date(2026, 1, 4), 5_000)]  # paid before the promise was made: not this promise
    assert promise_status(p, before, date(2026, 1, 20), grace) is CommitmentStatus.BROKEN
    with pytest.raises(PlanError):
        PromiseToPay("P2", "A1", 0, date(2026, 1, 5), date(2026, 1, 10))


def test_plan_kept_broken_completed_and_replanned():
    sched = installment_schedule(30_000, 3, date(2026, 2, 1))  # 10 000 on 1 Feb, Mar, Apr
    plan = RepaymentPlan("PL1", "A1", date(2026, 1, 15), sched)
    on_time = [(date(2026, 2, 1), 10_000)]
    assert plan_status(plan, on_time, date(2026, 2, 20), 5) is CommitmentStatus.KEPT
    within_grace = [(date(2026, 2, 6), 10_000)]
    assert plan_status(plan, within_grace, date(2026, 2, 20), 5) is CommitmentStatus.KEPT
    late = [(date(2026, 2, 7), 10_000)]
    assert plan_status(plan, late, date(2026, 2, 20), 5) is CommitmentStatus.BROKEN
    assert plan_status(plan, [], date(2026, 2, 6), 5) is CommitmentStatus.KEPT  # still in grace
    assert plan_status(plan, [], date(2026, 2, 7), 5) is CommitmentStatus.BROKEN
    done = [(date(2026, 2, 1), 30_000)]
    assert plan_status(plan, done, date(2026, 2, 2), 5) is CommitmentStatus.COMPLETED
    old, new = replan(plan, "PL2", installment_schedule(30_000, 6, date(2026, 3, 1)), D0)
    assert old.status is CommitmentStatus.REPLANNED and new.replans == 1
    assert new.replaces == "PL1"
    assert plan_status(old, [], date(2026, 6, 1), 5) is CommitmentStatus.REPLANNED
    _, third = replan(new, "PL3", sched, D0)
    with pytest.raises(PlanError, match="re-planned 2 times"):
        replan(third, "PL4", sched, D0, max_replans=2)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 5_000_000),
    st.integers(2, 24),
    st.sampled_from([Decimal(0), Decimal("0.05"), Decimal("0.18"), Decimal("0.24")]),
)
def test_fast_largest_installment_equals_the_schedule(amount, n, rate):
    # the plan search uses a shortcut; it must agree with the full schedule exactly
    from arrears.domain.plans import _largest_amount

    try:
        sched = installment_schedule(amount, n, date(2026, 1, 31), rate)
    except PlanError:
        assert _largest_amount(amount, n, rate) is None
        return
    assert _largest_amount(amount, n, rate) == max(p.amount_minor for p in sched)


# --- the schedule-free figures the daily run uses are the schedule's ------------------------

RATES = [
    Decimal(0),
    Decimal("0.05"),
    Decimal("0.0799"),
    Decimal("0.123456789"),
    Decimal("0.18"),
    Decimal("0.24"),
    Decimal("0.36"),
    Decimal(3),
    Decimal(13),  # a periodic rate above 1: the Decimal path throughout
]


def old_plan(amount, aff, start, rate, lo, hi):
    """The plan search as it was: bisection on the largest installment of full schedules."""

    def largest(n):
        try:
            return max(p.amount_minor for p in installment_schedule(amount, n, start, rate))
        except PlanError:
            return None

    for target, label in ((aff.low_minor, "low"), (aff.high_minor, "high")):
        top = largest(hi)
        if top is None or top > target:
            continue
        a, b = lo, hi
        while a < b:
            mid = (a + b) // 2
            got = largest(mid)
            if got is not None and got <= target:
                b = mid
            else:
                a = mid + 1
        return b, label
    return None


amounts = st.one_of(
    st.integers(1, 300), st.integers(1, 10**6), st.integers(1, 10**11), st.integers(1, 10**22)
)


@settings(max_examples=300, deadline=None)
@given(amounts, st.integers(2, 120), st.sampled_from(RATES))
def test_level_terms_are_the_schedules_first_and_last_installments(amount, n, rate):
    try:
        s = installment_schedule(amount, n, D0, rate, max_installments=120)
    except PlanError:
        assert _rate_arithmetic(rate).terms(amount, n) is None
        return
    assert all(p.amount_minor == s[0].amount_minor for p in s[:-1])
    assert _rate_arithmetic(rate).terms(amount, n) == (s[0].amount_minor, s[-1].amount_minor)


@settings(max_examples=300, deadline=None)
@given(
    amounts,
    st.integers(0, 200_000),
    st.integers(0, 200_000),
    st.sampled_from(RATES),
    st.integers(2, 24),
    st.integers(2, 24),
)
def test_plan_terms_are_the_plan_the_old_search_finds(amount, a, b, rate, x, y):
    lo, hi = min(x, y), max(x, y)
    aff = Affordability(min(a, b), max(a, b))
    offer = affordable_plan(amount, aff, D0, rate, min_installments=lo, max_installments=hi)
    terms = affordable_plan_terms(amount, aff, D0, rate, min_installments=lo, max_installments=hi)
    found = old_plan(amount, aff, add_months(D0, 1), rate, lo, hi)
    if found is None:
        assert offer is None and terms is None
        return
    assert offer is not None and terms is not None
    assert (offer.installments, found[1] in offer.note) == (found[0], True)
    assert terms == OfferTerms.of(offer)
    # the figures offers.csv is written from agree with the full offer's
    for name in ("max_installment_minor", "total_paid_minor", "cost_of_credit_minor"):
        assert getattr(terms, name) == getattr(offer, name), name
    assert terms.cash_flows() == offer.cash_flows()
    assert apr_percent(terms) == apr_percent(offer)


@settings(max_examples=150, deadline=None)
@given(amounts, st.integers(0, 130), st.integers(-1, 20), st.sampled_from(RATES))
def test_term_extension_terms_are_the_extension(amount, remaining, extra, rate):
    try:
        offer = term_extension(amount, remaining, extra, D0, rate)
    except PlanError:
        with pytest.raises(PlanError):
            term_extension_terms(amount, remaining, extra, D0, rate)
        return
    assert term_extension_terms(amount, remaining, extra, D0, rate) == OfferTerms.of(offer)


@settings(max_examples=300, deadline=None)
@given(amounts, st.integers(2, 24), st.sampled_from(RATES[1:]), st.integers(0, 400))
def test_surely_fits_never_admits_a_plan_that_does_not_fit(amount, n, rate, slack):
    arithmetic = _rate_arithmetic(rate)
    regular = arithmetic.regular(amount, n)
    target = regular + slack
    if arithmetic.surely_fits(amount, n, regular, target):
        s = installment_schedule(amount, n, D0, rate)  # exists
        assert max(p.amount_minor for p in s) <= target


def test_schedule_figures_follow_the_decimal_context():
    # a coarser context changes Decimal's interest products; the fast path follows it
    with localcontext() as ctx:
        ctx.prec = 9
        for amount in (123_456_789, 987_654_321_123, 5_000):
            s = installment_schedule(amount, 12, D0, Decimal("0.0799"))
            assert _rate_arithmetic(Decimal("0.0799")).terms(amount, 12) == (
                s[0].amount_minor,
                s[-1].amount_minor,
            )


def test_offer_terms_refuse_a_schedule_with_a_fee():
    s = installment_schedule(10_000, 3, D0, fees={"setup": 500}, allowed_fees={"setup"})
    offer = Offer(OfferType.INSTALLMENT_PLAN, 10_000, 10_000, s, D0)
    with pytest.raises(PlanError, match="not level"):
        OfferTerms.of(offer)
    holiday = OfferTerms.of(payment_holiday(90_000, D0, 3))
    assert (holiday.installments, holiday.total_paid_minor, holiday.first_due) == (0, 0, None)
    assert apr_percent(holiday) is None and holiday.cash_flows() == [(0, 90_000)]
