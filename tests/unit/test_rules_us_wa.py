"""US-WA overlay (Washington): one test per rule id."""

from datetime import timedelta

from tests.rulekit import attempt, borrower, decide, local, past

LA = "America/Los_Angeles"


def at(hh, mm=0, day=(2026, 6, 10)):
    return local(LA, *day, hh, mm)


def test_US_WA_ROLLING_3PERWEEK():
    b = borrower("US-WA")
    hist = [
        past(at(10) - timedelta(days=6), "letter", "delivered"),
        past(at(10) - timedelta(days=4), "email", "delivered"),
        past(at(10) - timedelta(days=1), "sms", "delivered"),
    ]
    d = decide(attempt(at(15), "email"), b, hist)
    assert not d.allowed and d.rule_ids == ("US-WA.ROLLING.3PERWEEK",)
    assert d.next_allowed_at == hist[0].at + timedelta(days=7)
    older = [past(at(10) - timedelta(days=8), "letter", "delivered"), *hist[1:]]
    assert decide(attempt(at(15), "email"), b, older).allowed
