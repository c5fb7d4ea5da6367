"""Vectorised arrears assessment: DPD, bucket and arrears amount for a whole portfolio.

This is the batch form of :func:`arrears.domain.delinquency.assess` and follows exactly the
same conventions (a property test holds the two together): payments booked on or before the
as-of date go to installments oldest due date first, components in waterfall order; DPD counts
from the oldest past-due unpaid installment; accounts without installments use the lender's
reported DPD.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from arrears.domain.delinquency import (
    COMPONENTS,
    DEFAULT_BUCKETS,
    DEFAULT_WATERFALL,
    BucketScheme,
    Waterfall,
)

ASSESSED_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.String(),
    "dpd": pl.Int64(),
    "bucket": pl.String(),
    "arrears_minor": pl.Int64(),
    "arrears_fees_minor": pl.Int64(),
    "arrears_interest_minor": pl.Int64(),
    "arrears_principal_minor": pl.Int64(),
    "oldest_unpaid_due": pl.Date(),
    "past_due_installments": pl.Int64(),
    "credit_minor": pl.Int64(),
    "dpd_source": pl.String(),
    "amount_known": pl.Boolean(),
}


def bucket_expr(dpd: pl.Expr, scheme: BucketScheme = DEFAULT_BUCKETS) -> pl.Expr:
    """Polars expression mapping a DPD column to bucket names under ``scheme``."""
    chain: Any = None
    for b in scheme.buckets:
        if b.high is None:
            break
        cond = dpd <= b.high
        chain = (
            pl.when(cond).then(pl.lit(b.name))
            if chain is None
            else chain.when(cond).then(pl.lit(b.name))
        )
    last = pl.lit(scheme.buckets[-1].name)
    expr: pl.Expr = last if chain is None else chain.otherwise(last)
    return expr


def assess_portfolio(
    accounts: pl.DataFrame,
    installments: pl.DataFrame,
    payments: pl.DataFrame,
    as_of: date,
    scheme: BucketScheme = DEFAULT_BUCKETS,
    waterfall: Waterfall = DEFAULT_WATERFALL,
) -> pl.DataFrame:
    """Assess every account as of ``as_of``.

    Parameters
    ----------
    accounts, installments, payments : pl.DataFrame
        Normalised frames (see ``arrears.adapters.portfolio.schema.FRAME_SCHEMAS``).
    as_of : date
        Assessment date.

    Returns
    -------
    pl.DataFrame
        One row per account with the columns of ``ASSESSED_SCHEMA`` (amounts in minor units).
    """
    paid = (
        payments.lazy()
        .filter(pl.col("paid_on") <= as_of)
        .group_by("account_id")
        .agg(pl.col("amount_minor").sum().alias("paid_total"))
    )
    comp_cols = {c: f"{c}_minor" for c in COMPONENTS}
    inst = (
        installments.lazy()
        .select("account_id", "seq", "due_date", *comp_cols.values())
        .with_columns(
            pl.sum_horizontal(*comp_cols.values()).alias("total"),
        )
        .join(paid, on="account_id", how="left")
        .with_columns(pl.col("paid_total").fill_null(0))
        # joins do not keep row order: sort after them, right before the running sum
        .sort("account_id", "due_date", "seq")
        .with_columns(
            (pl.col("total").cum_sum().over("account_id") - pl.col("total")).alias("cum_before")
        )
        .with_columns(
            (pl.col("paid_total") - pl.col("cum_before"))
            .clip(0, None)
            .pipe(lambda e: pl.min_horizontal(e, pl.col("total")))
            .alias("paid_here")
        )
    )
    # split what was paid to each installment over its components in waterfall order
    left = pl.col("paid_here")
    unpaid_exprs = []
    taken: list[pl.Expr] = []
    for comp in waterfall.order:
        amount = pl.col(comp_cols[comp])
        remaining = left if not taken else (left - pl.sum_horizontal(*taken)).clip(0, None)
        take = pl.min_horizontal(remaining, amount)
        taken.append(take)
        unpaid_exprs.append((amount - take).alias(f"unpaid_{comp}"))
    inst = inst.with_columns(unpaid_exprs).with_columns(
        (pl.col("total") - pl.col("paid_here")).alias("unpaid"),
        (pl.col("due_date") < as_of).alias("past_due"),
    )
    pd_unpaid = pl.col("past_due") & (pl.col("unpaid") > 0)
    per_account = inst.group_by("account_id").agg(
        pl.col("due_date").filter(pd_unpaid).min().alias("oldest_unpaid_due"),
        pl.col("unpaid").filter(pl.col("past_due")).sum().alias("arrears_minor"),
        *(
            pl.col(f"unpaid_{c}").filter(pl.col("past_due")).sum().alias(f"arrears_{c}_minor")
            for c in COMPONENTS
        ),
        pd_unpaid.sum().cast(pl.Int64).alias("past_due_installments"),
        (pl.col("paid_total").first() - pl.col("total").sum()).clip(0, None).alias("credit_minor"),
    )
    out = (
        accounts.lazy()
        .select("account_id", "reported_dpd", "reported_past_due_minor")
        .join(per_account, on="account_id", how="left")
        .with_columns(
            pl.when(pl.col("arrears_minor").is_not_null())
            .then(pl.lit("schedule"))
            .when(pl.col("reported_dpd").is_not_null())
            .then(pl.lit("reported"))
            .otherwise(pl.lit("none"))
            .alias("dpd_source")
        )
        .with_columns(
            pl.when(pl.col("dpd_source") == "schedule")
            .then(
                pl.when(pl.col("oldest_unpaid_due").is_not_null())
                .then((pl.lit(as_of) - pl.col("oldest_unpaid_due")).dt.total_days())
                .otherwise(0)
            )
            .when(pl.col("dpd_source") == "reported")
            .then(pl.col("reported_dpd"))
            .otherwise(0)
            .cast(pl.Int64)
            .alias("dpd"),
            pl.when(pl.col("dpd_source") == "schedule")
            .then(pl.col("arrears_minor"))
            .when(pl.col("dpd_source") == "reported")
            .then(pl.col("reported_past_due_minor").fill_null(0))
            .otherwise(0)
            .cast(pl.Int64)
            .alias("arrears_minor"),
        )
        .with_columns(
            bucket_expr(pl.col("dpd"), scheme).alias("bucket"),
            # a reported DPD without a reported amount: the amount owed is unknown (0 above)
            ~(
                (pl.col("dpd_source") == "reported") & pl.col("reported_past_due_minor").is_null()
            ).alias("amount_known"),
            *(pl.col(f"arrears_{c}_minor").fill_null(0) for c in COMPONENTS),
            pl.col("past_due_installments").fill_null(0),
            pl.col("credit_minor").fill_null(0),
        )
        .select([pl.col(c).cast(t) for c, t in ASSESSED_SCHEMA.items()])
    )
    return out.collect()
