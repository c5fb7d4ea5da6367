"""GB pack: one test per rule id, happy and unhappy paths."""

from datetime import UTC, datetime

from tests.rulekit import (
    assert_dispute_held_until_closed,
    attempt,
    borrower,
    decide,
    local,
    past,
)

LDN = "Europe/London"


def at(hh, mm=0):
    return local(LDN, 2026, 6, 10, hh, mm)


def test_GB_HOURS_HOUSE():
    b = borrower("GB")
    d = decide(attempt(at(21, 30), "sms"), b)
    assert not d.allowed and d.rule_ids == ("GB.HOURS.HOUSE",)
    assert d.next_allowed_at == datetime(2026, 6, 11, 7, 0, tzinfo=UTC)  # 08:00 BST
    assert decide(attempt(at(20, 30), "sms"), b).allowed
    assert decide(attempt(at(7, 59), "email"), b).rule_ids == ("GB.HOURS.HOUSE",)
    assert decide(attempt(at(7, 59), "letter"), b).allowed  # letters have no window


def test_GB_CALLS_DAILY_CAP():
    b = borrower("GB")
    hist = [past(at(9)), past(at(10), outcome="busy", agency_id="agency-1")]
    d = decide(attempt(at(15)), b, hist)
    assert not d.allowed and d.rule_ids == ("GB.CALLS.DAILY_CAP",)
    assert d.next_allowed_at == datetime(2026, 6, 11, 7, 0, tzinfo=UTC)
    assert decide(attempt(at(15)), b, hist[:1]).allowed


def test_GB_DISPUTE_HOLD():
    assert_dispute_held_until_closed("GB", "GB.DISPUTE.HOLD")
