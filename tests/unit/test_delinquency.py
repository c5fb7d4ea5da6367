"""Edge cases of allocation, DPD, arrears and buckets (domain reference implementation)."""

from datetime import date

import pytest

from arrears.domain.delinquency import (
    DEFAULT_BUCKETS,
    BucketScheme,
    DelinquencyError,
    Waterfall,
    add_months,
    allocate,
    assess,
    monthly_due_dates,
)
from arrears.domain.model import Account, Installment, Payment, ProductType

ACC = Account("A1", "B1", ProductType.LOAN, "USD", date(2024, 1, 1), principal=30000)


def inst(seq, due, principal=10000, interest=1000, fees=0):
    return Installment("A1", seq, due, principal, interest, fees)


def pay(day, amount, pid=None):
    return Payment(pid or f"P{day.isoformat()}-{amount}", "A1", day, amount)


SCHEDULE = [inst(1, date(2024, 1, 31)), inst(2, date(2024, 2, 29)), inst(3, date(2024, 3, 31))]


@pytest.mark.parametrize(
    ("dpd", "bucket"),
    [
        (0, "current"),
        (1, "M1"),
        (30, "M1"),
        (31, "M2"),
        (60, "M2"),
        (61, "M3"),
        (90, "M3"),
        (91, "M4"),
        (120, "M4"),
        (121, "M5"),
        (150, "M5"),
        (151, "M6"),
        (180, "M6"),
        (181, "M6+"),
        (5000, "M6+"),
    ],
)
def test_default_bucket_bounds(dpd, bucket):
    assert DEFAULT_BUCKETS.bucket_for(dpd) == bucket


def test_bucket_scheme_is_configurable_and_validated():
    scheme = BucketScheme.from_bounds([("ok", 0, 5), ("late", 6, None)])
    assert scheme.bucket_for(5) == "ok" and scheme.bucket_for(6) == "late"
    with pytest.raises(DelinquencyError, match="gap or overlap"):
        BucketScheme.from_bounds([("a", 0, 5), ("b", 7, None)])
    with pytest.raises(DelinquencyError, match="gap or overlap"):
        BucketScheme.from_bounds([("a", 0, 5), ("b", 5, None)])
    with pytest.raises(DelinquencyError, match="open-ended"):
        BucketScheme.from_bounds([("a", 0, 5), ("b", 6, 9)])
    with pytest.raises(DelinquencyError):
        DEFAULT_BUCKETS.bucket_for(-1)


def test_nothing_due_yet_is_current():
    a = assess(ACC, SCHEDULE, [], date(2024, 1, 15))
    assert (a.dpd, a.bucket, a.arrears) == (0, "current", 0)


def test_due_today_is_not_past_due():
    a = assess(ACC, SCHEDULE, [], date(2024, 1, 31))
    assert a.dpd == 0 and a.arrears == 0


def test_one_day_after_due_date():
    a = assess(ACC, SCHEDULE, [], date(2024, 2, 1))
    assert (a.dpd, a.bucket, a.arrears) == (1, "M1", 11000)


def test_several_overdue_installments_count_from_the_oldest():
    a = assess(ACC, SCHEDULE, [], date(2024, 4, 1))
    # 31 Jan 2024 -> 1 Apr 2024 spans the leap day: 61 days
    assert a.dpd == 61 and a.bucket == "M3"
    assert a.arrears == 33000 and a.past_due_installments == 3
    assert a.oldest_unpaid_due == date(2024, 1, 31)


def test_partial_payment_keeps_the_installment_unpaid():
    a = assess(ACC, SCHEDULE, [pay(date(2024, 2, 5), 10999)], date(2024, 2, 10))
    assert a.dpd == 10 and a.arrears == 1


def test_partial_payment_goes_fees_then_interest_then_principal():
    sched = [inst(1, date(2024, 1, 31), principal=10000, interest=1000, fees=500)]
    a = assess(ACC, sched, [pay(date(2024, 2, 2), 1200)], date(2024, 2, 10))
    assert a.arrears_by_component == {"fees": 0, "interest": 300, "principal": 10000}


def test_waterfall_is_configurable():
    sched = [inst(1, date(2024, 1, 31), principal=10000, interest=1000, fees=500)]
    wf = Waterfall(("principal", "interest", "fees"))
    a = assess(ACC, sched, [pay(date(2024, 2, 2), 10200)], date(2024, 2, 10), waterfall=wf)
    assert a.arrears_by_component == {"fees": 500, "interest": 800, "principal": 0}
    with pytest.raises(DelinquencyError):
        Waterfall(("fees", "principal"))


def test_payment_clears_oldest_first_and_dpd_moves_to_next():
    a = assess(ACC, SCHEDULE, [pay(date(2024, 3, 5), 11000)], date(2024, 3, 10))
    assert a.oldest_unpaid_due == date(2024, 2, 29) and a.dpd == 10 and a.arrears == 11000


def test_payment_on_the_as_of_date_clears_arrears_that_day():
    a = assess(ACC, SCHEDULE, [pay(date(2024, 2, 10), 11000)], date(2024, 2, 10))
    assert a.dpd == 0 and a.arrears == 0 and a.bucket == "current"


def test_payment_after_the_as_of_date_is_ignored():
    a = assess(ACC, SCHEDULE, [pay(date(2024, 2, 11), 11000)], date(2024, 2, 10))
    assert a.dpd == 10


def test_payment_before_due_date_prepays_and_prevents_arrears():
    a = assess(ACC, SCHEDULE, [pay(date(2024, 1, 10), 22000)], date(2024, 3, 1))
    assert a.dpd == 0 and a.arrears == 0


def test_overpayment_is_credit_not_negative_arrears():
    a = assess(ACC, SCHEDULE, [pay(date(2024, 1, 10), 40000)], date(2024, 5, 1))
    assert a.dpd == 0 and a.arrears == 0 and a.credit == 7000


def test_leap_day_due_date_dpd():
    sched = [inst(1, date(2024, 2, 29))]
    assert assess(ACC, sched, [], date(2024, 3, 1)).dpd == 1
    assert assess(ACC, sched, [], date(2025, 2, 28)).dpd == 365


def test_month_end_due_dates_anchor_and_clamp():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2024, 1, 31), 2) == date(2024, 3, 31)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2024, 1, 30), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 11, 30), 3) == date(2025, 2, 28)
    assert monthly_due_dates(date(2024, 1, 31), 4) == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
    ]
    with pytest.raises(DelinquencyError):
        monthly_due_dates(date(2024, 1, 31), 0)


def test_reported_dpd_used_without_schedule():
    card = Account(
        "C1",
        "B1",
        ProductType.CARD,
        "TWD",
        date(2005, 4, 1),
        reported_dpd=60,
        reported_past_due=391300,
    )
    a = assess(card, [], [], date(2005, 9, 30))
    assert (a.dpd, a.bucket, a.arrears, a.source) == (60, "M2", 391300, "reported")


def test_installment_of_another_account_is_refused():
    other = Installment("OTHER", 1, date(2024, 1, 31), 100)
    with pytest.raises(DelinquencyError, match="OTHER"):
        assess(ACC, [other], [], date(2024, 2, 1))


def test_allocate_returns_states_in_due_order():
    states, credit = allocate(
        list(reversed(SCHEDULE)), [pay(date(2024, 1, 1), 12000)], date(2024, 1, 2)
    )
    assert [s.installment.seq for s in states] == [1, 2, 3]
    assert states[0].unpaid == 0 and states[1].unpaid == 10000 and credit == 0
