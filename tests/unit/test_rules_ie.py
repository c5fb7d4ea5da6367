"""IE pack: one test per rule id, happy and unhappy paths."""

from datetime import UTC, datetime

from tests.rulekit import (
    assert_dispute_held_until_closed,
    attempt,
    borrower,
    decide,
    local,
    no_holidays,
    past,
)

DUB = "Europe/Dublin"


def at(hh, mm=0, day=(2026, 6, 10)):
    return local(DUB, *day, hh, mm)


def test_IE_HOURS_S46():
    b = borrower("IE")
    d = decide(attempt(at(8, 30), "call"), b)
    assert not d.allowed and d.rule_ids == ("IE.HOURS.S46",)  # the house curfew opens at 08:00
    assert d.next_allowed_at == at(9, 0)
    assert decide(attempt(at(8, 30), "sms"), b).allowed  # messages are not calls or visits
    night = decide(attempt(at(21, 0), "visit"), b)
    assert night.rule_ids == ("IE.HOURS.S46",)
    assert decide(attempt(at(20, 59), "visit"), b).allowed


def test_IE_DAYS_S46():
    b = borrower("IE")
    sunday = at(12, day=(2026, 6, 14))
    d = decide(attempt(sunday, "call"), b)
    assert not d.allowed and d.rule_ids == ("IE.DAYS.S46",)
    assert d.next_allowed_at == at(9, 0, day=(2026, 6, 15))
    assert decide(attempt(sunday, "sms"), b).allowed
    # public holidays from the holidays library: St Patrick's Day, a Tuesday
    patrick = at(12, day=(2026, 3, 17))
    d = decide(attempt(patrick, "call"), b)
    assert d.rule_ids == ("IE.DAYS.S46",)
    assert d.next_allowed_at == at(9, 0, day=(2026, 3, 18))
    assert decide(attempt(patrick, "call"), b, holidays=no_holidays).allowed


def test_IE_HOURS_HOUSE():
    b = borrower("IE")
    d = decide(attempt(at(7, 30), "sms"), b)
    assert not d.allowed and d.rule_ids == ("IE.HOURS.HOUSE",)
    assert d.next_allowed_at == at(8, 0)
    assert decide(attempt(at(21, 30), "email"), b).rule_ids == ("IE.HOURS.HOUSE",)
    assert decide(attempt(at(20, 30), "email"), b).allowed


def test_IE_CALLS_DAILY_CAP():
    b = borrower("IE")
    hist = [past(at(9, 30)), past(at(10, 30), outcome="connected")]
    d = decide(attempt(at(15)), b, hist)
    assert not d.allowed and d.rule_ids == ("IE.CALLS.DAILY_CAP",)
    assert d.next_allowed_at == datetime(2026, 6, 11, 8, 0, tzinfo=UTC)  # 09:00 IST
    assert decide(attempt(at(15)), b, hist[:1]).allowed


def test_IE_DISPUTE_HOLD():
    assert_dispute_held_until_closed("IE", "IE.DISPUTE.HOLD")
