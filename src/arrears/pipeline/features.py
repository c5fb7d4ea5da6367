"""Per-account features computed from the ledger only, for the propensity-to-pay model.

The features use nothing but the normalised portfolio (accounts, payments, statements,
installments) and an arrears assessment, so the same code serves the UCI portfolio and any
portfolio a lender sends or the generator makes. Only ledger rows dated on or before ``as_of``
are used: nothing from the future leaks in.

Features (one row per account, in the order of ``frames.accounts``):

``dpd`` : Int64, days, capped at ``DPD_CAP`` (60)
    Days past due on ``as_of``, taken from ``assessed``, capped at 60. Beyond two months the
    UCI data hold too few accounts to say more, and an uncapped linear term drives the
    propensity of M3+ accounts towards 0, far below the repayment they show in the data.
``cycles_delinquent`` : Int64, 30-day cycles, capped at 2
    ``ceil(dpd / 30)``: 0 when current, 1 for DPD 1..30 (M1), 2 for 31 and more.
``pay_to_bill_3m`` : Float64, ratio (dimensionless), clipped to [0, 2]
    Money paid in the last 92 days (``as_of - 91 <= paid_on <= as_of``) divided by the money
    billed in the same period. For an account with statements dated on or before ``as_of``,
    "billed" is the sum of the positive balances of its (up to) three latest statements; for
    an account without statements it is the total (principal + interest + fees) of its
    installments due in the 92-day window. 0 when nothing was billed.
``payments_6m`` : Int64, count
    Number of payments booked in the last 183 days (``as_of - 182 <= paid_on <= as_of``).
``utilisation`` : Float64, ratio (dimensionless), clipped to [0, 2]
    Cards: balance of the latest statement on or before ``as_of`` (the account balance when the
    card has no statement) divided by the credit limit; 0 without a positive limit.
    Loans: (``arrears_minor`` + unpaid amount of installments due on or after ``as_of``)
    divided by the principal, where the future installments are paid oldest first by what the
    payments leave after settling the past-due ones (the waterfall of
    :mod:`arrears.domain.delinquency`); 0 without a positive principal.
``log_balance`` : Float64, natural log of major currency units
    ``ln(1 + max(balance, 0))`` with the account balance in major units of its currency (a
    null balance counts as 0).

Ratios and logarithms are floats: they are model inputs, not money. All work is Polars
group-bys and joins (no Python loop over rows).
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from arrears.adapters.portfolio.schema import PortfolioFrames
from arrears.domain.money import MINOR_UNITS

FEATURE_NAMES: tuple[str, ...] = (
    "dpd",
    "cycles_delinquent",
    "pay_to_bill_3m",
    "payments_6m",
    "utilisation",
    "log_balance",
)
"""Feature columns produced by :func:`ledger_features`, in model order."""

DPD_CAP = 60
"""DPD above which the model sees no difference (days)."""

PAY_TO_BILL_WINDOW_DAYS = 92
PAYMENTS_WINDOW_DAYS = 183
STATEMENTS_IN_WINDOW = 3
RATIO_CAP = 2.0


class FeatureError(ValueError):
    """Inputs to :func:`ledger_features` are inconsistent (missing columns or accounts)."""


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """``num / den`` clipped to [0, RATIO_CAP]; 0 where ``den`` is null or <= 0."""
    return (
        pl.when(den.fill_null(0) > 0)
        .then((num.fill_null(0).cast(pl.Float64) / den.cast(pl.Float64)).clip(0.0, RATIO_CAP))
        .otherwise(0.0)
    )


def ledger_features(frames: PortfolioFrames, as_of: date, assessed: pl.DataFrame) -> pl.DataFrame:
    """Compute the model features of every account from the ledger.

    Parameters
    ----------
    frames : PortfolioFrames
        Normalised portfolio (``FRAME_SCHEMAS``); amounts in integer minor units.
    as_of : date
        Calendar date of the assessment; rows dated after it are ignored.
    assessed : pl.DataFrame
        Arrears assessment on ``as_of``, one row per account: ``account_id`` (String), ``dpd``
        (Int64, days), ``arrears_minor`` (Int64, minor units). Extra columns are ignored.

    Returns
    -------
    pl.DataFrame
        Shape (n_accounts, 1 + len(FEATURE_NAMES)): ``account_id`` then the columns of
        :data:`FEATURE_NAMES` (units in the module docstring), in ``frames.accounts`` order,
        without nulls.

    Raises
    ------
    FeatureError
        If ``assessed`` lacks a column, repeats an account or misses an account of the
        portfolio, or an account has a currency arrears does not know.
    """
    missing_cols = [c for c in ("account_id", "dpd", "arrears_minor") if c not in assessed.columns]
    if missing_cols:
        raise FeatureError(f"assessed frame lacks columns {missing_cols}")
    assessed = assessed.select(
        pl.col("account_id").cast(pl.String),
        pl.col("dpd").cast(pl.Int64),
        pl.col("arrears_minor").cast(pl.Int64),
    )
    dup = assessed.filter(pl.col("account_id").is_duplicated())
    if dup.height:
        raise FeatureError(
            f"assessed frame repeats accounts, e.g. {dup.get_column('account_id')[0]!r}"
        )

    w3_start = as_of - timedelta(days=PAY_TO_BILL_WINDOW_DAYS - 1)
    w6_start = as_of - timedelta(days=PAYMENTS_WINDOW_DAYS - 1)

    # Aggregations are plain sums of pre-masked columns (faster than filters inside agg).
    paid_on = pl.col("paid_on")
    pays = (
        frames.payments.lazy()
        .filter(paid_on <= as_of)
        .select(
            "account_id",
            pl.when(paid_on >= w3_start)
            .then(pl.col("amount_minor"))
            .otherwise(0)
            .alias("_paid_3m"),
            (paid_on >= w6_start).cast(pl.Int64).alias("_payments_6m"),
            pl.col("amount_minor").alias("_paid_total"),
        )
        .group_by("account_id")
        .agg(pl.col("_paid_3m", "_payments_6m", "_paid_total").sum())
    )
    # Sorting by date alone (not by account) is enough: group_by keeps the row order within
    # each group, so head() is the latest statements and first() the latest one.
    stmts = (
        frames.statements.lazy()
        .filter(pl.col("statement_date") <= as_of)
        .sort("statement_date", descending=True, maintain_order=False)
        .group_by("account_id")
        .agg(
            pl.col("balance_minor")
            .head(STATEMENTS_IN_WINDOW)
            .clip(lower_bound=0)
            .sum()
            .alias("_billed_3"),
            pl.col("balance_minor").first().alias("_latest_statement"),
        )
        .with_columns(pl.lit(True).alias("_has_statements"))
    )
    total = (
        pl.col("principal_minor").fill_null(0)
        + pl.col("interest_minor").fill_null(0)
        + pl.col("fees_minor").fill_null(0)
    )
    due = pl.col("due_date")
    insts = (
        frames.installments.lazy()
        .select(
            "account_id",
            pl.when(due.is_between(w3_start, as_of)).then(total).otherwise(0).alias("_due_3m"),
            pl.when(due < as_of).then(total).otherwise(0).alias("_past_due_total"),
            pl.when(due >= as_of).then(total).otherwise(0).alias("_future_total"),
        )
        .group_by("account_id")
        .agg(pl.col("_due_3m", "_past_due_total", "_future_total").sum())
    )

    base = frames.accounts.with_row_index("_i")
    ids = base.get_column("account_id")
    if assessed.height == base.height and assessed.get_column("account_id").equals(ids):
        # Fast path: the assessment is row-aligned with the accounts (the usual case), so its
        # columns are attached without a string-keyed join.
        base = base.with_columns(assessed.get_column("dpd"), assessed.get_column("arrears_minor"))
    else:
        base = base.join(assessed, on="account_id", how="left")
    accounts = base.lazy().select(
        "_i",
        "account_id",
        "product",
        "currency",
        "principal_minor",
        "credit_limit_minor",
        "balance_minor",
        "dpd",
        "arrears_minor",
        pl.col("currency")
        .replace_strict(MINOR_UNITS, default=None, return_dtype=pl.Int64)
        .alias("_exp"),
    )
    joined = (
        # Unordered joins then one integer sort restore the accounts' order (cheaper than
        # order-preserving joins on string keys).
        accounts.join(pays, on="account_id", how="left")
        .join(stmts, on="account_id", how="left")
        .join(insts, on="account_id", how="left")
        .sort("_i")
        .collect()
    )
    unassessed = joined.filter(pl.col("dpd").is_null())
    if unassessed.height:
        raise FeatureError(
            f"{unassessed.height} account(s) have no row in the assessed frame, e.g. "
            f"{unassessed.get_column('account_id')[0]!r}"
        )
    bad_ccy = joined.filter(pl.col("_exp").is_null())
    if bad_ccy.height:
        row = bad_ccy.row(0, named=True)
        raise FeatureError(f"account {row['account_id']!r}: unknown currency {row['currency']!r}")

    paid_after_past_due = (
        pl.col("_paid_total").fill_null(0) - pl.col("_past_due_total").fill_null(0)
    ).clip(lower_bound=0)
    future_total = pl.col("_future_total").fill_null(0)
    future_unpaid = future_total - pl.min_horizontal(paid_after_past_due, future_total)
    has_statements = pl.col("_has_statements").fill_null(False)
    billed = pl.when(has_statements).then(pl.col("_billed_3")).otherwise(pl.col("_due_3m"))
    card_balance = pl.coalesce(pl.col("_latest_statement"), pl.col("balance_minor"))
    major_balance = pl.col("balance_minor").fill_null(0).clip(lower_bound=0).cast(
        pl.Float64
    ) / pl.lit(10.0).pow(pl.col("_exp"))

    return joined.select(
        pl.col("account_id"),
        pl.col("dpd").clip(0, DPD_CAP).alias("dpd"),
        ((pl.col("dpd").clip(0, DPD_CAP) + 29) // 30).alias("cycles_delinquent"),
        _ratio(pl.col("_paid_3m"), billed).alias("pay_to_bill_3m"),
        pl.col("_payments_6m").fill_null(0).alias("payments_6m"),
        pl.when(pl.col("product") == "card")
        .then(_ratio(card_balance, pl.col("credit_limit_minor")))
        .otherwise(
            _ratio(pl.col("arrears_minor").fill_null(0) + future_unpaid, pl.col("principal_minor"))
        )
        .alias("utilisation"),
        major_balance.log1p().alias("log_balance"),
    )
