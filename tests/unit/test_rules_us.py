"""US federal pack (Regulation F, FDCPA): one test per rule id, happy and unhappy paths."""

from datetime import UTC, datetime, timedelta

from tests.rulekit import attempt, borrower, decide, local, past

NY = "America/New_York"


def at(hh, mm=0, day=(2026, 6, 10)):
    return local(NY, *day, hh, mm)


def days_ago(n, hh=10):
    return at(hh) - timedelta(days=n)


def test_US_HOURS_INCONVENIENT():
    b = borrower("US")
    d = decide(attempt(at(21, 0), "sms"), b)
    assert not d.allowed and d.rule_ids == ("US.HOURS.INCONVENIENT",)
    assert d.next_allowed_at == at(8, 0) + timedelta(days=1)
    assert decide(attempt(at(20, 59), "sms"), b).allowed
    # zone unknown: every US zone must allow it; 10:00 in New York is 04:00 in Honolulu
    unknown = borrower("US", tz=None)
    d = decide(attempt(at(10, 0), "sms"), unknown)
    assert d.rule_ids == ("US.HOURS.INCONVENIENT",)
    assert "every zone" in d.reasons[0]
    # it opens at 08:00 in Honolulu (HST, UTC-10), and must close by 21:00 in New York
    assert d.next_allowed_at == datetime(2026, 6, 10, 18, 0, tzinfo=UTC)
    assert decide(attempt(datetime(2026, 6, 11, 0, 59, tzinfo=UTC), "sms"), unknown).allowed
    assert not decide(attempt(datetime(2026, 6, 11, 1, 0, tzinfo=UTC), "sms"), unknown).allowed


def test_US_CALLS_DAILY_CAP():
    b = borrower("US")
    d = decide(attempt(at(15)), b, [past(at(9))])
    assert not d.allowed and d.rule_ids == ("US.CALLS.DAILY_CAP",)
    assert d.next_allowed_at == at(8) + timedelta(days=1)
    assert decide(attempt(at(15)), b, [past(days_ago(1))]).allowed


def test_US_ROLLING_7IN7():
    b = borrower("US")
    # 7 call attempts on debt A1 in the last 6 days (by the lender and an agency)
    hist = [past(days_ago(n)) for n in (6, 5, 4, 3, 2, 1)]
    hist.append(past(days_ago(3, hh=14), agency_id="agency-1"))
    d = decide(attempt(at(15)), b, hist)
    assert not d.allowed and d.rule_ids == ("US.ROLLING.7IN7",)
    # the oldest attempt (10:00, 6 days ago) leaves the 7-day period 7 x 24 h later
    assert d.next_allowed_at == at(10) + timedelta(days=1)
    # per debt: another account is not capped by calls about A1
    assert decide(attempt(at(15), account="A2"), b, hist).allowed
    assert decide(attempt(at(15)), b, hist[1:]).allowed


def test_US_WAIT_CONVERSATION():
    b = borrower("US")
    talk = past(days_ago(3, hh=15), outcome="rpc", conversation=True)
    d = decide(attempt(at(16)), b, [talk])
    assert not d.allowed and d.rule_ids == ("US.WAIT.CONVERSATION",)
    # the day of the conversation is day 1 of 7: calls again 7 x 24 h after it
    assert d.next_allowed_at == talk.at + timedelta(days=7)
    assert decide(attempt(at(16), account="A2"), b, [talk]).allowed  # another debt
    assert decide(attempt(at(16), "sms"), b, [talk]).allowed  # not a call
    no_talk = past(days_ago(3, hh=15), outcome="no_answer")
    assert decide(attempt(at(16)), b, [no_talk]).allowed


def test_US_CEASE():
    b = borrower("US", flags=frozenset({"cease_communication"}))
    d = decide(attempt(at(15)), b)
    assert not d.allowed and set(d.rule_ids) == {"US.CEASE", "ALL.HOLD.CEASE"}
    assert d.next_allowed_at is None
    assert decide(attempt(at(15), "letter", purpose="legal_notice"), b).allowed


def test_US_DISPUTE_HOLD():
    b = borrower("US", flags=frozenset({"dispute_open"}))
    d = decide(attempt(at(15), "email"), b)
    assert set(d.rule_ids) == {"US.DISPUTE.HOLD", "ALL.HOLD.DISPUTE"}
    assert decide(attempt(at(15), "letter", purpose="validation_notice"), b).allowed
    # the federal rule allows only the verification while the dispute is open
    legal = decide(attempt(at(15), "letter", purpose="legal_notice"), b)
    assert legal.rule_ids == ("US.DISPUTE.HOLD",)
    sent = borrower("US", flags=frozenset({"dispute_open", "validation_sent"}))
    assert decide(attempt(at(15), "email"), sent).allowed


def test_US_ATTORNEY():
    b = borrower("US", flags=frozenset({"represented"}))
    d = decide(attempt(at(15)), b)
    assert set(d.rule_ids) == {"US.ATTORNEY", "ALL.LAWYER_ONLY"}
    assert decide(attempt(at(15), party="lawyer"), b).allowed


def test_US_WORKPLACE():
    b = borrower("US", flags=frozenset({"no_workplace_contact"}))
    d = decide(attempt(at(15), to_workplace=True), b)
    assert set(d.rule_ids) == {"US.WORKPLACE", "ALL.NO_WORKPLACE"}
    assert decide(attempt(at(15)), b).allowed


def test_US_OPT_OUT_MEDIUM():
    b = borrower("US", opted_out=frozenset({"email"}))
    d = decide(attempt(at(15), "email"), b)
    assert set(d.rule_ids) == {"US.OPT_OUT.MEDIUM", "ALL.OPT_OUT"}
    assert decide(attempt(at(15), "sms"), b).allowed


def test_US_THIRD_PARTY_LOCATE():
    unreachable = borrower("US", unreachable=True)
    assert decide(attempt(at(15), party="third_party", purpose="locate"), unreachable).allowed
    d = decide(attempt(at(15), party="third_party"), unreachable)
    assert set(d.rule_ids) == {"US.THIRD_PARTY.LOCATE", "ALL.THIRD_PARTY.LOCATE_ONLY"}
    # the federal rule does not require unreachability; the house floor (ALL) does
    reachable = decide(attempt(at(15), party="third_party", purpose="locate"), borrower("US"))
    assert reachable.rule_ids == ("ALL.THIRD_PARTY.LOCATE_ONLY",)
