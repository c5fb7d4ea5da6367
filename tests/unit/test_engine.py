"""The compliance engine as a whole: inputs, pack selection, next_allowed_at, new rule types."""

import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from tests.rulekit import PACKS, RULES, attempt, borrower, decide, local, no_holidays, past

from arrears.adapters.portfolio.schema import OUTCOMES
from arrears.domain.compliance.engine import (
    CONTACT_OUTCOMES,
    NO_RULE_PACK,
    Attempt,
    BorrowerState,
    PastContact,
    applicable_packs,
    evaluate,
)
from arrears.domain.compliance.packs import RulePackError, parse_pack

NY = "America/New_York"


def test_outcomes_are_the_portfolio_outcomes_plus_reserved():
    assert (*OUTCOMES, "reserved") == CONTACT_OUTCOMES


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Attempt("B1", None, "call", datetime(2026, 6, 10, 12)), "Attempt.at"),
        (lambda: Attempt("B1", None, "fax", datetime(2026, 6, 10, tzinfo=UTC)), "Attempt.channel"),
        (
            lambda: Attempt("B1", None, "call", datetime(2026, 6, 10, tzinfo=UTC), party="boss"),
            "Attempt.party",
        ),
        (
            lambda: Attempt("B1", None, "visit", datetime(2026, 6, 10, tzinfo=UTC), staff_count=0),
            "Attempt.staff_count",
        ),
        (lambda: PastContact(datetime(2026, 6, 10, tzinfo=UTC), "call", None, "ok"), "outcome"),
        (lambda: BorrowerState("B1", "US", "Mars/Olympus"), "BorrowerState.timezone"),
        (lambda: BorrowerState("B1", "US", None, flags=frozenset({"rich"})), "flags"),
        (
            lambda: BorrowerState("B1", "CN", None, consent_hours=(time(22), time(8))),
            "consent_hours",
        ),
    ],
)
def test_bad_inputs_are_refused_naming_the_field(build, field):
    with pytest.raises(ValueError, match=re.escape(field)):
        build()


def test_attempt_for_another_borrower_is_refused():
    a = Attempt("B2", None, "call", local(NY, 2026, 6, 10, 12))
    with pytest.raises(ValueError, match="B2"):
        evaluate(a, [], borrower("US"), PACKS, no_holidays)


def test_no_jurisdiction_pack_blocks_everything():
    b = BorrowerState("B1", "FR", "Europe/Paris")
    d = decide(attempt(local("Europe/Paris", 2026, 6, 10, 12), "letter"), b)
    assert not d.allowed and d.rule_ids == (NO_RULE_PACK,) and d.next_allowed_at is None
    assert d.pack_refs == ()


def test_applicable_packs_layer_overlays_lender_and_global_packs():
    ids = [p.id for p in applicable_packs(borrower("US-NY-NYC"), PACKS)]
    assert set(ids) == {"ALL", "HOUSE", "US", "US-NY-NYC"}
    tw_with_us_lender = BorrowerState("B1", "TW", None, lender_jurisdictions=("US-MA",))
    ids = {p.id for p in applicable_packs(tw_with_us_lender, PACKS)}
    assert ids == {"ALL", "HOUSE", "TW", "US", "US-MA"}
    assert (
        applicable_packs(BorrowerState("B1", "FR", None, lender_jurisdictions=("GB",)), PACKS) == []
    )


def test_lender_jurisdiction_pack_applies_at_the_borrowers_location():
    # a TW borrower of a US lender: the federal 21:00 limit, read in Taipei, blocks an sms at
    # 21:30 (TW's own house window ends at 21:00 too), and the US 7-in-7 cap applies
    b = BorrowerState("B1", "TW", "Asia/Taipei", lender_jurisdictions=("US",))
    d = decide(attempt(local("Asia/Taipei", 2026, 6, 10, 21, 30), "sms"), b)
    assert set(d.rule_ids) == {"TW.HOURS.HOUSE", "US.HOURS.INCONVENIENT"}
    talk = past(local("Asia/Taipei", 2026, 6, 9, 10), outcome="rpc", conversation=True)
    d = decide(attempt(local("Asia/Taipei", 2026, 6, 10, 10)), b, [talk])
    assert d.rule_ids == ("US.WAIT.CONVERSATION",)


def test_allowed_decision_answers_its_own_time():
    a = attempt(local(NY, 2026, 6, 10, 12))
    d = decide(a, borrower("US"))
    assert d.allowed and d.rule_ids == () and d.next_allowed_at == a.at


def _earliest(d, a, b, hist=()):
    """next_allowed_at passes and one second earlier does not (exactness)."""
    nxt = d.next_allowed_at
    assert nxt is not None and nxt > a.at
    assert decide(Attempt(**{**_fields(a), "at": nxt}), b, hist).allowed
    assert not decide(Attempt(**{**_fields(a), "at": nxt - timedelta(seconds=1)}), b, hist).allowed
    return nxt


def _fields(a):
    return {f: getattr(a, f) for f in Attempt.__slots__}


def test_next_allowed_across_spring_forward_in_new_york():
    b = borrower("US")
    a = attempt(datetime(2026, 3, 8, 6, 0, tzinfo=UTC), "sms")  # 01:00 EST, clocks change at 02:00
    d = decide(a, b)
    assert _earliest(d, a, b) == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # 08:00 EDT


def test_next_allowed_across_fall_back_in_dublin():
    b = borrower("IE")
    # Sunday 25 Oct 2026 (clocks go back at 02:00 IST) then Monday 26 Oct is a bank holiday
    a = attempt(datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "call")
    d = decide(a, b)
    assert d.rule_ids == ("IE.DAYS.S46",)
    assert _earliest(d, a, b) == datetime(2026, 10, 27, 9, 0, tzinfo=UTC)  # Tue 09:00 GMT


def test_next_allowed_with_unknown_zone_across_dst():
    # zone unknown in the US on the night the clocks go forward: every zone must allow
    b = borrower("US", tz=None)
    a = attempt(datetime(2026, 3, 8, 3, 0, tzinfo=UTC), "sms")
    d = decide(a, b)
    # Honolulu (no DST, UTC-10) opens last at 08:00 = 18:00 UTC; New York closes at 21:00 EDT
    assert _earliest(d, a, b) == datetime(2026, 3, 8, 18, 0, tzinfo=UTC)


def test_next_allowed_waits_for_the_cap_then_the_window():
    b = borrower("US-MA")
    hist = [past(local(NY, 2026, 6, 4, 22, 30)), past(local(NY, 2026, 6, 8, 10))]
    a = attempt(local(NY, 2026, 6, 10, 12))
    d = decide(a, b, hist)
    assert d.rule_ids == ("US-MA.ROLLING.2IN7",)
    # the first one leaves the period at 22:30 on 11 Jun, outside the window: 08:00 on 12 Jun
    assert _earliest(d, a, b, hist) == local(NY, 2026, 6, 12, 8, 0)


def test_reserved_counts_as_a_conversation_until_its_outcome_is_known():
    b = borrower("US")
    pending = past(local(NY, 2026, 6, 9, 15), outcome="reserved")
    d = decide(attempt(local(NY, 2026, 6, 10, 15)), b, [pending])
    assert d.rule_ids == ("US.WAIT.CONVERSATION",)
    done = past(local(NY, 2026, 6, 9, 15), outcome="no_answer")
    assert decide(attempt(local(NY, 2026, 6, 10, 15)), b, [done]).allowed


def test_later_reservations_count_towards_caps():
    b = borrower("GB")
    later = [
        past(local("Europe/London", 2026, 6, 10, 16)),
        past(local("Europe/London", 2026, 6, 10, 17)),
    ]
    d = decide(attempt(local("Europe/London", 2026, 6, 10, 9)), b, later)
    assert d.rule_ids == ("GB.CALLS.DAILY_CAP",)


def _pack(rules, applies_to=("XX",)):
    return parse_pack(
        {"id": "XX", "version": "t", "applies_to": list(applies_to), "rules": rules}, "xx.yaml"
    )


def _rule(rid, rtype, params, **kw):
    return {
        "id": rid,
        "type": rtype,
        "kind": "house_policy",
        "description": "d",
        "source": {"instrument": "i", "provision": "p"},
        "effective_from": "2020-01-01",
        "params": params,
        **kw,
    }


def test_a_hold_that_ends_lifts_at_local_midnight():
    pack = _pack([_rule("XX.HOLD", "hold", {"flags": ["vulnerable"]}, effective_to="2026-06-11")])
    b = BorrowerState("B1", "XX", "Europe/Paris", flags=frozenset({"vulnerable"}))
    a = Attempt("B1", None, "sms", datetime(2026, 6, 10, 12, tzinfo=UTC))
    d = evaluate(a, [], b, [pack], no_holidays)
    assert d.rule_ids == ("XX.HOLD",)
    assert d.next_allowed_at == datetime(2026, 6, 11, 22, 0, tzinfo=UTC)  # 12 Jun 00:00 CEST


def test_nothing_within_the_horizon_gives_no_next_time():
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    pack = _pack([_rule("XX.NEVER", "no_contact_days", {"channels": ["sms"], "weekdays": days})])
    b = BorrowerState("B1", "XX", "Europe/Paris")
    d = evaluate(
        Attempt("B1", None, "sms", datetime(2026, 6, 10, 12, tzinfo=UTC)),
        [],
        b,
        [pack],
        no_holidays,
    )
    assert not d.allowed and d.next_allowed_at is None


def test_every_shipped_rule_has_a_test_named_by_its_id():
    names = set()
    for path in Path(__file__).parent.glob("test_rules_*.py"):
        names.update(re.findall(r"^def (test_\w+)\(", path.read_text(), flags=re.M))
    missing = [
        r.id
        for p in PACKS
        for r in p.rules
        if "test_" + r.id.replace(".", "_").replace("-", "_") not in names
    ]
    assert missing == []


def test_shipped_packs_are_versioned_and_dated():
    assert RULES.is_dir()
    for p in PACKS:
        assert re.fullmatch(r"\d{4}\.\d+", p.version)
        for r in p.rules:
            assert r.description and r.source.instrument and r.source.provision


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        (_rule("XX.C", "rolling_cap", {"max": -1, "days": 7}), "params.max"),
        (_rule("XX.C", "rolling_cap", {"max": 3, "days": 0}), "params.days"),
        (_rule("XX.C", "rolling_cap", {"max": 3, "days": 7, "per": "family"}), "params.per"),
        (_rule("XX.C", "rolling_cap", {"max": 3, "days": 7, "counts": "x"}), "params.counts"),
        (_rule("XX.C", "rolling_cap", {"max": 3, "days": 7, "window": 1}), "params.window"),
        (_rule("XX.H", "hold", {}), "params.flags"),
        (_rule("XX.H", "hold", {"flags": ["rich"]}), "params.flags"),
        (
            _rule("XX.H", "hold", {"flags": ["deceased"], "allow_purposes": ["sale"]}),
            "params.allow_purposes",
        ),
        (_rule("XX.P", "parties_allowed", {"parties": ["neighbour"]}), "params.parties"),
        (_rule("XX.V", "visit_staff", {"min_staff": 0}), "params.min_staff"),
        (
            _rule("XX.T", "third_party", {"require_unreachable": "yes"}),
            "params.require_unreachable",
        ),
        (_rule("XX.R", "record_keeping", {}), "params.months"),
        (
            _rule(
                "XX.H",
                "contact_hours",
                {"channels": ["sms"], "start": "08:00", "end": "20:00", "consent_overrides": 1},
            ),
            "params.consent_overrides",
        ),
    ],
)
def test_bad_new_rule_types_are_refused_naming_rule_and_field(rule, field):
    with pytest.raises(RulePackError) as err:
        _pack([rule])
    assert err.value.field == field and err.value.rule_id == rule["id"]
    assert "xx.yaml" in str(err.value)


def test_global_marker_must_stand_alone():
    with pytest.raises(RulePackError, match="stand alone"):
        _pack([], applies_to=("*", "CN"))
