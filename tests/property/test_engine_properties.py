"""Property: whatever is attempted over several weeks, what the engine allows breaks nothing.

Random borrowers (CN, US-MA, US with an unknown zone, US-NY-NYC, IE, GB, TW; random flags,
opt-outs, consent hours, reachability) get random sequences of attempts over five weeks that
straddle the daylight-saving changes of America/New_York and Europe/Dublin. Each allowed
attempt goes into the history with a random outcome. An independent, deliberately plain
re-computation then checks every allowed attempt against every window, cap, wait and hold
(read straight from the pack data: local wall-clock hours in every candidate zone, counts over
plain 24-hour periods), and every ``next_allowed_at`` is checked to pass, with the instant one
second before it still blocked.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.rulekit import PACKS

from arrears.adapters.rulepacks import is_public_holiday
from arrears.domain.compliance.check import candidate_zones
from arrears.domain.compliance.engine import (
    CONTACT_OUTCOMES,
    Attempt,
    BorrowerState,
    PastContact,
    evaluate,
)
from arrears.domain.compliance.packs import Rule

BORROWERS = [
    ("CN", "Asia/Shanghai"),
    ("US-MA", "America/New_York"),
    ("US", None),
    ("US-NY-NYC", "America/New_York"),
    ("IE", "Europe/Dublin"),
    ("GB", "Europe/London"),
    ("TW", "Asia/Taipei"),
]
# five weeks around the spring and the autumn changes of New York and Dublin
STARTS = [datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 10, 12, tzinfo=UTC)]
FLAGS = [
    "cease_communication",
    "dispute_open",
    "validation_sent",
    "represented",
    "vulnerable",
    "deceased",
    "complaint_open",
    "no_workplace_contact",
]
CHANNELS = ["call", "call", "call", "sms", "email", "letter", "visit", "wechat"]
CONNECTED = {"connected", "rpc", "ptp"}
UNANSWERED = {"no_answer", "busy", "voicemail", "failed"}

attempt_spec = st.tuples(
    # (day, quarter hour of the local day): mostly waking hours, sometimes any time at all
    st.tuples(st.integers(0, 34), st.one_of(st.integers(24, 95), st.integers(0, 95))),
    st.sampled_from(CHANNELS),
    st.sampled_from(["A1", "A2", None]),
    st.sampled_from(["borrower"] * 6 + ["lawyer", "third_party", "guarantor"]),
    st.sampled_from(["collection"] * 5 + ["locate", "validation_notice", "legal_notice"]),
    st.sampled_from(["N1", "N2", None]),
    st.integers(1, 2),
    st.booleans(),
    st.sampled_from(CONTACT_OUTCOMES),
    st.booleans(),
)


@st.composite
def scenarios(draw):
    j, tz = draw(st.sampled_from(BORROWERS))
    flags = draw(
        st.one_of(  # half unflagged, so that caps and windows get exercised
            st.just(()),
            st.just(()),
            st.sampled_from(FLAGS).map(lambda f: (f,)),
            st.tuples(st.sampled_from(FLAGS), st.sampled_from(FLAGS)),
        )
    )
    opted = draw(st.lists(st.sampled_from(["sms", "email", "call"]), max_size=1))
    if draw(st.booleans()):
        opted = []
    consent = draw(st.sampled_from([None, None, (time(7, 0), time(23, 0)), (time(9), time(0))]))
    b = BorrowerState(
        "B1",
        j,
        tz,
        flags=frozenset(flags),
        opted_out=frozenset(opted),
        consent_hours=consent if j == "CN" else None,
        unreachable=draw(st.booleans()),
    )
    start = draw(st.sampled_from(STARTS))
    zone = ZoneInfo(candidate_zones(j, tz)[0])
    specs = []
    for (day, quarter), *rest in draw(st.lists(attempt_spec, min_size=5, max_size=40)):
        wall = datetime.combine(
            start.date() + timedelta(days=day), time(quarter // 4, 15 * (quarter % 4))
        )
        specs.append((wall.replace(tzinfo=zone).astimezone(UTC), *rest))
    specs.sort(key=lambda s: s[0])
    return b, specs


def _rules(b: BorrowerState, on, channel: str, rtype: str) -> list[Rule]:
    return [
        r
        for p in PACKS
        if p.applies(b.jurisdiction)
        for r in p.rules
        if r.type == rtype and r.in_force(on) and channel in r.channels
    ]


def _counted(p: PastContact, counts: str) -> bool:
    if p.outcome == "reserved" or counts == "attempts":
        return True
    if counts == "connected":
        return p.outcome in CONNECTED or p.conversation
    if counts == "conversations":
        return p.conversation
    return p.outcome in UNANSWERED


def _same(a, b) -> bool:
    return a is None or b is None or a == b


def check_allowed(a: Attempt, b: BorrowerState, final: list[PastContact], me: PastContact):
    """Plain re-computation: the allowed attempt ``a`` (recorded as ``me``) breaks no rule."""
    zones = [ZoneInfo(z) for z in candidate_zones(b.jurisdiction, b.timezone)]
    on = a.at.astimezone(zones[0]).date()
    for z in zones:
        local = a.at.astimezone(z)
        for r in _rules(b, local.date(), a.channel, "contact_hours"):
            start, end, midnight = r.start, r.end, r.end_is_midnight
            if r.consent_overrides and b.consent_hours:
                start, end = b.consent_hours
                midnight = end == time(0)
            assert start <= local.time(), (r.id, local)
            assert midnight or local.time() < end, (r.id, local)
        for r in _rules(b, local.date(), a.channel, "no_contact_days"):
            assert local.weekday() not in r.weekdays, (r.id, local)
            assert not (r.public_holidays and is_public_holiday(b.jurisdiction, local.date()))
    for r in _rules(b, on, a.channel, "daily_call_cap"):
        z = zones[0]
        same_day = [
            p
            for p in final
            if p.channel == "call"
            and p.at.astimezone(z).date() == a.at.astimezone(z).date()
            and p.at <= a.at
            and _counted(p, r.counts)
        ]
        assert len(same_day) <= r.max_calls, r.id
    for r in _rules(b, on, a.channel, "rolling_cap"):
        key = {"borrower": None, "account": "account_id", "number": "number"}[r.per]
        mine = None if key is None else getattr(me, key)
        counted = [
            p
            for p in final
            if p.channel in r.channels
            and _counted(p, r.counts)
            and a.at - timedelta(days=r.days) < p.at <= a.at
            and (key is None or _same(getattr(p, key), mine))
        ]
        if r.period == "local_day":
            z = zones[0]
            counted = [p for p in counted if p.at.astimezone(z).date() == a.at.astimezone(z).date()]
        assert len(counted) <= r.limit, r.id
    for r in _rules(b, on, a.channel, "wait_after_conversation"):
        for p in final:
            if (
                p is me
                or p.channel not in r.channels
                or not (p.conversation or p.outcome == "reserved")
            ):
                continue
            if r.per == "account" and not _same(p.account_id, a.account_id):
                continue
            assert not (p.at <= a.at < p.at + timedelta(days=r.days)), r.id
    for r in _rules(b, on, a.channel, "hold"):
        if set(r.flags) & b.flags and not set(r.until_flags) & b.flags:
            assert a.purpose in r.allow_purposes, r.id
    assert a.channel not in b.opted_out
    if "represented" in b.flags:
        assert a.party == "lawyer"
    if "no_workplace_contact" in b.flags:
        assert not a.to_workplace
    if a.party == "third_party":
        assert a.purpose == "locate" and b.unreachable
    for r in _rules(b, on, a.channel, "parties_allowed"):
        assert a.party in r.parties, r.id
    if a.channel == "visit":
        for r in _rules(b, on, a.channel, "visit_staff"):
            assert a.staff_count >= r.min_staff, r.id


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenarios())
def test_allowed_attempts_never_break_a_window_cap_or_hold(scenario):
    b, specs = scenario
    history: list[PastContact] = []
    allowed: list[tuple[Attempt, PastContact]] = []
    checked_next = 0
    for at, channel, acct, party, purpose, number, staff, work, outcome, talk in specs:
        a = Attempt(
            "B1",
            acct,
            channel,
            at,
            party=party,
            purpose=purpose,
            number=number if channel == "call" else None,
            staff_count=staff,
            to_workplace=work,
        )
        d = evaluate(a, history, b, PACKS, is_public_holiday)
        assert d.allowed == (not d.rule_ids)
        if d.allowed:
            outcome = "delivered" if channel != "call" and outcome in CONNECTED else outcome
            me = PastContact(
                a.at,
                channel,
                acct,
                outcome,
                party=party,
                number=a.number,
                conversation=talk and channel == "call" and outcome in CONNECTED,
            )
            history.append(me)
            allowed.append((a, me))
        elif d.next_allowed_at is not None and checked_next < 3:
            checked_next += 1
            nxt = d.next_allowed_at
            assert nxt > a.at and nxt.tzinfo is UTC
            later = Attempt(**{**{f: getattr(a, f) for f in Attempt.__slots__}, "at": nxt})
            assert evaluate(later, history, b, PACKS, is_public_holiday).allowed
            before = Attempt(
                **{
                    **{f: getattr(a, f) for f in Attempt.__slots__},
                    "at": nxt - timedelta(seconds=1),
                }
            )
            assert not evaluate(before, history, b, PACKS, is_public_holiday).allowed
    for a, me in allowed:
        check_allowed(a, b, history, me)
