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

Extended features (:data:`MODEL_FEATURES`, used by the models of
:mod:`arrears.pipeline.modelling`; the baseline logistic model keeps the six above):

``pay_to_bill_1m`` : Float64, ratio, clipped to [0, 2]
    Money paid in the last 30 days (``as_of - 29 <= paid_on <= as_of``) divided by what that
    payment was for: the balance of the latest statement dated on or before ``as_of - 30``
    (for the UCI file as of 2005-09-30: ``PAY_AMT1 / BILL_AMT2``); for an account without such
    a statement, the installments due in the 30-day window. 0 when nothing was billed.
``log_limit`` : Float64, natural log of major currency units
    ``ln(1 + limit)``: the credit limit of a card, the principal of a loan (null counts as 0).
``max_dpd_6m`` : Int64, days, capped at ``MAX_DPD_CAP`` (180)
    Highest DPD over the last ``HISTORY_CYCLES`` (6) delinquency-history cycles on or before
    ``as_of`` and the DPD on ``as_of``.
``dpd_slope_3``, ``dpd_slope_6`` : Float64, days per cycle
    Least-squares slope of the reported DPD against the cycle number over the latest 3 (6)
    history cycles on or before ``as_of``: positive when arrears grow (an account rolling from
    current to M1 to M2 has slope 30). 0 with a single cycle.
``cures_6m`` : Int64, count
    Cycle-to-cycle transitions, among the latest 6 history cycles, from DPD > 0 to DPD 0.
``roll_forwards_6m`` : Int64, count
    Transitions, among the latest 6 history cycles, into a later delinquency cycle
    (``ceil(dpd / 30)`` increased: current -> M1, M1 -> M2, ...).
``months_since_full_payment`` : Int64, billing cycles, 0..6
    For an account with statements: the number of complete billing cycles since the latest
    statement whose balance was paid in full (payments dated after the statement date up to
    and including the next statement date add up to at least its balance; a balance <= 0
    counts as paid). Only statements followed by another statement on or before ``as_of``
    count (the latest statement's payment window is still open). For the UCI file as of
    2005-09-30: 0 when ``PAY_AMT1 >= BILL_AMT2``, 1 when not but ``PAY_AMT2 >= BILL_AMT3``,
    ... For an account without statements: cycles since the latest history cycle with DPD 0
    (everything due was paid). 6 when none of the last 6 qualifies.

History features (``max_dpd_6m``, ``dpd_slope_*``, ``cures_6m``, ``roll_forwards_6m``) are
**null** for an account with no ``delinquency_history`` row on or before ``as_of``, and
``months_since_full_payment`` is null for an account with neither two statements nor history:
the portfolio lacks what they need, and a model that uses them refuses to score such an
account rather than see a made-up 0.

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

MODEL_FEATURES: tuple[str, ...] = (
    *FEATURE_NAMES,
    "pay_to_bill_1m",
    "log_limit",
    "max_dpd_6m",
    "dpd_slope_3",
    "dpd_slope_6",
    "cures_6m",
    "roll_forwards_6m",
    "months_since_full_payment",
)
"""Every feature column :func:`ledger_features` produces, in order (baseline six first)."""

HISTORY_FEATURES: tuple[str, ...] = (
    "max_dpd_6m",
    "dpd_slope_3",
    "dpd_slope_6",
    "cures_6m",
    "roll_forwards_6m",
)
"""Features computed from the ``delinquency_history`` table (null without it)."""

DPD_CAP = 60
"""DPD above which the model sees no difference (days)."""

MAX_DPD_CAP = 180
"""Cap of ``max_dpd_6m`` (days)."""

HISTORY_CYCLES = 6
"""Delinquency-history cycles the trend, cure and roll-forward features look back on."""

MONTHS_SINCE_CAP = 6
"""Value of ``months_since_full_payment`` when no cycle in the window qualifies."""

PAY_TO_BILL_1M_DAYS = 30

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
        Shape (n_accounts, 1 + len(MODEL_FEATURES)): ``account_id`` then the columns of
        :data:`MODEL_FEATURES` (units in the module docstring), in ``frames.accounts`` order.
        The six baseline features are never null; the history features are null where the
        module docstring says.

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
    w1_start = as_of - timedelta(days=PAY_TO_BILL_1M_DAYS - 1)
    bill_cut = as_of - timedelta(days=PAY_TO_BILL_1M_DAYS)
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
            pl.when(paid_on >= w1_start)
            .then(pl.col("amount_minor"))
            .otherwise(0)
            .alias("_paid_1m"),
            (paid_on >= w6_start).cast(pl.Int64).alias("_payments_6m"),
            pl.col("amount_minor").alias("_paid_total"),
        )
        .group_by("account_id")
        .agg(pl.col("_paid_3m", "_paid_1m", "_payments_6m", "_paid_total").sum())
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
            pl.col("balance_minor")
            .filter(pl.col("statement_date") <= bill_cut)
            .first()
            .alias("_bill_prev"),
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
            pl.when(due.is_between(w1_start, as_of)).then(total).otherwise(0).alias("_due_1m"),
            pl.when(due < as_of).then(total).otherwise(0).alias("_past_due_total"),
            pl.when(due >= as_of).then(total).otherwise(0).alias("_future_total"),
        )
        .group_by("account_id")
        .agg(pl.col("_due_3m", "_due_1m", "_past_due_total", "_future_total").sum())
    )
    hist = _history_aggregates(frames.delinquency_history, as_of)
    full = _full_payment_aggregates(frames.statements, frames.payments, as_of)

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
        .join(hist, on="account_id", how="left")
        .join(full, on="account_id", how="left")
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
    limit = (
        pl.when(pl.col("product") == "card")
        .then(pl.col("credit_limit_minor"))
        .otherwise(pl.col("principal_minor"))
    )
    major_limit = limit.fill_null(0).clip(lower_bound=0).cast(pl.Float64) / pl.lit(10.0).pow(
        pl.col("_exp")
    )
    billed_1m = (
        pl.when(pl.col("_bill_prev").is_not_null())
        .then(pl.col("_bill_prev"))
        .otherwise(pl.col("_due_1m"))
    )
    has_history = pl.col("_h_n").fill_null(0) > 0
    dpd_now = pl.col("dpd").clip(lower_bound=0)

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
        _ratio(pl.col("_paid_1m"), billed_1m).alias("pay_to_bill_1m"),
        major_limit.log1p().alias("log_limit"),
        pl.when(has_history)
        .then(pl.max_horizontal(pl.col("_h_max"), dpd_now).clip(0, MAX_DPD_CAP))
        .otherwise(None)
        .alias("max_dpd_6m"),
        pl.when(has_history).then(pl.col("_h_slope3")).otherwise(None).alias("dpd_slope_3"),
        pl.when(has_history).then(pl.col("_h_slope6")).otherwise(None).alias("dpd_slope_6"),
        pl.when(has_history).then(pl.col("_h_cures")).otherwise(None).alias("cures_6m"),
        pl.when(has_history).then(pl.col("_h_rolls")).otherwise(None).alias("roll_forwards_6m"),
        pl.coalesce(pl.col("_f_since"), pl.col("_h_since")).alias("months_since_full_payment"),
    )


def _history_aggregates(history: pl.DataFrame, as_of: date) -> pl.LazyFrame:
    """Per-account aggregates of the latest ``HISTORY_CYCLES`` history rows on or before as_of.

    Columns: ``_h_n`` (cycles used), ``_h_max`` (max DPD), ``_h_slope3``/``_h_slope6`` (days
    per cycle), ``_h_cures``, ``_h_rolls`` (counts), ``_h_since`` (cycles since DPD 0).

    Vectorised: one sort by account and cycle (latest first), the recency rank ``r`` (0 =
    latest) from the position in the account's run of rows, then plain sums in one group-by.
    The trend is the least-squares slope of DPD on time ``-r``:
    ``-(n*Sum(r*y) - Sum(r)*Sum(y)) / (n*Sum(r^2) - Sum(r)^2)``, 0 with a single cycle.
    """
    dpd = pl.col("dpd")
    acc = pl.col("account_id")
    idx = pl.col("_idx")
    h = (
        history.lazy()
        .filter(pl.col("cycle_date") <= as_of)
        .select("account_id", "cycle_date", "dpd")
        .sort(["account_id", "cycle_date"], descending=[False, True])
        .with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("_idx"),
            (acc != acc.shift(1)).fill_null(True).alias("_new"),
        )
        .with_columns((idx - pl.when(pl.col("_new")).then(idx).forward_fill()).alias("_r"))
        .filter(pl.col("_r") < HISTORY_CYCLES)
        .with_columns(pl.when(acc == acc.shift(-1)).then(dpd.shift(-1)).alias("_older"))
    )
    r = pl.col("_r").cast(pl.Float64)
    y = dpd.cast(pl.Float64)
    windows = (3, HISTORY_CYCLES)
    moments = []
    for k in windows:
        m = (pl.col("_r") < k).cast(pl.Float64)
        moments += [
            m.alias(f"_n{k}"),
            (r * m).alias(f"_sr{k}"),
            (y * m).alias(f"_sy{k}"),
            (r * r * m).alias(f"_srr{k}"),
            (r * y * m).alias(f"_sry{k}"),
        ]
    older = pl.col("_older")
    cycles = (dpd.clip(lower_bound=0) + 29) // 30
    older_cycles = (older.clip(lower_bound=0) + 29) // 30
    rows = h.select(
        "account_id",
        dpd,
        *moments,
        ((older > 0) & (dpd == 0)).fill_null(False).cast(pl.Int64).alias("_cure"),
        (cycles > older_cycles).fill_null(False).cast(pl.Int64).alias("_roll"),
        pl.when(dpd == 0).then(pl.col("_r")).alias("_zero_r"),
    )
    sums = [pl.col(f"_{a}{k}").sum() for k in windows for a in ("n", "sr", "sy", "srr", "sry")]
    grouped = rows.group_by("account_id").agg(
        pl.len().alias("_h_n"),
        dpd.max().alias("_h_max"),
        *sums,
        pl.col("_cure").sum().alias("_h_cures"),
        pl.col("_roll").sum().alias("_h_rolls"),
        pl.col("_zero_r").min().fill_null(MONTHS_SINCE_CAP).cast(pl.Int64).alias("_h_since"),
    )

    def slope(k: int) -> pl.Expr:
        n = pl.col(f"_n{k}")
        num = n * pl.col(f"_sry{k}") - pl.col(f"_sr{k}") * pl.col(f"_sy{k}")
        den = n * pl.col(f"_srr{k}") - pl.col(f"_sr{k}") * pl.col(f"_sr{k}")
        return pl.when(den > 0).then(0.0 - num / den).otherwise(0.0)

    return grouped.select(
        "account_id",
        "_h_n",
        "_h_max",
        slope(3).alias("_h_slope3"),
        slope(HISTORY_CYCLES).alias("_h_slope6"),
        "_h_cures",
        "_h_rolls",
        "_h_since",
    )


def _full_payment_aggregates(
    statements: pl.DataFrame, payments: pl.DataFrame, as_of: date
) -> pl.LazyFrame:
    """``_f_since``: complete billing cycles since the latest statement paid in full.

    A payment belongs to the latest statement dated strictly before it; a statement is paid
    in full when its payments reach its balance (a balance <= 0 always is). The latest
    statement of each account (payment window still open) is left out.
    """
    stmts = (
        statements.lazy()
        .filter(pl.col("statement_date") <= as_of)
        .select("account_id", "statement_date", "balance_minor")
    )
    paid = (
        payments.lazy()
        .filter(pl.col("paid_on") <= as_of)
        .select("account_id", "paid_on", "amount_minor")
        # only accounts with statements matter (loans have none): a cheap semi-join first
        .join(stmts.select("account_id").unique(), on="account_id", how="semi")
        .sort("paid_on")
        .join_asof(
            stmts.sort("statement_date"),
            left_on="paid_on",
            right_on="statement_date",
            by="account_id",
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
        .filter(pl.col("statement_date").is_not_null())
        .group_by("account_id", "statement_date")
        .agg(pl.col("amount_minor").sum().alias("_paid_after"))
    )
    full = (pl.col("balance_minor") <= 0) | (
        pl.col("_paid_after").fill_null(0) >= pl.col("balance_minor")
    )
    return (
        stmts.join(paid, on=["account_id", "statement_date"], how="left")
        .sort("statement_date", descending=True, maintain_order=False)
        .group_by("account_id")
        .agg(full.slice(1, MONTHS_SINCE_CAP).alias("_full"))
        .filter(pl.col("_full").list.len() > 0)
        .select(
            "account_id",
            pl.when(pl.col("_full").list.any())
            .then(pl.col("_full").list.arg_max().cast(pl.Int64))
            .otherwise(pl.lit(MONTHS_SINCE_CAP, dtype=pl.Int64))
            .alias("_f_since"),
        )
    )
