"""TW pack: one test per rule id, happy and unhappy paths."""

from datetime import timedelta

from tests.rulekit import (
    PACKS,
    assert_dispute_held_until_closed,
    attempt,
    borrower,
    decide,
    local,
    past,
)

TP = "Asia/Taipei"


def at(hh, mm=0):
    return local(TP, 2026, 6, 10, hh, mm)


def test_TW_HOURS_HOUSE():
    b = borrower("TW")
    d = decide(attempt(at(8, 30), "letter"), b)
    assert not d.allowed and d.rule_ids == ("TW.HOURS.HOUSE",)
    assert d.next_allowed_at == at(9, 0)
    assert decide(attempt(at(9, 0), "letter"), b).allowed
    late = decide(attempt(at(21, 0), "sms"), b)
    assert late.rule_ids == ("TW.HOURS.HOUSE",)
    assert late.next_allowed_at == at(9, 0) + timedelta(days=1)
    rule = next(r for p in PACKS for r in p.rules if r.id == "TW.HOURS.HOUSE")
    assert rule.kind.value == "house_policy"  # marked as such: no statutory hours known


def test_TW_CALLS_DAILY_CAP():
    b = borrower("TW")
    hist = [past(at(9, 30)), past(at(11), outcome="connected", agency_id="agency-1")]
    d = decide(attempt(at(15)), b, hist)
    assert not d.allowed and d.rule_ids == ("TW.CALLS.DAILY_CAP",)
    assert d.next_allowed_at == at(9, 0) + timedelta(days=1)
    assert decide(attempt(at(15)), b, hist[:1]).allowed


def test_TW_PARTIES_DEBTOR_GUARANTOR():
    b = borrower("TW", unreachable=True)
    assert decide(attempt(at(15), party="guarantor"), b).allowed
    assert decide(attempt(at(15)), b).allowed
    d = decide(attempt(at(15), party="third_party", purpose="locate"), b)
    assert not d.allowed and d.rule_ids == ("TW.PARTIES.DEBTOR_GUARANTOR",)
    assert d.next_allowed_at is None


def test_TW_RECORDING_RETENTION():
    rule = next(r for p in PACKS for r in p.rules if r.id == "TW.RECORDING.RETENTION")
    assert rule.is_obligation and rule.months == 6 and rule.channels == ("call",)
    # an obligation is listed, never a reason to block a contact
    d = decide(attempt(at(15)), borrower("TW"))
    assert d.allowed and "TW.RECORDING.RETENTION" not in d.rule_ids


def test_TW_DISPUTE_HOLD():
    assert_dispute_held_until_closed("TW", "TW.DISPUTE.HOLD")
