"""Differential test: the batch planner and the gate's evaluate() agree, contact by contact.

The planner (``plan_contacts``) decides a day's contacts in one vectorised pass; the gate
decides one attempt at a time with ``evaluate()``. Here the day is replayed through
``evaluate()`` the way the gate would see it: each borrower's contacts in the planner's
priority order (highest arrears, then account id, then the path's channel order), with the
borrower's imported outbound contact history (as the gate reads it: ``rpc``/``ptp`` are
conversations) plus a reservation, made at the start of the local day, for every contact
planned before. Then, for every contact:

* planned with window ``[s, e)``: ``evaluate()`` allows it at every instant where a rule's
  answer can change inside the window (every cap expiry, wait start and end derived from the
  history, with the microsecond on either side) and at random instants; every such instant of
  the time window before ``s`` is refused (the planner takes the first stretch allowed), and
  so is ``e`` unless the time window ends there;
* refused: ``evaluate()`` refuses it at the first instant it could have been made (the start
  of its time window, or of the channel's planning window on a closed day) naming exactly the
  planner's rule ids, in the same order, with the same reasons (counts included; a wait's
  reason does not name the conversation), and refuses it at every other instant of the
  window.

The time window is recomputed here from ``allowed_window`` and the channel's planning hours.
Inputs: Hypothesis draws borrowers in every shipped jurisdiction and the US state overlays
(known and unknown time zones, and one no pack covers), every status flag, opt-outs,
histories around the plan day (conversations, unanswered calls, contacts on the day itself and
after it, instants a microsecond either side of the 7-day boundaries), several accounts per
borrower with arrears ties, treatment paths over every channel, on days with daylight-saving
changes, a Sunday and an Irish public holiday; and a generated portfolio with its own history,
flags and opt-outs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from arrears.adapters.portfolio.schema import OUTCOMES, parse_consent
from arrears.adapters.portfolio.synthetic import generate_portfolio
from arrears.adapters.rulepacks import is_public_holiday, load_packs
from arrears.domain.compliance.check import (
    allowed_window,
    candidate_zones,
    describe,
    local_to_utc,
)
from arrears.domain.compliance.engine import (
    RESERVED,
    Attempt,
    BorrowerState,
    Decision,
    PastContact,
    applicable_packs,
    consent_applies,
    evaluate,
    with_consent_hours,
)
from arrears.domain.compliance.packs import BORROWER_FLAGS, RulePack, parse_pack
from arrears.domain.strategy import CHANNEL_WINDOWS, TREATMENT_PURPOSE, Treatment
from arrears.pipeline.plan import plan_contacts

RULES = Path(__file__).resolve().parents[2] / "rules"
PACKS = load_packs(RULES)
US = timedelta(microseconds=1)
WAIT_REASON = (
    "{r.days}-day wait after a conversation (or a contact reserved earlier) on {channels}: {rule}"
)
CHANNELS = ("call", "sms", "email", "letter", "app_push", "wechat", "visit")
PATH_CHANNELS = ("call", "call", "call", "sms", "sms", *CHANNELS[2:])


@dataclass(frozen=True)
class Window:
    start: datetime | None  # the time window: allowed hours within the planning hours
    end: datetime | None
    first: datetime  # first instant the contact could be made
    day_start: datetime  # start of the local day in every candidate zone


def time_window(
    day: date,
    jurisdiction: str,
    tz: str | None,
    channel: str,
    packs: Sequence[RulePack] = PACKS,
    lender: tuple[str, ...] = (),
    consent: tuple[time, time] | None = None,
) -> Window:
    zones = [ZoneInfo(z) for z in candidate_zones(jurisdiction, tz)]
    lo, hi = (time.fromisoformat(x) for x in CHANNEL_WINDOWS[channel])
    plan_s = max(local_to_utc(day, lo, z, side="start") for z in zones)
    plan_e = min(local_to_utc(day, hi, z, side="end") for z in zones)
    day_s = max(local_to_utc(day, time(0), z, side="start") for z in zones)
    state = BorrowerState("_", jurisdiction, tz, lender_jurisdictions=lender)
    applicable = with_consent_hours(applicable_packs(state, packs), consent)
    w = allowed_window(
        day, jurisdiction, tz, channel, applicable, is_public_holiday, preselected=True
    )
    if w.open:
        assert w.start is not None and w.end is not None
        s, e = max(w.start, plan_s), min(w.end, plan_e)
        if s < e:
            return Window(s, e, s, day_s)
    return Window(None, None, max(plan_s, day_s), day_s)


def imported(history: pl.DataFrame) -> dict[str, list[PastContact]]:
    """Outbound history per borrower, as the gate reads imported contact history."""
    out: dict[str, list[PastContact]] = {}
    for r in history.filter(pl.col("direction") == "outbound").iter_rows(named=True):
        out.setdefault(r["borrower_id"], []).append(
            PastContact(
                at=r["started_at"],
                channel=r["channel"],
                account_id=r["account_id"],
                outcome=r["outcome"],
                agency_id=r["agent_id"] or "imported",
                conversation=r["outcome"] in ("rpc", "ptp"),
            )
        )
    return out


def breakpoints(
    past: Sequence[PastContact], jurisdiction: str, tz: str | None, periods: Sequence[int]
) -> set[datetime]:
    """Every instant where a cap, a wait or a rolling period can start or stop counting."""
    zones = [ZoneInfo(z) for z in candidate_zones(jurisdiction, tz)]
    out: set[datetime] = set()
    for p in past:
        out.update((p.at, p.at + US))
        for n in periods:
            span = timedelta(days=n)
            out.update((p.at + span, p.at + span - US, p.at - span, p.at - span + US))
            for z in zones:
                m = local_to_utc(p.at.astimezone(z).date() + span, time(0), z, side="start")
                out.update((m, m - US))
    return out


def decide(
    bid: str,
    account: str,
    channel: str,
    at: datetime,
    past: list[PastContact],
    b: BorrowerState,
    packs: Sequence[RulePack],
    purpose: str = "collection",
) -> Decision:
    a = Attempt(bid, account, channel, at, purpose=purpose)
    return evaluate(a, past, b, packs, is_public_holiday)


def check_agreement(
    day: date,
    decisions: pl.DataFrame,
    borrowers: pl.DataFrame,
    history: pl.DataFrame,
    fractions: Sequence[float] = (0.5,),
    packs: Sequence[RulePack] = PACKS,
    lender: tuple[str, ...] = (),
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Replay the day through evaluate(); assert it agrees with the planner (``lender``: the
    lender's jurisdictions, whose packs apply to every borrower too).

    Returns the planner's ``contacts`` and ``blocked`` frames.
    """
    contacts, blocked = plan_contacts(
        decisions, borrowers, history, day, packs, is_public_holiday, lender
    )
    periods = sorted({r.days for p in packs for r in p.rules if r.days} | {1})
    planned = {(r["account_id"], r["channel"]): r for r in contacts.iter_rows(named=True)}
    refused = {(r["account_id"], r["channel"]): r for r in blocked.iter_rows(named=True)}
    assert len(planned) == contacts.height and len(refused) == blocked.height
    assert not set(planned) & set(refused)
    flag_cols = [f for f in BORROWER_FLAGS if f in borrowers.columns]
    states = {}
    for r in borrowers.iter_rows(named=True):
        opted = r.get("opt_out_channels") or ""
        states[r["borrower_id"]] = BorrowerState(
            r["borrower_id"],
            r["jurisdiction"],
            r["timezone"] or None,
            flags=frozenset(f for f in flag_cols if r[f]),
            opted_out=frozenset(c for c in opted.split("|") if c),
            consent_hours=parse_consent(r.get("consent_hours"))[0],
            consent_by_channel=parse_consent(r.get("consent_hours"))[1],
            lender_jurisdictions=lender,
        )
    past_of = imported(history)
    # the purpose of each account's contacts, from its treatment (as the planner reads it)
    purpose_of = {
        r["account_id"]: TREATMENT_PURPOSE.get(Treatment(r["treatment"]), "collection")
        for r in decisions.iter_rows(named=True)
    }
    rows = []
    for r in decisions.iter_rows(named=True):
        for i, ch in enumerate(c for c in (r["channels"] or "").split("|") if c):
            rows.append((r["borrower_id"], -r["arrears_minor"], r["account_id"], i, ch))
    rows.sort()
    seen = 0
    for bid, _, account, _, channel in rows:
        b = states[bid]
        past = past_of.setdefault(bid, [])
        consent = b.consent_for(channel) if consent_applies("borrower", channel) else None
        w = time_window(day, b.jurisdiction, b.timezone, channel, packs, lender, consent)
        key = (account, channel)
        inside: list[datetime] = []
        if w.start is not None and w.end is not None:
            span = w.end - w.start
            cands = breakpoints(past, b.jurisdiction, b.timezone, periods)
            cands |= {w.start, w.end - US}
            cands |= {w.start + span * f for f in fractions}
            if key in planned:
                p = planned[key]
                cands |= {p["_start_utc"], p["_start_utc"] - US, p["_end_utc"], p["_end_utc"] - US}
            inside = sorted(t for t in cands if w.start <= t < w.end)
        if key in planned:
            p = planned[key]
            s, e = p["_start_utc"], p["_end_utc"]
            assert w.start is not None and w.end is not None, (key, "planned on a closed day")
            assert w.start <= s < e <= w.end, (key, s, e, w)
            assert datetime.fromisoformat(p["window_start"]) == s
            assert datetime.fromisoformat(p["window_end"]) == e
            for t in inside:
                d = decide(bid, account, channel, t, past, b, packs, purpose_of[account])
                if s <= t < e:
                    assert d.allowed, (key, "planned but the engine refuses", t, d.rule_ids, s, e)
                elif t < s:
                    assert not d.allowed, (key, "the window could start earlier", t, s)
            if e < w.end:
                d = decide(bid, account, channel, e, past, b, packs, purpose_of[account])
                assert not d.allowed, (key, "the window could end later", e, w.end)
            past.append(PastContact(w.day_start, channel, account, "reserved"))
        else:
            assert key in refused, (key, "neither planned nor refused")
            got = refused[key]
            d = decide(bid, account, channel, w.first, past, b, packs, purpose_of[account])
            assert not d.allowed, (key, "refused but the engine allows", w.first)
            assert tuple(got["rule_ids"].split("|")) == d.rule_ids, (
                key,
                got["rule_ids"],
                d.rule_ids,
                w.first,
            )
            # the reasons are the engine's, but for a wait, which the planner does not pin
            # on one conversation
            rules = {r.id: r for p in packs for r in p.rules}
            expected = [
                WAIT_REASON.format(
                    r=rules[i], channels="/".join(rules[i].channels), rule=describe(rules[i])
                )
                if i in rules and rules[i].type == "wait_after_conversation"
                else why
                for i, why in zip(d.rule_ids, d.reasons, strict=True)
            ]
            assert got["reason"] == "; ".join(expected), (key, got["reason"], expected)
            for t in inside:
                d = decide(bid, account, channel, t, past, b, packs, purpose_of[account])
                assert not d.allowed, (key, "refused but the engine allows", t)
        seen += 1
    assert seen == contacts.height + blocked.height
    return contacts, blocked


# --- Hypothesis: small portfolios built to reach every rule kind ------------------------------

BORROWERS = [
    ("CN", "Asia/Shanghai"),
    ("TW", "Asia/Taipei"),
    ("GB", "Europe/London"),
    ("IE", "Europe/Dublin"),
    ("US-MA", "America/New_York"),
    ("US-MA", None),
    ("US-WA", "America/Los_Angeles"),
    ("US-NY-NYC", "America/New_York"),
    ("US-NY-NYC", None),
    ("US-CA", "America/Los_Angeles"),
    ("US", None),
    ("US-TX", None),
    ("FR", "Europe/Paris"),  # no pack covers it: NO_RULE_PACK
]
DAYS = [
    date(2026, 3, 8),  # New York springs forward
    date(2026, 3, 17),  # St Patrick's Day: an Irish public holiday
    date(2026, 10, 25),  # Europe falls back; a Sunday
    date(2026, 11, 1),  # New York falls back; a Sunday
    date(2026, 12, 1),
]
FLAG_CHOICES = [
    "cease_communication",
    "dispute_open",
    "validation_sent",
    "complaint_open",
    "deceased",
    "bankrupt",
    "represented",
    "vulnerable",
    "hardship_pause",
    "no_workplace_contact",
]
# anchors of the plan day's local time (hours) from which history instants are offset
ANCHORS = [0, 8, 9, 10, 12.5, 18, 19.99, 21, 23.5]

history_item = st.tuples(
    # days from the plan date: mostly the edges of a 7-day period and the day itself
    st.sampled_from([-8, -7, -7, -7, -6, -2, -1, 0, 0, 1, 7, 7]),
    st.sampled_from(ANCHORS),
    st.one_of(  # offset from the anchor
        st.just(timedelta(0)),
        st.sampled_from([-1, 1]).map(lambda us: timedelta(microseconds=us)),
        st.integers(-300, 300).map(lambda m: timedelta(minutes=m)),
    ),
    st.sampled_from(["call", "call", "call", "sms", "email", "letter", "wechat"]),
    # imported outcomes and gate reservations (gate_contacts_frame writes them as "reserved")
    st.sampled_from([*OUTCOMES, RESERVED]),
    st.integers(0, 3),  # account index (3: none)
    st.sampled_from(["outbound"] * 6 + ["inbound"]),
    st.sampled_from([1, 1, 1, 3, 6, 7]),  # repeated that many times (a burst that fills a cap)
    st.sampled_from([0, 1, 1]),  # days between repeats (0: the same day, an hour apart)
)


def borrower_spec(places: list[tuple[str, str | None]]) -> st.SearchStrategy:
    """(place, flags, opted-out channels, accounts, history, consent hours) of one borrower."""
    return st.tuples(
        st.sampled_from(places),
        st.one_of(st.just(()), st.just(()), st.lists(st.sampled_from(FLAG_CHOICES), max_size=2)),
        st.one_of(st.just(()), st.just(()), st.lists(st.sampled_from(CHANNELS), max_size=2)),
        st.lists(  # accounts: (arrears, path channels)
            st.tuples(
                st.sampled_from([100, 100, 500, 2500]),
                st.lists(st.sampled_from(PATH_CHANNELS), min_size=0, max_size=4, unique=True),
            ),
            min_size=1,
            max_size=3,
        ),
        st.lists(history_item, max_size=8),
        # hours the borrower agreed to (they replace the CN window), for every channel or per
        # channel (stored form: 24:00 written 00:00): mostly none
        st.sampled_from(
            [
                None,
                None,
                None,
                "07:00-23:00",
                "06:30-00:00",
                "09:00-17:00",
                "call=07:00-23:00",
                "sms=06:30-00:00|call=09:00-17:00",
                "09:00-17:00|call=07:00-23:00|email=06:00-00:00",
            ]
        ),
    )


def build(day: date, specs: list) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    b_rows, d_rows, h_rows = [], [], []
    for n, spec in enumerate(specs):
        (jur, tz), flags, opted, accounts, hist, *more = spec  # explicit examples: no consent
        consent = more[0] if more else None
        bid = f"B{n:02d}"
        b_rows.append(
            {
                "borrower_id": bid,
                "jurisdiction": jur,
                "timezone": tz,
                **{f: f in flags for f in FLAG_CHOICES},
                "opt_out_channels": "|".join(opted) or None,
                "consent_hours": consent,
            }
        )
        for k, (arrears, path) in enumerate(accounts):
            d_rows.append(
                {
                    "account_id": f"{bid}A{k}",
                    "borrower_id": bid,
                    # the largest arrears get a hardship review (purpose support) now and then
                    "treatment": "hardship_review" if arrears == 2500 and k == 0 else "call",
                    "score": 0.5,
                    "arrears_minor": arrears,
                    "channels": "|".join(path),
                }
            )
        zone = ZoneInfo(candidate_zones(jur, tz)[0])
        for m, (dd, anchor, off, ch, outcome, acc, direction, repeat, step) in enumerate(hist):
            local = datetime.combine(day + timedelta(days=dd), time(0), tzinfo=zone)
            at = (local + timedelta(hours=anchor)).astimezone(UTC) + off
            for k in range(repeat):
                h_rows.append(
                    {
                        "contact_id": f"{bid}C{m}.{k}",
                        "borrower_id": bid,
                        "account_id": f"{bid}A{acc}" if acc < len(accounts) else None,
                        "channel": ch,
                        "direction": direction,
                        "started_at": at - timedelta(days=k * step, hours=k * (1 - step)),
                        "outcome": outcome,
                        "agent_id": "A1" if ch == "call" else None,
                    }
                )
    borrowers = pl.DataFrame(
        b_rows,
        schema={
            "borrower_id": pl.String,
            "jurisdiction": pl.String,
            "timezone": pl.String,
            **{f: pl.Boolean for f in FLAG_CHOICES},
            "opt_out_channels": pl.String,
            "consent_hours": pl.String,
        },
    )
    decisions = pl.DataFrame(
        d_rows,
        schema={
            "account_id": pl.String,
            "borrower_id": pl.String,
            "treatment": pl.String,
            "score": pl.Float64,
            "arrears_minor": pl.Int64,
            "channels": pl.String,
        },
    )
    history = pl.DataFrame(
        h_rows,
        schema={
            "contact_id": pl.String,
            "borrower_id": pl.String,
            "account_id": pl.String,
            "channel": pl.String,
            "direction": pl.String,
            "started_at": pl.Datetime("us", "UTC"),
            "outcome": pl.String,
            "agent_id": pl.String,
        },
    )
    return decisions, borrowers, history


@settings(
    max_examples=120,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.sampled_from(DAYS),
    st.lists(borrower_spec(BORROWERS), min_size=1, max_size=4),
    st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=3),
    # the lender's jurisdictions: their packs apply to every borrower as well
    st.sampled_from([(), (), (), ("CN",), ("GB",), ("US",), ("IE", "TW"), ("US-NY-NYC",)]),
)
def test_planner_and_gate_agree_on_every_rule(day, specs, fractions, lender):
    decisions, borrowers, history = build(day, specs)
    contacts, blocked = check_agreement(
        day, decisions, borrowers, history, fractions, PACKS, lender
    )
    for ids in blocked["rule_ids"]:  # coverage, shown by --hypothesis-show-statistics
        for rid in ids.split("|"):
            event(f"refused by {rid}")
    for r in contacts.iter_rows(named=True):
        tz = r["borrower_timezone"] or None
        w = time_window(day, r["jurisdiction"], tz, r["channel"], PACKS, lender)
        if (r["_start_utc"], r["_end_utc"]) != (w.start, w.end):
            event("planned in a narrowed window")
    if lender:
        event(f"lender in {'+'.join(lender)}")


def test_a_conversation_and_the_caps_reach_the_plan():
    """Examples the property must cover, spelled out: caps, waits and holds block or narrow."""
    day = date(2026, 12, 1)
    ny = ZoneInfo("America/New_York")
    specs = [
        # NYC: 3 contacts (any medium) in the last 7 days; the oldest expires at 10:00 today
        (
            ("US-NY-NYC", "America/New_York"),
            (),
            (),
            [(100, ["call", "email"])],
            [
                (-7, 10, timedelta(0), "sms", "delivered", 0, "outbound", 1, 0),
                (-2, 12, timedelta(0), "email", "delivered", 0, "outbound", 2, 0),
            ],
        ),
        # US: a conversation about the debt 3 days ago: no calls on that account for 7 days
        (
            ("US-CA", None),
            (),
            (),
            [(100, ["call", "sms"])],
            [(-3, 12, timedelta(0), "call", "rpc", 0, "outbound", 1, 0)],
        ),
        # an open dispute: every collection contact held
        (("GB", "Europe/London"), ("dispute_open",), (), [(100, ["call", "email"])], []),
        # MA: 2 calls or texts per 7 days, one used yesterday, and two accounts want a call
        (
            ("US-MA", "America/New_York"),
            (),
            (),
            [(500, ["call"]), (100, ["sms"])],
            [(-1, 12, timedelta(0), "sms", "delivered", 3, "outbound", 1, 0)],
        ),
    ]
    decisions, borrowers, history = build(day, specs)
    check_agreement(day, decisions, borrowers, history)
    contacts, blocked = plan_contacts(decisions, borrowers, history, day, PACKS, is_public_holiday)
    ids = {(r["account_id"], r["channel"]): r["rule_ids"] for r in blocked.iter_rows(named=True)}
    got = {(r["account_id"], r["channel"]): r for r in contacts.iter_rows(named=True)}
    # NYC: the call waits until the sms of 7 days ago leaves the period; then the e-mail is
    # the fourth contact in 7 days
    call = got[("B00A0", "call")]
    assert call["_start_utc"] == datetime(2026, 12, 1, 10, tzinfo=ny).astimezone(UTC)
    assert ids[("B00A0", "email")] == "US-NY-NYC.ROLLING.3IN7"
    assert ids[("B01A0", "call")] == "US.WAIT.CONVERSATION"
    assert ("B01A0", "sms") in got
    assert ids[("B02A0", "call")] == "ALL.HOLD.DISPUTE|GB.DISPUTE.HOLD"
    assert ids[("B02A0", "email")] == "ALL.HOLD.DISPUTE|GB.DISPUTE.HOLD"
    assert ("B03A0", "call") in got
    assert ids[("B03A1", "sms")] == "US-MA.ROLLING.2IN7"


def test_consent_hours_per_channel_reach_the_plan():
    """CN consent given per channel: the call keeps to the hours agreed for calls, the SMS to
    those for SMS, and a channel with no entry to the hours for every channel."""
    day = date(2026, 12, 1)
    sh = ZoneInfo("Asia/Shanghai")
    specs = [
        (
            ("CN", "Asia/Shanghai"), (), (), [(100, ["call", "sms", "email"])], [],
            "07:30-21:00|call=09:00-17:00|sms=06:30-00:00",
        ),
    ]  # fmt: skip
    decisions, borrowers, history = build(day, specs)
    check_agreement(day, decisions, borrowers, history)
    contacts, _ = plan_contacts(decisions, borrowers, history, day, PACKS, is_public_holiday)
    got = {r["channel"]: r for r in contacts.iter_rows(named=True)}
    assert got["call"]["_end_utc"] == datetime(2026, 12, 1, 17, tzinfo=sh).astimezone(UTC)
    # the planner's own SMS and e-mail windows (10:00-19:00, 09:00-18:00) lie inside the
    # hours agreed for them; without consent CN's 08:00-22:00 would apply to all three
    assert got["sms"]["_end_utc"] == datetime(2026, 12, 1, 19, tzinfo=sh).astimezone(UTC)
    assert got["email"]["_end_utc"] == datetime(2026, 12, 1, 18, tzinfo=sh).astimezone(UTC)


# --- unusual packs: every parameter the shipped packs leave at one value ----------------------


def _rule(rid: str, rtype: str, params: dict, **extra: object) -> dict:
    return {
        "id": rid,
        "type": rtype,
        "kind": "house_policy",
        "description": rid,
        "source": {"instrument": "test", "provision": rid},
        "effective_from": extra.get("effective_from", date(2020, 1, 1)),
        "effective_to": extra.get("effective_to"),
        "params": params,
    }


def _cap(
    rid: str, limit: int, days: int, channels: list[str], when: dict | None = None, **params: object
) -> dict:
    params = {"max": limit, "days": days, "channels": channels, **params}
    return _rule(rid, "rolling_cap", params, **(when or {}))


ODD_PACKS = [
    parse_pack(
        {
            "id": "QALL",
            "version": "1",
            "applies_to": ["*"],
            "rules": [
                _rule("QALL.OPT_OUT", "channel_opt_out", {}),
                _rule("QALL.HOLD", "hold", {"flags": ["vulnerable", "hardship_pause"]}),
                _rule("QALL.LAWYER", "lawyer_only", {"flags": ["represented"]}),
            ],
        },
        "test",
    ),
    parse_pack(
        {
            "id": "Q1",
            "version": "1",
            "applies_to": ["GB", "US"],
            "rules": [
                _rule(
                    "Q1.HOURS",
                    "contact_hours",
                    {
                        "channels": ["call", "sms", "email", "visit"],
                        "start": "08:00",
                        "end": "21:00",
                    },
                ),
                _rule(
                    "Q1.DAYS",
                    "no_contact_days",
                    {"channels": ["call"], "weekdays": ["sat"], "public_holidays": True},
                ),
                _rule(
                    "Q1.WAIT", "wait_after_conversation", {"days": 2, "channels": ["call", "sms"]}
                ),
                _cap("Q1.CONNECTED", 2, 1, ["call"], counts="connected"),
                _cap(
                    "Q1.CONV",
                    1,
                    3,
                    ["call", "sms", "email"],
                    counts="conversations",
                    per="account",
                    period="local_day",
                ),
                _cap("Q1.UNANSWERED", 2, 2, ["call"], counts="unanswered", per="number"),
                _cap("Q1.NONE", 0, 1, ["wechat"]),
                _cap("Q1.ONE", 1, 1, ["letter", "app_push"]),
                _rule("Q1.DAILY", "daily_call_cap", {"max_calls": 2, "counts": "connected"}),
                _rule("Q1.DAILY2", "daily_call_cap", {"max_calls": 3, "counts": "attempts"}),
                _rule(
                    "Q1.HOLD",
                    "hold",
                    {
                        "flags": ["dispute_open"],
                        "until_flags": ["validation_sent"],
                        "allow_purposes": ["validation_notice"],
                    },
                ),
                _rule("Q1.PARTIES", "parties_allowed", {"parties": ["borrower", "lawyer"]}),
                _rule("Q1.WORK", "no_workplace", {}),
                _cap("Q1.LATER", 0, 1, ["call", "sms"], {"effective_from": date(2027, 1, 1)}),
                _cap("Q1.EXPIRED", 0, 1, ["call", "sms"], {"effective_to": date(2025, 12, 31)}),
            ],
        },
        "test",
    ),
    parse_pack(
        {
            "id": "Q2",
            "version": "1",
            "applies_to": ["US-MA"],
            "rules": [
                _rule(
                    "Q2.HOURS",
                    "contact_hours",
                    {"channels": ["call"], "start": "10:00", "end": "18:00"},
                ),
                _cap("Q2.WEEK", 3, 7, ["call", "sms", "email", "letter", "app_push", "wechat"]),
            ],
        },
        "test",
    ),
]
ODD_BORROWERS = [
    ("GB", "Europe/London"),
    ("US-MA", "America/New_York"),
    ("US-MA", None),
    ("US", None),
    ("US-NY-NYC", "America/New_York"),
    ("TW", "Asia/Taipei"),  # no pack covers it here
]


@settings(
    max_examples=100,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.sampled_from([*DAYS, date(2026, 12, 5)]),  # and a Saturday
    st.lists(borrower_spec(ODD_BORROWERS), min_size=1, max_size=4),
    st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=3),
)
def test_planner_and_gate_agree_on_unusual_packs(day, specs, fractions):
    """Per-borrower waits across channels, caps of 0 and 1, every count basis and period,
    rules not yet or no longer in force, an overlay narrowing the hours: still the engine's."""
    decisions, borrowers, history = build(day, specs)
    contacts, blocked = check_agreement(day, decisions, borrowers, history, fractions, ODD_PACKS)
    for ids in blocked["rule_ids"]:
        for rid in ids.split("|"):
            event(f"refused by {rid}")
            assert rid not in ("Q1.LATER", "Q1.EXPIRED")
    for r in contacts.iter_rows(named=True):
        w = time_window(
            day, r["jurisdiction"], r["borrower_timezone"] or None, r["channel"], ODD_PACKS
        )
        if (r["_start_utc"], r["_end_utc"]) != (w.start, w.end):
            event("planned in a narrowed window")


def test_a_conversation_today_cuts_the_window_of_a_later_contact():
    """A conversation at 12:30 today (another account): the borrower's SMS is planned before it
    only; a contact expiring from a 1-day cap at 14:00 opens the letter from then on; one made
    tomorrow at 14:00 counts from one microsecond after 14:00 today."""
    day = date(2026, 12, 1)
    london = ZoneInfo("Europe/London")
    specs = [
        (
            ("GB", "Europe/London"),
            (),
            (),
            [(500, []), (100, ["sms", "letter"])],
            [
                (0, 12.5, timedelta(0), "call", "rpc", 0, "outbound", 1, 0),
                (-1, 14, timedelta(0), "letter", "delivered", 3, "outbound", 1, 0),
            ],
        ),
        (
            ("GB", "Europe/London"),
            (),
            (),
            [(100, ["letter"])],
            [(1, 14, timedelta(0), "app_push", "delivered", 3, "outbound", 1, 0)],
        ),
    ]
    decisions, borrowers, history = build(day, specs)
    contacts, _ = check_agreement(day, decisions, borrowers, history, packs=ODD_PACKS)
    got = {(r["borrower_id"], r["channel"]): r for r in contacts.iter_rows(named=True)}
    at = lambda h, m=0: datetime(2026, 12, 1, h, m, tzinfo=london).astimezone(UTC)  # noqa: E731
    window = {k: (r["_start_utc"], r["_end_utc"]) for k, r in got.items()}
    assert window[("B00", "sms")] == (at(10), at(12, 30))
    assert window[("B00", "letter")] == (at(14), at(17))
    assert window[("B01", "letter")] == (at(9), at(14) + US)


# --- a generated portfolio, with the generator's own histories, flags and opt-outs -------------


def test_planner_and_gate_agree_on_a_generated_portfolio():
    day = date(2026, 11, 29)  # a Sunday: Irish calls are closed all day
    frames = generate_portfolio(700, day, seed=11)
    paths = ["call|email", "sms|call", "call", "email|letter", "app_push|sms", "wechat|call"]
    decisions = frames.accounts.select("account_id", "borrower_id").with_columns(
        pl.lit("call").alias("treatment"),
        pl.lit(0.5).alias("score"),
        (pl.int_range(pl.len()) % 3 * 1000).cast(pl.Int64).alias("arrears_minor"),
        pl.Series("channels", [paths[i % len(paths)] for i in range(frames.accounts.height)]),
    )
    contacts, blocked = check_agreement(day, decisions, frames.borrowers, frames.contact_history)
    assert contacts.height > 0 and blocked.height > 0
