"""HOUSE pack (an example lender policy layered on every jurisdiction)."""

from datetime import UTC, datetime

from tests.rulekit import attempt, borrower, decide, local

LONDON = "Europe/London"


def test_HOUSE_CALLS_EVENING():
    b = borrower("GB")
    late = local(LONDON, 2026, 6, 10, 20, 30)
    d = decide(attempt(late, "call"), b)
    # GB's own window runs to 21:00: only the house policy blocks the call
    assert not d.allowed and d.rule_ids == ("HOUSE.CALLS.EVENING",)
    assert d.next_allowed_at == datetime(2026, 6, 11, 7, 0, tzinfo=UTC)  # 08:00 BST
    assert decide(attempt(local(LONDON, 2026, 6, 10, 19, 59), "call"), b).allowed
    assert decide(attempt(late, "sms"), b).allowed  # calls only
    assert "HOUSE@2026.2" in d.pack_refs
