"""Strategy files: the default file is the built-in strategy; bad files get clear errors;
balance bands and treatment paths hold in the vectorised planner."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.adapters.strategy_file import (
    DEFAULT_STRATEGY_FILE,
    StrategyInvalid,
    load_strategy,
)
from arrears.domain.plans import OfferType
from arrears.domain.strategy import DEFAULT_STRATEGY, choose
from arrears.pipeline.offers import apply_cadence
from arrears.pipeline.plan import choose_treatments

REPO = Path(__file__).resolve().parents[2]
CHALLENGER = REPO / "strategies" / "challenger-example.yaml"

GOOD = """\
strategy: t
paths:
  sms: {treatment: sms_reminder, channels: [sms], cadence_days: 3, templates: [t1]}
  plan: {treatment: plan_offer, channels: [call, email], offers: [installment_plan, settlement]}
  hold: {treatment: no_action, channels: []}
arms:
  - arm: a
    share: 100
    segments:
      - {segment: disputed, flags: [dispute_open], path: hold, reason: hold}
      - {segment: small, buckets: [M1, M2], balance_max: 1000, path: sms, reason: small}
      - {segment: rest, path: plan, reason: everything else}
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "s.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def problems(tmp_path: Path, text: str, **kw) -> list[str]:
    with pytest.raises(StrategyInvalid) as exc:
        load_strategy(write(tmp_path, text), **kw)
    return [str(p) for p in exc.value.problems]


def test_default_file_is_the_built_in_strategy():
    assert load_strategy(DEFAULT_STRATEGY_FILE, jurisdictions=["TW", "CN", "US-NY"]) == (
        DEFAULT_STRATEGY
    )


def test_challenger_example_loads_with_bands_and_cadence():
    s = load_strategy(CHALLENGER, jurisdictions=["TW", "CN", "GB", "US-NY", "IE"])
    assert [(a.name, a.share_pct) for a in s.arms] == [("champion", 80), ("challenger", 20)]
    small = next(x for x in s.arms[1].segments if x.name == "m2_small_balance")
    assert (small.balance_max, small.cadence_days, small.channels) == (
        5000,
        3,
        ("email", "app_push"),
    )


def test_good_file_parses_paths(tmp_path):
    s = load_strategy(write(tmp_path, GOOD))
    small = s.arms[0].segments[1]
    assert small.channels == ("sms",) and small.cadence_days == 3 and small.templates == ("t1",)
    assert s.arms[0].segments[2].offer_types == (OfferType.INSTALLMENT_PLAN, OfferType.SETTLEMENT)


def test_unknown_field_names_file_line_segment_and_field(tmp_path):
    bad = GOOD.replace("balance_max: 1000,", "balance_maximum: 1000,")
    (msg,) = problems(tmp_path, bad)
    assert "s.yaml, line 11" in msg and "segment small" in msg
    assert "field balance_maximum" in msg and "unknown field" in msg


def test_unreachable_segment_is_refused(tmp_path):
    bad = GOOD.replace(
        "      - {segment: rest,",
        "      - {segment: m1_small, buckets: [M1], balance_max: 500, path: sms, reason: x}\n"
        "      - {segment: rest,",
    )
    (msg,) = problems(tmp_path, bad)
    assert "segment m1_small" in msg and "unreachable" in msg and "small" in msg
    assert "line 12" in msg


def test_overlapping_but_reachable_segments_are_fine(tmp_path):
    ok = GOOD.replace(
        "      - {segment: rest,",
        "      - {segment: m1_any, buckets: [M1], path: sms, reason: x}\n      - {segment: rest,",
    )
    assert len(load_strategy(write(tmp_path, ok)).arms[0].segments) == 4


def test_shares_must_add_up_to_100(tmp_path):
    bad = GOOD.replace("share: 100", "share: 90")
    (msg,) = problems(tmp_path, bad)
    assert "shares add up to 90, not 100" in msg and "field arms" in msg


def test_forbidden_channel_for_a_jurisdiction(tmp_path):
    wechat = GOOD.replace("channels: [sms], cadence", "channels: [wechat], cadence")
    assert load_strategy(write(tmp_path, wechat), jurisdictions=["CN"]).name == "t"
    (msg,) = problems(tmp_path, wechat, jurisdictions=["CN", "TW"])
    assert "'wechat' is forbidden in jurisdiction TW" in msg and "segment small" in msg
    custom = {"*": frozenset(), "US": frozenset({"sms"})}
    (msg,) = problems(tmp_path, GOOD, jurisdictions=["US-NY"], forbidden_channels=custom)
    assert "'sms' is forbidden in jurisdiction US-NY" in msg


def test_many_problems_reported_together(tmp_path):
    bad = (
        GOOD.replace("[M1, M2]", "[M1, M9]")
        .replace("treatment: plan_offer", "treatment: threaten")
        .replace("cadence_days: 3", "cadence_days: 0")
    )
    msgs = problems(tmp_path, bad)
    joined = "\n".join(msgs)
    assert "unknown value 'M9'" in joined
    assert "unknown treatment 'threaten'" in joined
    assert "cadence_days" in joined
    assert len(msgs) >= 3


def test_last_segment_must_be_catch_all_and_yaml_errors(tmp_path):
    bad = GOOD.replace("{segment: rest, path", "{segment: rest, buckets: [M3], path")
    (msg,) = problems(tmp_path, bad)
    assert "must match every account" in msg
    (msg,) = problems(tmp_path, "strategy: [unclosed\n")
    assert "not valid YAML" in msg
    with pytest.raises(StrategyInvalid, match=r"nope\.yaml.*cannot read"):
        load_strategy(tmp_path / "nope.yaml")


BUCKETS = ("M1", "M2", "M3", "M4", "M5", "M6", "M6+")


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(BUCKETS),
            st.floats(0, 1),
            st.integers(0, 3_000_00),
            st.sampled_from(["TWD", "JPY"]),
            st.booleans(),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_balance_bands_batch_equals_reference(rows):
    strategy = load_strategy(CHALLENGER)
    df = pl.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(len(rows))],
            "bucket": [r[0] for r in rows],
            "score": [r[1] for r in rows],
            "arrears_minor": [r[2] for r in rows],
            "currency": [r[3] for r in rows],
            "hardship": [r[4] for r in rows],
        }
    )
    got = choose_treatments(df, strategy)
    for row in got.iter_rows(named=True):
        exp = 0 if row["currency"] == "JPY" else 2
        balance = Decimal(row["arrears_minor"]).scaleb(-exp)
        flags = frozenset({"hardship"} if row["hardship"] else set())
        arm, seg = choose(
            row["account_id"], flags, row["bucket"], row["score"], strategy, balance=balance
        )
        assert (row["strategy_arm"], row["segment"], row["channels"]) == (
            arm,
            seg.name,
            "|".join(seg.path_channels),
        )


def test_cadence_holds_back_recent_contacts():
    decided = pl.DataFrame(
        {
            "account_id": ["A", "B", "C"],
            "channels": ["sms", "sms", "sms"],
            "cadence_days": [3, 3, 1],
        }
    )
    history = pl.DataFrame(
        {
            "account_id": ["A", "B", "C"],
            "direction": ["outbound"] * 3,
            "started_at": [
                datetime(2026, 3, 9, 10, tzinfo=UTC),  # 1 day ago: held (cadence 3)
                datetime(2026, 3, 7, 10, tzinfo=UTC),  # 3 days ago: due again today
                datetime(2026, 3, 9, 10, tzinfo=UTC),  # cadence 1: never held
            ],
        }
    )
    out = apply_cadence(decided, history, date(2026, 3, 10)).sort("account_id")
    assert out["channels"].to_list() == ["", "sms", "sms"]
    assert out["next_contact_on"].to_list() == [date(2026, 3, 12), None, None]


def test_hold_flag_segment_with_a_contact_path_is_refused(tmp_path):
    bad = GOOD.replace("flags: [dispute_open], path: hold", "flags: [deceased], path: sms")
    (msg,) = problems(tmp_path, bad)
    assert "s.yaml, line 10" in msg and "segment disputed" in msg and "field path" in msg
    assert "deceased" in msg and "gate refuses" in msg
    bad = GOOD.replace("flags: [dispute_open], path: hold", "flags: [represented], path: sms")
    (msg,) = problems(tmp_path, bad)
    assert "through the lawyer only" in msg


def test_disputed_borrowers_may_have_a_contact_path(tmp_path):
    """ALL.HOLD.DISPUTE lifts once validation is sent: the gate, not the loader, holds them."""
    ok = GOOD.replace("flags: [dispute_open], path: hold", "flags: [dispute_open], path: sms")
    assert load_strategy(write(tmp_path, ok)).arms[0].segments[0].channels == ("sms",)


def test_no_action_path_with_channels_is_refused(tmp_path):
    bad = GOOD.replace(
        "hold: {treatment: no_action, channels: []}",
        "hold: {treatment: no_action, channels: [letter]}",
    )
    (msg,) = problems(tmp_path, bad)
    assert "path hold" in msg and "field channels" in msg and "contacts nobody" in msg


@pytest.mark.parametrize(
    ("review", "expected"),
    [
        ("{treatment: sms_reminder, channels: [sms]}", "treatment sms_reminder collects"),
        ("{treatment: hardship_review, channels: [letter, call]}", "call would always be refused"),
    ],
)
def test_vulnerable_segment_needs_a_support_path_by_letter_or_email(tmp_path, review, expected):
    bad = _with_vulnerable_segment(review)
    (msg,) = problems(tmp_path, bad)
    assert "segment vulnerable" in msg and "field path" in msg and expected in msg


def _with_vulnerable_segment(review: str) -> str:
    return GOOD.replace("  hold: {treatment", f"  review: {review}\n  hold: {{treatment").replace(
        "      - {segment: disputed",
        "      - {segment: vulnerable, flags: [vulnerable], path: review, reason: r}\n"
        "      - {segment: disputed",
    )


def test_vulnerable_segment_with_a_letter_review_loads(tmp_path):
    ok = _with_vulnerable_segment("{treatment: hardship_review, channels: [letter, email]}")
    seg = load_strategy(write(tmp_path, ok)).arms[0].segments[0]
    assert seg.name == "vulnerable" and seg.channels == ("letter", "email")


def test_nothing_due_is_a_reserved_segment_name(tmp_path):
    bad = GOOD.replace("segment: small,", "segment: nothing_due,")
    (msg,) = problems(tmp_path, bad)
    assert "segment nothing_due" in msg and "built-in" in msg
