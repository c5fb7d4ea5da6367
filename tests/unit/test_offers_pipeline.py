"""Offers pipeline: fallback affordability, cap exclusion in the asked amount, offer rows, and
the fast path held to the per-account reference (same offers.csv, byte for byte)."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import numpy as np
import polars as pl
import pytest

from arrears.adapters.portfolio.schema import FRAME_SCHEMAS, PortfolioFrames
from arrears.adapters.portfolio.synthetic import generate_portfolio
from arrears.bootstrap import load_strategy_for
from arrears.domain.money import MoneyError
from arrears.domain.plans import (
    DEFAULT_LIMITS,
    DEFAULT_OFFER_POLICY,
    OfferPolicy,
    OfferTerms,
    OfferType,
    PlanError,
    SettlementBounds,
    payment_holiday,
    term_extension,
)
from arrears.pipeline import offers as offers_module
from arrears.pipeline.affordability import AFFORDABILITY_COLUMNS, affordability
from arrears.pipeline.assess import assess_portfolio
from arrears.pipeline.offers import (
    OFFER_COLUMNS,
    _apr_texts,
    affordability_for,
    apply_cadence,
    apr_percent,
    build_offers,
    build_offers_reference,
)
from arrears.pipeline.plan import borrower_flags, choose_treatments

AS_OF = date(2026, 3, 31)


def frame(name: str, rows: list[dict]) -> pl.DataFrame:
    schema = FRAME_SCHEMAS[name]
    return pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema, orient="row")


def portfolio() -> PortfolioFrames:
    f = PortfolioFrames.empty()
    f.borrowers = frame(
        "borrowers",
        [
            {
                "borrower_id": "B1",
                "jurisdiction": "CN",
                **dict.fromkeys(
                    (
                        "cease_communication",
                        "dispute_open",
                        "deceased",
                        "bankrupt",
                        "represented",
                        "vulnerable",
                    ),
                    False,
                ),
            },
        ],
    )
    f.accounts = frame(
        "accounts",
        [
            {
                "account_id": "L1",
                "borrower_id": "B1",
                "product": "loan",
                "currency": "CNY",
                "opened_on": date(2025, 3, 31),
                "principal_minor": 1_000_000,
                "term_days": 365,
            },
            {
                "account_id": "C1",
                "borrower_id": "B1",
                "product": "card",
                "currency": "CNY",
                "opened_on": date(2025, 1, 1),
            },
        ],
    )
    # the loan charges 3,000 of interest on 10,000 for a year: 600 above a 24 % cap
    f.installments = frame(
        "installments",
        [
            {
                "account_id": "L1",
                "seq": 1,
                "due_date": date(2026, 1, 31),
                "principal_minor": 500_000,
                "interest_minor": 150_000,
                "fees_minor": 0,
            },
            {
                "account_id": "L1",
                "seq": 2,
                "due_date": date(2026, 3, 31),
                "principal_minor": 500_000,
                "interest_minor": 150_000,
                "fees_minor": 0,
            },
        ],
    )
    f.payments = frame(
        "payments",
        [
            {
                "payment_id": "p1",
                "account_id": "C1",
                "paid_on": date(2026, 2, 1),
                "amount_minor": 30_000,
            },
            {
                "payment_id": "p2",
                "account_id": "C1",
                "paid_on": date(2025, 12, 1),
                "amount_minor": 99_999,
            },  # older than three months: ignored
        ],
    )
    f.statements = frame(
        "statements",
        [{"account_id": "C1", "statement_date": date(2026, 3, 20), "balance_minor": 500_000}],
    )
    return f


def test_fallback_affordability_uses_payments_and_tenth_of_bill():
    aff = affordability_for(portfolio(), AS_OF).sort("account_id")
    rows = {r["account_id"]: r for r in aff.iter_rows(named=True)}
    # card: paid 30,000 in 3 months -> 10,000/month; bill 500,000 -> 50,000
    assert (rows["C1"]["affordability_low"], rows["C1"]["affordability_high"]) == (10_000, 50_000)
    # loan: nothing paid; due in the 3 months 2 x 650,000 -> 433,333/month -> a tenth 43,333
    assert (rows["L1"]["affordability_low"], rows["L1"]["affordability_high"]) == (0, 43_333)


def test_offer_excludes_interest_above_the_cap_from_what_is_asked():
    decided = pl.DataFrame(
        {
            "account_id": ["L1"],
            "borrower_id": ["B1"],
            "currency": ["CNY"],
            "arrears_minor": [1_300_000],
            "arrears_interest_minor": [300_000],
            "arrears_fees_minor": [0],
            "strategy_arm": ["champion"],
            "segment": ["late"],
            "offer_types": ["installment_plan|settlement"],
            "affordability_low_minor": [50_000],
            "affordability_high_minor": [100_000],
        }
    )
    offers = build_offers(decided, portfolio(), AS_OF, DEFAULT_OFFER_POLICY, DEFAULT_LIMITS)
    plan = offers.filter(pl.col("offer_type") == "installment_plan").row(0, named=True)
    # allowed 10,000 x 24 % = 2,400; charged 3,000; 600.00 excluded from 13,000.00
    assert plan["amount_over_cap"] == "600.00" and plan["amount_owed"] == "12400.00"
    assert plan["total_cost"] == "12400.00" and plan["installments"] == 13
    assert plan["affordability_check"] == "pass" and plan["apr"] == "0.00"
    # a settlement needs at least 1 - 1,000/12,400 = 92 % off: outside the 10-40 % bounds
    assert offers.filter(pl.col("offer_type") == "settlement").height == 0


# --- the fast path is held to the per-account reference -------------------------------------

GEN_AS_OF = date(2026, 11, 30)


@pytest.fixture(scope="module")
def generated() -> tuple[PortfolioFrames, pl.DataFrame]:
    """A generated portfolio and its ``decided`` frame, built as the daily run builds it
    (assess, affordability model, default strategy, cadence); the propensity score is a
    seeded random number instead of the model's, which only moves accounts between segments."""
    frames = generate_portfolio(6_000, GEN_AS_OF, seed=11)
    assessed = assess_portfolio(frames.accounts, frames.installments, frames.payments, GEN_AS_OF)
    in_arrears = assessed.filter(pl.col("dpd") > 0)
    rng = np.random.default_rng(5)
    afford = affordability(frames, GEN_AS_OF).rename(
        {c: f"{c}_minor" for c in AFFORDABILITY_COLUMNS}
    )
    base = (
        in_arrears.join(
            frames.accounts.select("account_id", "borrower_id", "currency"), on="account_id"
        )
        .with_columns(pl.Series("score", rng.random(in_arrears.height)))
        .join(afford, on="account_id", how="left")
        .join(borrower_flags(frames.borrowers), on="borrower_id", how="left")
        .with_columns(pl.lit(False).alias("plan_active"))
    )
    strategy = load_strategy_for(frames)
    decided = apply_cadence(choose_treatments(base, strategy), frames.contact_history, GEN_AS_OF)
    return frames, decided


def assert_same_offers(fast: pl.DataFrame, ref: pl.DataFrame) -> None:
    assert fast.columns == OFFER_COLUMNS == ref.columns
    assert fast.schema == ref.schema
    assert fast.height == ref.height > 0
    for col in OFFER_COLUMNS:  # name the first column that differs
        assert fast[col].to_list() == ref[col].to_list(), col
    assert fast.write_csv() == ref.write_csv()  # offers.csv byte for byte


@pytest.mark.parametrize("rate", ["0", "0.18"])
def test_fast_offers_are_exactly_the_reference_offers_on_a_generated_portfolio(generated, rate):
    frames, decided = generated
    policy = dataclasses.replace(DEFAULT_OFFER_POLICY, plan_annual_rate=Decimal(rate))
    fast = build_offers(decided, frames, GEN_AS_OF, policy, DEFAULT_LIMITS)
    ref = build_offers_reference(decided, frames, GEN_AS_OF, policy, DEFAULT_LIMITS)
    assert_same_offers(fast, ref)
    # the portfolio exercises what the fast path shortcuts: every path's offers, caps, APRs
    assert set(fast["offer_type"]) >= {
        "installment_plan",
        "payment_holiday",
        "fee_interest_waiver",
        "settlement",
    }
    assert (fast["amount_over_cap"] != "0.00").any()
    if rate != "0":
        assert (fast["apr"].is_in(["", "0.00"]).not_()).sum() > 100


@pytest.mark.parametrize(
    ("rate", "low", "high", "extension", "seed"),
    [
        ("0", 2, 24, 6, 1),
        ("0.18", 2, 24, 12, 2),
        ("0.05", 3, 12, 109, 3),  # extensions up to and over the 120-installment limit
        ("0.36", 6, 24, 1, 4),
        ("0", 24, 24, 109, 5),
        ("0", 2, 3, 40, 6),
    ],
)
def test_fast_offers_match_the_reference_for_every_offer_type_and_currency(
    generated, rate, low, high, extension, seed
):
    # every offer type on every account in arrears, with affordability, interest and fees
    # drawn at random (zero, tiny and large), and currencies with 0 and 2 decimals mixed
    frames, decided = generated
    rng = np.random.default_rng(seed)
    n = decided.height
    arrears = rng.integers(0, 5_000_000, n) * rng.choice([0, 1, 1, 1], n) + rng.choice(
        [0, 1, 7, 150], n
    )
    aff_low = rng.integers(0, 400_000, n) * rng.choice([0, 1, 1], n)
    aff_high = aff_low + rng.integers(0, 400_000, n) * rng.choice([0, 1], n)
    interest = (arrears * rng.random(n) * 0.3).astype(np.int64)
    fees = (arrears * rng.random(n) * 0.1).astype(np.int64)
    wild = decided.with_columns(
        pl.Series("arrears_minor", arrears, dtype=pl.Int64),
        pl.Series("arrears_interest_minor", interest, dtype=pl.Int64),
        pl.Series("arrears_fees_minor", fees, dtype=pl.Int64),
        # swapped estimates are put in order (low <= high), as the reference does
        pl.Series("affordability_low_minor", np.where(rng.random(n) < 0.1, aff_high, aff_low)),
        pl.Series("affordability_high_minor", np.where(rng.random(n) < 0.1, aff_low, aff_high)),
        pl.Series("currency", rng.choice(["CNY", "JPY", "USD", "KRW", "TWD"], n)),
        pl.lit(
            "installment_plan|settlement|payment_holiday|term_extension|fee_interest_waiver"
        ).alias("offer_types"),
    )
    policy = OfferPolicy(
        plan_annual_rate=Decimal(rate),
        min_installments=low,
        max_installments=high,
        settlement=SettlementBounds(Decimal("0.05"), Decimal("0.50")),
        holiday_months=2,
        term_extension_months=extension,
    )
    fast = build_offers(wild, frames, GEN_AS_OF, policy, DEFAULT_LIMITS)
    ref = build_offers_reference(wild, frames, GEN_AS_OF, policy, DEFAULT_LIMITS)
    assert_same_offers(fast, ref)
    assert set(fast["offer_type"]) == {t.value for t in OfferType}
    assert set(fast["currency"]) >= {"JPY", "CNY"}
    lengths = fast.filter(pl.col("offer_type") == "term_extension")["installments"]
    assert lengths.min() > extension
    if extension > 100:
        assert lengths.max() == 120  # the longest term allowed is offered, none longer


def test_no_offer_types_gives_the_empty_offers_table(generated):
    frames, decided = generated
    none = decided.with_columns(pl.lit("").alias("offer_types"))
    fast = build_offers(none, frames, GEN_AS_OF, DEFAULT_OFFER_POLICY, DEFAULT_LIMITS)
    assert fast.height == 0 and fast.columns == OFFER_COLUMNS
    assert fast.schema == dict.fromkeys(OFFER_COLUMNS, pl.String())


def test_unknown_currency_is_refused_like_the_reference(generated):
    frames, decided = generated
    bad = decided.with_columns(pl.lit("XXX").alias("currency"))
    with pytest.raises(MoneyError, match="XXX"):
        build_offers(bad, frames, GEN_AS_OF, DEFAULT_OFFER_POLICY, DEFAULT_LIMITS)
    with pytest.raises(MoneyError, match="XXX"):
        build_offers_reference(bad, frames, GEN_AS_OF, DEFAULT_OFFER_POLICY, DEFAULT_LIMITS)


@pytest.mark.parametrize("guard", [None, 0.0, 0.6])
def test_bulk_apr_equals_numpy_financial_per_offer(monkeypatch, guard):
    # guard None: as shipped; 0.0: Newton's figure for every offer; 0.6: numpy-financial's
    if guard is not None:
        monkeypatch.setattr(offers_module, "_APR_GUARD", guard)
    start = date(2026, 1, 31)
    offers: list[OfferTerms] = [
        OfferTerms.of(payment_holiday(10_000, start, 3)),
        OfferTerms.of(term_extension(120_000, 6, 6, start)),
    ]
    rng = np.random.default_rng(8)
    for _ in range(300):  # real schedules: 2..126 installments, 1..36 % a year
        rate = Decimal(str(rng.choice(["0.01", "0.0799", "0.18", "0.24", "0.36"])))
        amount = int(rng.integers(1_000, 10**9))
        n = int(rng.integers(2, 121))
        try:
            offers.append(OfferTerms.of(term_extension(amount, n - 6, 6, start, rate)))
        except PlanError:
            continue
    for _ in range(300):  # any level schedule that costs something: APRs all over the range
        n = int(rng.integers(1, 30))
        financed = int(rng.integers(100, 10**8))
        first = int(financed * (1 + rng.random()) / n) + 1
        last = max(financed - first * (n - 1) + int(rng.integers(1, 10**6)), 1)
        offers.append(
            OfferTerms(
                OfferType.INSTALLMENT_PLAN,
                financed,
                financed,
                n,
                first,
                last,
                start,
                date(2026, int(rng.integers(2, 5)), 28),
            )
        )
    expected = [("" if (a := apr_percent(o)) is None else str(a)) for o in offers]
    assert _apr_texts(offers) == expected
    assert expected[:2] == ["", "0.00"] and len(set(expected)) > 200
