"""Strategy: first match wins, holds come first, arms are stable, batch equals reference."""

from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.domain.strategy import (
    DEFAULT_STRATEGY,
    NOTHING_DUE,
    Arm,
    Segment,
    Strategy,
    Treatment,
    arm_for,
    arm_slot,
    choose,
    hold_conflict,
)
from arrears.pipeline.plan import choose_treatments

FLAGS = ("cease_communication", "dispute_open", "deceased", "bankrupt", "represented", "vulnerable")
BUCKETS = ("M1", "M2", "M3", "M4", "M5", "M6", "M6+")


def test_holds_win_over_buckets():
    for flag, treatment in [
        ("deceased", "no_action"),
        ("bankrupt", "no_action"),
        ("cease_communication", "no_action"),
        ("dispute_open", "no_action"),
        ("represented", "no_action"),
        ("vulnerable", "hardship_review"),
    ]:
        _, seg = choose("A1", frozenset({flag}), "M2", 0.9, DEFAULT_STRATEGY)
        assert seg.treatment.value == treatment and seg.name == flag


def test_buckets_and_scores_lead_to_proportionate_treatments():
    champion_id = next(f"A{i}" for i in range(1000) if arm_slot(f"A{i}") < 90)

    def treat(bucket, score):
        return choose(champion_id, frozenset(), bucket, score, DEFAULT_STRATEGY)[1].treatment

    assert treat("M1", 0.95) is Treatment.SELF_CURE_REMINDER
    assert treat("M1", 0.3) is Treatment.SMS_REMINDER
    assert treat("M2", 0.2) is Treatment.CALL
    assert treat("M3", 0.5) is Treatment.PLAN_OFFER
    assert treat("M6", 0.1) is Treatment.HARDSHIP_REVIEW
    assert treat("M6", 0.5) is Treatment.PLAN_OFFER
    assert treat("M6+", 0.9) is Treatment.HARDSHIP_REVIEW


def test_arm_assignment_is_stable_and_near_its_share():
    ids = [f"ACC{i:06d}" for i in range(20000)]
    arms = [arm_for(i, DEFAULT_STRATEGY).name for i in ids]
    assert arms == [arm_for(i, DEFAULT_STRATEGY).name for i in ids]
    share = arms.count("challenger") / len(arms)
    assert 0.08 < share < 0.12
    assert arm_slot("ACC000001") == arm_slot("ACC000001")  # CRC-32: the same in every process


def test_strategy_validation():
    seg = Segment("all", Treatment.CALL, "r")
    with pytest.raises(ValueError, match="add up to 100"):
        Strategy("s", (Arm("a", 60, (seg,)), Arm("b", 30, (seg,))))
    with pytest.raises(ValueError, match="catch-all"):
        Strategy("s", (Arm("a", 100, (Segment("m1", Treatment.CALL, "r", buckets=("M1",)),)),))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(BUCKETS),
            st.floats(0, 1),
            st.sets(st.sampled_from(FLAGS), max_size=2),
            st.integers(-5_000, 5_000),
            st.booleans(),
            st.one_of(st.none(), st.integers(-5_000, 50_000)),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_batch_choice_equals_reference(rows):
    """Flags, buckets, scores, amounts past due (zero, negative, or unknown) and account
    balances (zero, credit, or unknown) alike."""
    df = pl.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(len(rows))],
            "bucket": [r[0] for r in rows],
            "score": [r[1] for r in rows],
            **{f: [f in r[2] for r in rows] for f in FLAGS},
            "arrears_minor": [r[3] for r in rows],
            "currency": ["TWD"] * len(rows),
            "amount_known": [r[4] for r in rows],
            "balance_minor": pl.Series([r[5] for r in rows], dtype=pl.Int64),
        }
    )
    got = choose_treatments(df, DEFAULT_STRATEGY)
    for row in got.iter_rows(named=True):
        flags = frozenset(f for f in FLAGS if row[f])
        balance = Decimal(row["arrears_minor"]).scaleb(-2) if row["amount_known"] else None
        outstanding = (
            Decimal(row["balance_minor"]).scaleb(-2) if row["balance_minor"] is not None else None
        )
        arm, seg = choose(
            row["account_id"], flags, row["bucket"], row["score"], DEFAULT_STRATEGY,
            balance=balance, outstanding=outstanding,
        )  # fmt: skip
        assert (row["strategy_arm"], row["segment"], row["treatment"], row["reason"]) == (
            arm,
            seg.name,
            seg.treatment.value,
            seg.reason,
        )


@pytest.mark.parametrize("balance", [Decimal("0"), Decimal("-12.50")])
def test_nothing_owed_is_never_collected_whatever_the_strategy(balance):
    for account in ("A1", "A3"):  # a challenger and a champion account
        for bucket, flags in [("M1", ()), ("M3", ()), ("M2", ("vulnerable",))]:
            arm, seg = choose(
                account, frozenset(flags), bucket, 0.9, DEFAULT_STRATEGY, balance=balance
            )
            assert arm == arm_for(account, DEFAULT_STRATEGY).name
            assert seg is NOTHING_DUE and seg.treatment is Treatment.NO_ACTION
            assert seg.path_channels == () and seg.offer_types == ()
    # a hold that contacts nobody keeps its own segment and reason
    _, seg = choose("A1", frozenset({"deceased"}), "M3", 0.9, DEFAULT_STRATEGY, balance=balance)
    assert seg.name == "deceased"
    _, seg = choose("A1", frozenset(), "M3", 0.9, DEFAULT_STRATEGY, balance=Decimal("0.01"))
    assert seg.name == "mid"  # one cent owed is owed
    _, seg = choose("A1", frozenset(), "M3", 0.9, DEFAULT_STRATEGY, balance=None)
    assert seg.name == "mid"  # an unknown amount is not "nothing owed"
    df = pl.DataFrame(
        {
            "account_id": ["A1", "A2", "A3", "A4", "A5"],
            "bucket": ["M1", "M3", "M3", "M3", "M2"],
            "score": [0.9, 0.1, 0.5, 0.5, 0.5],
            "arrears_minor": [0, -1250, 1, 0, 0],
            "currency": ["TWD"] * 5,
            "amount_known": [True, True, True, False, True],
            "deceased": [False, False, False, False, True],
        }
    )
    got = choose_treatments(df, DEFAULT_STRATEGY)
    assert got["segment"].to_list() == ["nothing_due", "nothing_due", "mid", "mid", "deceased"]
    assert got["channels"].to_list()[:2] == ["", ""]
    assert got["offer_types"].to_list()[:2] == ["", ""]
    assert got["offer_types"][2] == "installment_plan"


def test_shipped_strategy_plans_nothing_that_its_holds_refuse():
    for arm in DEFAULT_STRATEGY.arms:
        for seg in arm.segments:
            assert hold_conflict(seg) is None, seg.name


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        (Segment("s", Treatment.SMS_REMINDER, "r", flags=("deceased",)), "deceased"),
        (Segment("s", Treatment.CALL, "r", flags=("plan_active", "represented")), "lawyer only"),
        (Segment("s", Treatment.CALL, "r", flags=("bankrupt",)), "bankrupt"),
        (Segment("s", Treatment.PLAN_OFFER, "r", flags=("vulnerable",)), "plan_offer collects"),
        (
            Segment("s", Treatment.HARDSHIP_REVIEW, "r", flags=("vulnerable",), channels=("sms",)),
            "sms would always be refused",
        ),
    ],
)
def test_hold_conflicts_are_named(segment, expected):
    assert expected in (hold_conflict(segment) or "")


def test_no_conflict_without_hold_flags_or_without_channels():
    assert hold_conflict(Segment("s", Treatment.CALL, "r", flags=("plan_active",))) is None
    # the dispute hold lifts once validation is sent: the gate holds those contacts until then
    assert hold_conflict(Segment("s", Treatment.SMS_REMINDER, "r", flags=("dispute_open",))) is None
    assert hold_conflict(Segment("s", Treatment.NO_ACTION, "r", flags=("deceased",))) is None
    review = Segment("s", Treatment.HARDSHIP_REVIEW, "r", flags=("vulnerable",))
    assert hold_conflict(review) is None  # letter, the treatment's default


def test_the_strategy_sees_a_dispute_as_held_until_the_law_lifts_it():
    from arrears.domain.strategy import dispute_held

    assert dispute_held("US-CA", True, False) and not dispute_held("US-CA", True, True)
    assert dispute_held("US", True, False) and not dispute_held("US-NY-NYC", True, True)
    for j in ("GB", "IE", "CN", "TW"):  # no validation route: held until closed
        assert dispute_held(j, True, True)
    assert not dispute_held("GB", False, True)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["US-CA", "US-NY-NYC", "GB", "IE", "CN", "TW"]),
            st.booleans(),
            st.booleans(),
        ),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from([(), ("US",), ("GB",), ("US-NY-NYC",), ("CN", "US")]),
)
def test_the_plans_dispute_flag_is_dispute_held_lender_included(rows, lender):
    """borrower_flags (vectorised) and dispute_held (reference) agree, lender packs included:
    a GB lender's GB.DISPUTE.HOLD holds a US borrower's dispute after validation."""
    from arrears.adapters.portfolio.schema import FLAG_COLUMNS
    from arrears.domain.strategy import dispute_held
    from arrears.pipeline.plan import borrower_flags

    b = pl.DataFrame(
        {
            "borrower_id": [f"B{i}" for i in range(len(rows))],
            "jurisdiction": [r[0] for r in rows],
            **{f: [False] * len(rows) for f in FLAG_COLUMNS},
        }
    ).with_columns(
        pl.Series("dispute_open", [r[1] for r in rows]),
        pl.Series("validation_sent", [r[2] for r in rows]),
    )
    got = borrower_flags(b, lender)["dispute_open"].to_list()
    assert got == [dispute_held(j, d, v, lender) for j, d, v in rows]
    assert dispute_held("US-CA", True, True, ()) is False
    assert dispute_held("US-CA", True, True, ("GB",)) is True
