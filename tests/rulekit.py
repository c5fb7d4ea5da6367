"""Small builders for the rule-pack tests (tests/unit/test_rules_*.py, tests/property)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from arrears.adapters.rulepacks import is_public_holiday, load_packs
from arrears.domain.compliance.engine import (
    Attempt,
    BorrowerState,
    Decision,
    PastContact,
    evaluate,
)
from arrears.domain.compliance.packs import RulePack

RULES = Path(__file__).resolve().parents[1] / "rules"
PACKS = load_packs(RULES)

ZONES = {
    "CN": "Asia/Shanghai",
    "TW": "Asia/Taipei",
    "GB": "Europe/London",
    "IE": "Europe/Dublin",
    "US": "America/New_York",
    "US-MA": "America/New_York",
    "US-NY-NYC": "America/New_York",
    "US-WA": "America/Los_Angeles",
}


def no_holidays(_jurisdiction: str, _day: object) -> bool:
    return False


def local(zone: str, y: int, m: int, d: int, hh: int = 12, mm: int = 0) -> datetime:
    """A UTC instant from a local wall time in ``zone`` (fold 0)."""
    return datetime(y, m, d, hh, mm, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def borrower(jurisdiction: str, tz: str | bool | None = True, **kw: object) -> BorrowerState:
    """A borrower ``B1``; ``tz=True`` takes the jurisdiction's usual zone, None = unknown."""
    zone = ZONES[jurisdiction] if tz is True else tz
    return BorrowerState("B1", jurisdiction, zone or None, **kw)  # type: ignore[arg-type]


def attempt(
    at: datetime, channel: str = "call", account: str | None = "A1", **kw: object
) -> Attempt:
    return Attempt("B1", account, channel, at, **kw)  # type: ignore[arg-type]


def past(
    at: datetime,
    channel: str = "call",
    outcome: str = "no_answer",
    account: str | None = "A1",
    **kw: object,
) -> PastContact:
    return PastContact(at, channel, account, outcome, **kw)  # type: ignore[arg-type]


def decide(
    a: Attempt,
    b: BorrowerState,
    history: Sequence[PastContact] = (),
    packs: Sequence[RulePack] = PACKS,
    holidays: object = is_public_holiday,
) -> Decision:
    return evaluate(a, history, b, packs, holidays)  # type: ignore[arg-type]


def assert_dispute_held_until_closed(jurisdiction: str, rule_id: str) -> None:
    """``rule_id`` holds a dispute in ``jurisdiction`` until it is closed: unlike the US route,
    sending the validation notice does not lift it (ALL.HOLD.DISPUTE does lift; this rule does
    not); a legal notice still goes, and a borrower with no dispute is not held."""
    noon = local(ZONES[jurisdiction], 2026, 6, 10, 12, 0)  # a Wednesday, inside every window
    disputed = borrower(jurisdiction, flags=frozenset({"dispute_open"}))
    d = decide(attempt(noon, "sms"), disputed)
    assert not d.allowed and set(d.rule_ids) == {"ALL.HOLD.DISPUTE", rule_id}
    assert d.next_allowed_at is None
    sent = borrower(jurisdiction, flags=frozenset({"dispute_open", "validation_sent"}))
    d = decide(attempt(noon, "sms"), sent)
    assert not d.allowed and d.rule_ids == (rule_id,)
    assert decide(attempt(noon, "letter", purpose="legal_notice"), sent).allowed
    assert decide(attempt(noon, "sms"), borrower(jurisdiction)).allowed
