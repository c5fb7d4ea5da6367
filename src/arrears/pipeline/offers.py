"""Offers for the daily run: affordability, legal caps, plans and forbearance, APR.

Stages (used by :mod:`arrears.pipeline.daily`):

* :func:`affordability_for` - monthly affordability per account (low/high, minor units): a
  documented **fallback**. The daily run feeds the issue-4 affordability model
  (:mod:`arrears.pipeline.affordability`, columns ``affordability_low_minor`` /
  ``affordability_high_minor`` on the decisions frame), which :func:`build_offers` prefers.
* :func:`cap_exclusions` - per account in arrears, the interest and fees charged above the
  legal cap of its (jurisdiction, product) (:class:`arrears.domain.plans.LegalLimits`), which
  are excluded from what is asked.
* :func:`apply_cadence` - holds back contacts on accounts contacted within the path's cadence.
* :func:`build_offers` - the offers of each account whose treatment path lists offer types
  (``plan_offer`` and ``hardship_review`` in the shipped strategies), built with the exact
  domain functions of :mod:`arrears.domain.plans`, each with its APR (numpy-financial IRR) and
  total cost. Written to ``offers.csv`` (``OFFER_COLUMNS``, docs/outputs.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np
import numpy_financial as npf
import polars as pl

from arrears.adapters.portfolio.schema import PortfolioFrames
from arrears.domain.delinquency import add_months
from arrears.domain.money import format_minor
from arrears.domain.plans import (
    Affordability,
    LegalLimits,
    Offer,
    OfferPolicy,
    OfferType,
    PlanError,
    affordable_plan,
    affordable_settlement,
    cap_check,
    payment_holiday,
    term_extension,
    waiver_plan,
)

OFFER_COLUMNS = [
    "account_id",
    "offer_type",
    "installments",
    "installment_amount",
    "apr",
    "total_cost",
    "affordability_check",
    "affordability_low",
    "affordability_high",
    "max_installment_amount",
    "currency",
    "amount_owed",
    "amount_over_cap",
    "discount",
    "waived",
    "holiday_months",
    "first_due",
    "cost_of_credit",
    "strategy_arm",
    "segment",
    "note",
]

AFFORDABILITY_SCHEMA = {
    "account_id": pl.String(),
    "affordability_low": pl.Int64(),
    "affordability_high": pl.Int64(),
}


def affordability_for(frames: PortfolioFrames, as_of: date) -> pl.DataFrame:
    """Fallback monthly affordability per account, in minor units (integer arithmetic).

    * ``paid_3m`` = payments booked in the three months up to ``as_of`` (``paid_on`` in
      ``(as_of - 3 months, as_of]``) / 3, rounded down: what the borrower has shown they can pay;
    * ``bill_10`` = 10 % of the monthly bill, rounded down: the latest statement balance on or
      before ``as_of`` (cards), else the installments due in those three months / 3 (loans);
    * ``affordability_low = min(paid_3m, bill_10)``, ``affordability_high = max(...)``.

    A borrower who paid nothing and owes nothing billed gets 0..0: no plan fits, and the
    offers fall back to a payment holiday and a hardship review. This is a stop-gap: the
    issue-4 affordability model replaces it (same columns).

    Returns
    -------
    pl.DataFrame
        ``account_id, affordability_low, affordability_high`` (Int64 minor units), one row per
        account of ``frames.accounts``.
    """
    start = add_months(as_of, -3)
    paid = (
        frames.payments.filter((pl.col("paid_on") > start) & (pl.col("paid_on") <= as_of))
        .group_by("account_id")
        .agg((pl.col("amount_minor").sum() // 3).alias("_paid3"))
    )
    stmt = (
        frames.statements.filter(pl.col("statement_date") <= as_of)
        .sort("statement_date")
        .group_by("account_id")
        .agg(pl.col("balance_minor").last().alias("_bill_stmt"))
    )
    inst = (
        frames.installments.filter((pl.col("due_date") > start) & (pl.col("due_date") <= as_of))
        .group_by("account_id")
        .agg(
            (
                (
                    pl.col("principal_minor")
                    + pl.col("interest_minor").fill_null(0)
                    + pl.col("fees_minor").fill_null(0)
                ).sum()
                // 3
            ).alias("_bill_inst")
        )
    )
    df = (
        frames.accounts.select("account_id")
        .join(paid, on="account_id", how="left")
        .join(stmt, on="account_id", how="left")
        .join(inst, on="account_id", how="left")
        .with_columns(
            pl.col("_paid3").fill_null(0),
            (pl.coalesce("_bill_stmt", "_bill_inst").fill_null(0).clip(0) // 10).alias("_bill10"),
        )
    )
    return df.select(
        "account_id",
        pl.min_horizontal("_paid3", "_bill10").cast(pl.Int64).alias("affordability_low"),
        pl.max_horizontal("_paid3", "_bill10").cast(pl.Int64).alias("affordability_high"),
    )


def cap_exclusions(
    decided: pl.DataFrame, frames: PortfolioFrames, limits: LegalLimits
) -> pl.DataFrame:
    """Interest and fees above the legal cap, per account in arrears.

    For each account whose (jurisdiction, product) has a cap and whose contract is known
    (installments and a principal), :func:`arrears.domain.plans.cap_check` compares all
    scheduled interest and fees with ``principal x cap x term days / 365`` (term days: the
    account's ``term_days``, else opening date to last due date). Cards without an
    installment schedule (e.g. the UCI file) cannot be checked and get no exclusion.

    Returns
    -------
    pl.DataFrame
        ``account_id, annual_cap`` (decimal text, null: no cap or no contract data),
        ``amount_over_cap_minor`` (Int64, the part of the arrears not asked).
    """
    schema = {
        "account_id": pl.String(),
        "annual_cap": pl.String(),
        "amount_over_cap_minor": pl.Int64(),
    }
    if not limits.caps or decided.height == 0:
        return pl.DataFrame(schema=schema)
    contract = frames.installments.group_by("account_id").agg(
        (pl.col("interest_minor").fill_null(0) + pl.col("fees_minor").fill_null(0))
        .sum()
        .alias("_charged"),
        pl.col("due_date").max().alias("_last_due"),
    )
    rows = (
        decided.select(
            "account_id",
            "borrower_id",
            pl.col("arrears_interest_minor").fill_null(0)
            + pl.col("arrears_fees_minor").fill_null(0),
        )
        .rename({"arrears_interest_minor": "_arrears_if"})
        .join(
            frames.accounts.select(
                "account_id", "product", "principal_minor", "term_days", "opened_on"
            ),
            on="account_id",
        )
        .join(frames.borrowers.select("borrower_id", "jurisdiction"), on="borrower_id")
        .join(contract, on="account_id", how="inner")
    )
    out: list[tuple[str, str | None, int]] = []
    for r in rows.iter_rows(named=True):
        cap = limits.annual_cap(r["jurisdiction"], r["product"])
        principal = r["principal_minor"]
        if cap is None or not principal:
            continue
        days = r["term_days"] or max((r["_last_due"] - r["opened_on"]).days, 0)
        check = cap_check(principal, int(r["_charged"]), days, cap, int(r["_arrears_if"]))
        out.append((r["account_id"], str(cap), check.excluded_minor))
    return pl.DataFrame(
        {
            "account_id": [o[0] for o in out],
            "annual_cap": [o[1] for o in out],
            "amount_over_cap_minor": [o[2] for o in out],
        },
        schema=schema,
    )


def apply_cadence(
    decided: pl.DataFrame, contact_history: pl.DataFrame, as_of: date
) -> pl.DataFrame:
    """Blank ``channels`` of accounts contacted within their path's cadence.

    An account with ``cadence_days = c`` is contacted today only if no outbound contact about
    it started in the ``c - 1`` days before ``as_of`` (the plan date itself is governed by the
    daily caps, not the cadence). ``c = 1`` never holds anything back. Adds
    ``next_contact_on`` (null when the account may be contacted today).
    """
    if "cadence_days" not in decided.columns:
        return decided
    last = (
        contact_history.filter(
            (pl.col("direction") == "outbound") & pl.col("account_id").is_not_null()
        )
        .with_columns(pl.col("started_at").dt.date().alias("_day"))
        .filter(pl.col("_day") < as_of)
        .group_by("account_id")
        .agg(pl.col("_day").max().alias("_last_contact"))
    )
    df = decided.join(last, on="account_id", how="left")
    next_on = pl.col("_last_contact") + pl.duration(days=pl.col("cadence_days"))
    held = pl.col("_last_contact").is_not_null() & (next_on > pl.lit(as_of))
    return df.with_columns(
        pl.when(held).then(pl.lit("")).otherwise(pl.col("channels")).alias("channels"),
        pl.when(held).then(next_on).otherwise(None).cast(pl.Date).alias("next_contact_on"),
    ).drop("_last_contact")


def apr_percent(offer: Offer) -> Decimal | None:
    """Annual percentage rate of an offer, in percent, 2 places (None without a schedule).

    The monthly internal rate of return of :meth:`Offer.cash_flows` (numpy-financial
    ``irr``) times 12, the nominal annual rate. An offer that charges nothing (total paid =
    amount financed) has APR 0 exactly, whatever its timing.
    """
    if not offer.schedule:
        return None
    if offer.cost_of_credit_minor == 0:
        return Decimal("0.00")
    flows = offer.cash_flows()
    arr = np.zeros(max(m for m, _ in flows) + 1)
    for m, v in flows:
        arr[m] += v
    rate = npf.irr(arr)
    if rate is None or not np.isfinite(rate):
        return None
    return (Decimal(repr(float(rate))) * 1200).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def _future_installments(frames: PortfolioFrames, as_of: date) -> pl.DataFrame:
    return (
        frames.installments.filter(pl.col("due_date") >= as_of)
        .group_by("account_id")
        .agg(
            pl.len().cast(pl.Int64).alias("_remaining"),
            pl.col("principal_minor").sum().alias("_future_principal"),
        )
    )


def _offers_for(
    row: Mapping[str, Any], owed: int, aff: Affordability, policy: OfferPolicy, as_of: date
) -> list[Offer]:
    out: list[Offer] = []
    for kind in [OfferType(o) for o in row["offer_types"].split("|") if o]:
        offer: Offer | None = None
        try:
            if kind is OfferType.INSTALLMENT_PLAN:
                offer = affordable_plan(
                    owed,
                    aff,
                    as_of,
                    policy.plan_annual_rate,
                    min_installments=policy.min_installments,
                    max_installments=policy.max_installments,
                )
            elif kind is OfferType.SETTLEMENT:
                offer = affordable_settlement(owed, aff, policy.settlement, as_of)
            elif kind is OfferType.PAYMENT_HOLIDAY and owed > 0:
                offer = payment_holiday(owed, as_of, policy.holiday_months)
            elif kind is OfferType.TERM_EXTENSION and row["_remaining"]:
                offer = term_extension(
                    owed + int(row["_future_principal"]),
                    int(row["_remaining"]),
                    policy.term_extension_months,
                    as_of,
                    policy.plan_annual_rate,
                )
            elif kind is OfferType.WAIVER:
                excluded = owed - int(row["arrears_minor"])  # <= 0: cap exclusion
                interest = max(int(row["arrears_interest_minor"] or 0) + excluded, 0)
                fees = int(row["arrears_fees_minor"] or 0)
                principal = owed - interest - fees
                offer = waiver_plan(principal, interest, fees, aff, as_of)
        except PlanError:
            offer = None
        if offer is not None:
            out.append(offer)
    if not out and owed > 0:
        # nothing affordable: breathing space and a hardship review, never an unaffordable ask
        holiday = payment_holiday(owed, as_of, policy.holiday_months)
        out.append(
            Offer(
                holiday.offer_type,
                holiday.amount_owed_minor,
                holiday.financed_minor,
                holiday.schedule,
                holiday.start_on,
                holiday_months=holiday.holiday_months,
                note="no plan of "
                f"{policy.min_installments}-{policy.max_installments} installments fits the "
                f"affordability estimate: {holiday.note}; refer to a hardship review",
            )
        )
    return out


def build_offers(
    decided: pl.DataFrame,
    frames: PortfolioFrames,
    as_of: date,
    policy: OfferPolicy,
    limits: LegalLimits,
    affordability: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Offers for every account whose treatment path lists offer types.

    Parameters
    ----------
    decided : pl.DataFrame
        Output of :func:`arrears.pipeline.plan.choose_treatments` on assessed accounts
        (``account_id, borrower_id, currency, arrears_minor, arrears_interest_minor,
        arrears_fees_minor, strategy_arm, segment, offer_types``); if it carries
        ``affordability_low_minor``/``affordability_high_minor`` (the daily run's
        affordability model, :mod:`arrears.pipeline.affordability`) they are used.
    frames : PortfolioFrames
    as_of : date
        Offer start date (cash-flow time zero); installment 1 falls due a month later.
    policy, limits
        The strategy's offer policy and legal limits.
    affordability : pl.DataFrame, optional
        ``account_id, affordability_low, affordability_high``; default
        :func:`affordability_for`.

    Returns
    -------
    pl.DataFrame
        ``OFFER_COLUMNS``; amounts are decimal strings in major units; ``apr`` in percent a
        year (2 places, empty for a payment holiday); ``total_cost`` the total the borrower
        pays under the offer; ``affordability_check`` ``pass`` when the largest installment is
        within the high estimate. Every account with offer types gets at least one row; the
        offers sized by affordability (plan, settlement, waiver) are only made when they pass.
    """
    wanted = decided.filter(pl.col("offer_types").fill_null("") != "")
    if wanted.height == 0:
        return pl.DataFrame(schema={c: pl.String() for c in OFFER_COLUMNS})
    if {"affordability_low_minor", "affordability_high_minor"} <= set(wanted.columns):
        # the daily run's affordability model (issue 4, arrears.pipeline.affordability)
        wanted = wanted.with_columns(
            pl.col("affordability_low_minor").alias("_aff_low"),
            pl.col("affordability_high_minor").alias("_aff_high"),
        )
    else:
        table = affordability if affordability is not None else affordability_for(frames, as_of)
        wanted = wanted.join(
            table.select(
                "account_id",
                pl.col("affordability_low").alias("_aff_low"),
                pl.col("affordability_high").alias("_aff_high"),
            ),
            on="account_id",
            how="left",
        )
    caps = cap_exclusions(wanted, frames, limits)
    wanted = (
        wanted.join(caps, on="account_id", how="left")
        .join(_future_installments(frames, as_of), on="account_id", how="left")
        .with_columns(
            pl.col("amount_over_cap_minor").fill_null(0),
            pl.col("_remaining").fill_null(0),
            pl.col("_future_principal").fill_null(0),
            pl.col("_aff_low").fill_null(0).cast(pl.Int64),
            pl.col("_aff_high").fill_null(0).cast(pl.Int64),
        )
        .sort("account_id")
    )
    rows: list[dict[str, Any]] = []
    for r in wanted.iter_rows(named=True):
        cur = r["currency"]
        owed = max(int(r["arrears_minor"]) - int(r["amount_over_cap_minor"]), 0)
        low, high = int(r["_aff_low"]), int(r["_aff_high"])
        aff = Affordability(min(low, high), max(low, high))
        for o in _offers_for(r, owed, aff, policy, as_of):
            apr = apr_percent(o)
            rows.append(
                {
                    "account_id": r["account_id"],
                    "offer_type": o.offer_type.value,
                    "installments": o.installments,
                    "installment_amount": format_minor(o.installment_minor, cur),
                    "apr": "" if apr is None else str(apr),
                    "total_cost": format_minor(o.total_paid_minor, cur),
                    "affordability_check": "pass"
                    if o.max_installment_minor <= aff.high_minor
                    else "fail",
                    "affordability_low": format_minor(aff.low_minor, cur),
                    "affordability_high": format_minor(aff.high_minor, cur),
                    "max_installment_amount": format_minor(o.max_installment_minor, cur),
                    "currency": cur,
                    "amount_owed": format_minor(owed, cur),
                    "amount_over_cap": format_minor(int(r["amount_over_cap_minor"]), cur),
                    "discount": format_minor(o.discount_minor, cur),
                    "waived": format_minor(o.waived_minor, cur),
                    "holiday_months": o.holiday_months,
                    "first_due": o.schedule[0].due_on.isoformat() if o.schedule else "",
                    "cost_of_credit": format_minor(o.cost_of_credit_minor, cur),
                    "strategy_arm": r["strategy_arm"],
                    "segment": r["segment"],
                    "note": o.note,
                }
            )
    if not rows:
        return pl.DataFrame(schema={c: pl.String() for c in OFFER_COLUMNS})
    return pl.DataFrame(rows).select(OFFER_COLUMNS)


__all__ = [
    "OFFER_COLUMNS",
    "affordability_for",
    "apply_cadence",
    "apr_percent",
    "build_offers",
    "cap_exclusions",
]
