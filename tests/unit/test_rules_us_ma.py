"""US-MA overlay (Massachusetts): one test per rule id."""

from datetime import timedelta

from tests.rulekit import attempt, borrower, decide, local, past

NY = "America/New_York"


def at(hh, mm=0, day=(2026, 6, 10)):
    return local(NY, *day, hh, mm)


def test_US_MA_CALLS_DAILY_CAP():
    b = borrower("US-MA")
    d = decide(attempt(at(15)), b, [past(at(9), account="A2")])
    assert not d.allowed
    assert set(d.rule_ids) == {"US.CALLS.DAILY_CAP", "US-MA.CALLS.DAILY_CAP"}
    assert decide(attempt(at(15)), b).allowed


def test_US_MA_ROLLING_2IN7():
    b = borrower("US-MA")
    hist = [
        past(at(10) - timedelta(days=5)),
        past(at(11) - timedelta(days=2), "sms", "delivered", account="A2"),
    ]
    d = decide(attempt(at(15)), b, hist)
    assert not d.allowed and d.rule_ids == ("US-MA.ROLLING.2IN7",)
    assert d.next_allowed_at == hist[0].at + timedelta(days=7)
    assert decide(attempt(at(15), "email"), b, hist).allowed  # e-mail is not telephone
    assert decide(attempt(at(15)), b, hist[1:]).allowed
    # outside Massachusetts the overlay does not apply
    assert decide(attempt(at(15)), borrower("US"), hist).allowed
