"""US-NY-NYC overlay (New York City): one test per rule id."""

from datetime import timedelta

from tests.rulekit import attempt, borrower, decide, local, past

NY = "America/New_York"


def at(hh, mm=0, day=(2026, 6, 10)):
    return local(NY, *day, hh, mm)


def test_US_NY_NYC_ROLLING_3IN7():
    b = borrower("US-NY-NYC")
    hist = [
        past(at(10) - timedelta(days=5), "letter", "delivered"),
        past(at(10) - timedelta(days=3), "email", "delivered", account="A2"),
        past(at(10) - timedelta(days=1), "call", "no_answer"),
    ]
    d = decide(attempt(at(15), "sms"), b, hist)
    assert not d.allowed and d.rule_ids == ("US-NY-NYC.ROLLING.3IN7",)
    assert d.next_allowed_at == hist[0].at + timedelta(days=7)
    assert decide(attempt(at(15), "sms"), b, hist[1:]).allowed
    # not yet in force before the amended rules took effect
    before = [past(c.at.replace(year=2025, month=6), c.channel, c.outcome) for c in hist]
    assert decide(attempt(at(15, day=(2025, 6, 10)), "sms"), b, before).allowed
