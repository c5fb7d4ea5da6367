"""Affordability: a sustainable monthly payment per borrower, low and high estimate.

Method (observed behaviour only; no income data in the portfolio):

1. For each account, the payments of the last :data:`AFFORD_MONTHS` (6) periods of 30 days
   ending on ``as_of`` are summed per period (period 0 = the 30 days up to ``as_of``), months
   without a payment counting as 0.
2. Accounts are added up per borrower and currency (a borrower's accounts in one currency
   draw on the same budget).
3. ``affordability_low`` = the **median** of the six monthly totals (what the borrower paid in
   a typical month, holidays from paying included); ``affordability_high`` = the **mean of the
   three largest** monthly totals (what they managed in their better months). Both are
   rounded down to whole minor units, so ``0 <= low <= high``.

Limits: payments show what a borrower *did* pay, not what they *can* pay without hardship: a
borrower who paid nothing gets 0 (which means "unknown", not "can pay nothing"), and a borrower
who paid by borrowing elsewhere looks more able than they are. A repayment plan sized from these
figures must still be confirmed with the borrower (an income and expenditure review, as UK
CONC 7.3 requires before agreeing a plan); the estimates are a starting point for the offer, not
a verdict. Bills are not used as a ceiling: a bill measures spending, not capacity.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from arrears.adapters.portfolio.schema import PortfolioFrames

AFFORD_MONTHS = 6
PERIOD_DAYS = 30
AFFORDABILITY_COLUMNS: tuple[str, ...] = ("affordability_low", "affordability_high")


def affordability(frames: PortfolioFrames, as_of: date) -> pl.DataFrame:
    """Low and high sustainable monthly payment of every account's borrower, in minor units.

    Parameters
    ----------
    frames : PortfolioFrames
        Normalised portfolio (payments in minor units of the account's currency).
    as_of : date
        Last day of the observed window; later payments are ignored.

    Returns
    -------
    pl.DataFrame
        One row per account of ``frames.accounts`` (same order): ``account_id``,
        ``affordability_low``, ``affordability_high`` (Int64, minor units of the account's
        currency, per month, for the borrower as a whole in that currency).
    """
    start = as_of - timedelta(days=AFFORD_MONTHS * PERIOD_DAYS - 1)
    acc = frames.accounts.select("account_id", "borrower_id", "currency")
    monthly = (
        frames.payments.lazy()
        .filter(pl.col("paid_on").is_between(start, as_of))
        .join(acc.lazy(), on="account_id", how="inner")
        .with_columns(
            ((pl.lit(as_of) - pl.col("paid_on")).dt.total_days() // PERIOD_DAYS).alias("_m")
        )
        .group_by("borrower_id", "currency", "_m")
        .agg(pl.col("amount_minor").sum().alias("_paid"))
        .collect()
    )
    # Months without payments count as 0: pad each borrower's list to six entries.
    per = monthly.group_by("borrower_id", "currency").agg(
        pl.col("_paid").sort(descending=True).alias("_amounts")
    )
    zeros = pl.lit([0] * AFFORD_MONTHS, dtype=pl.List(pl.Int64))
    padded = per.with_columns(
        pl.concat_list("_amounts", zeros).list.head(AFFORD_MONTHS).alias("_six")
    ).select(
        "borrower_id",
        "currency",
        pl.col("_six").list.median().floor().cast(pl.Int64).alias("affordability_low"),
        pl.col("_six").list.head(3).list.mean().floor().cast(pl.Int64).alias("affordability_high"),
    )
    return acc.join(
        padded, on=["borrower_id", "currency"], how="left", maintain_order="left"
    ).select(
        "account_id",
        pl.col("affordability_low").fill_null(0),
        pl.col("affordability_high").fill_null(0),
    )
