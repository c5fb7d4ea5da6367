"""Offers pipeline: fallback affordability, cap exclusion in the asked amount, offer rows."""

from __future__ import annotations

from datetime import date

import polars as pl

from arrears.adapters.portfolio.schema import FRAME_SCHEMAS, PortfolioFrames
from arrears.domain.plans import DEFAULT_LIMITS, DEFAULT_OFFER_POLICY
from arrears.pipeline.offers import affordability_for, build_offers

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
