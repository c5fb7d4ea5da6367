"""Reason codes: the three factors that lower an account's propensity to pay the most.

For every scored account, the features are ranked by their contribution to the raw score
(LightGBM TreeSHAP values, scorecard points against the average, or logistic terms; negative =
lowers the propensity to pay) and the three most negative become sentences an agent can read
out and a borrower can understand, with the account's own value in them. A slot whose
contribution is not negative says so (:data:`NO_FURTHER_REASON`) instead of inventing a
reason. Sentences are built with Polars expressions, vectorised over accounts.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import polars as pl

REASON_COLUMNS: tuple[str, ...] = ("reason_1", "reason_2", "reason_3")
NO_FURTHER_REASON = "No other factor lowered the score."


def _int(v: pl.Expr) -> pl.Expr:
    return v.round(0).cast(pl.Int64).cast(pl.String)


def _pct(v: pl.Expr) -> pl.Expr:
    return (v * 100).round(0).cast(pl.Int64).cast(pl.String)


def _amount(v: pl.Expr) -> pl.Expr:
    return v.exp().sub(1.0).round(0).cast(pl.Int64).cast(pl.String)


def _signed(v: pl.Expr) -> pl.Expr:
    return pl.when(v >= 0).then(pl.lit("+")).otherwise(pl.lit("")) + _int(v)


SENTENCES: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "dpd": lambda v: pl.format("The account is {} days past due.", _int(v)),
    "cycles_delinquent": lambda v: pl.format(
        "The account is {} monthly payment(s) behind.", _int(v)
    ),
    "pay_to_bill_3m": lambda v: pl.format(
        "Payments in the last 3 months covered {}% of the amounts billed.", _pct(v)
    ),
    "pay_to_bill_1m": lambda v: pl.format(
        "Last month's payment covered {}% of the bill it was for.", _pct(v)
    ),
    "payments_6m": lambda v: pl.format("{} payment(s) arrived in the last 6 months.", _int(v)),
    "utilisation": lambda v: pl.format(
        "The balance is {}% of the credit limit (or of the amount lent).", _pct(v)
    ),
    "log_balance": lambda v: pl.format(
        "The outstanding balance is about {} (in the account's currency).", _amount(v)
    ),
    "log_limit": lambda v: pl.format(
        "The credit limit (or amount lent) is about {} (in the account's currency).", _amount(v)
    ),
    "max_dpd_6m": lambda v: pl.format(
        "The account was up to {} days past due in the last 6 months.", _int(v)
    ),
    "dpd_slope_3": lambda v: pl.format(
        "Over the last 3 months the arrears changed by {} days a month.", _signed(v)
    ),
    "dpd_slope_6": lambda v: pl.format(
        "Over the last 6 months the arrears changed by {} days a month.", _signed(v)
    ),
    "cures_6m": lambda v: pl.format(
        "The account fell behind and was brought up to date {} time(s) in the last 6 months.",
        _int(v),
    ),
    "roll_forwards_6m": lambda v: pl.format(
        "The account fell further behind {} time(s) in the last 6 months.", _int(v)
    ),
    "months_since_full_payment": lambda v: (
        pl.when(v >= 6)
        .then(pl.lit("No bill was paid in full in the last 6 months."))
        .otherwise(pl.format("The last bill paid in full was {} month(s) ago.", _int(v)))
    ),
}
"""Feature -> sentence template (a Polars expression of the feature's value)."""


class ReasonError(ValueError):
    """A feature has no sentence, or the inputs' shapes differ."""


def reason_codes(
    features: tuple[str, ...],
    values: npt.NDArray[np.float64],
    contributions: npt.NDArray[np.float64],
) -> pl.DataFrame:
    """The three most negative contributions of each account as sentences.

    Parameters
    ----------
    features : tuple of str, length k
        Feature names (each must have a sentence in :data:`SENTENCES`).
    values : ndarray, shape (n, k)
        The accounts' feature values (units of :mod:`arrears.pipeline.features`).
    contributions : ndarray, shape (n, k)
        Contribution of each feature to the raw score (negative lowers the propensity to pay).

    Returns
    -------
    pl.DataFrame
        Shape (n, 6): ``reason_1``, ``reason_2``, ``reason_3`` (String, never null; most
        negative first) and ``reason_feature_1..3`` (the feature names, null where the slot
        holds :data:`NO_FURTHER_REASON`).

    Raises
    ------
    ReasonError
        If a feature has no sentence or the shapes differ.
    """
    unknown = [f for f in features if f not in SENTENCES]
    if unknown:
        raise ReasonError(f"no reason sentence for feature(s) {unknown}")
    if values.shape != contributions.shape or values.ndim != 2 or values.shape[1] != len(features):
        raise ReasonError(
            f"values {values.shape} and contributions {contributions.shape} must both be "
            f"(n, {len(features)})"
        )
    n = values.shape[0]
    k = len(features)
    order = np.argsort(contributions, axis=1, kind="stable")[:, :3]
    rows = np.arange(n)[:, None]
    top_c = contributions[rows, order]
    top_v = values[rows, order]
    data: dict[str, object] = {}
    for s in range(3):
        if s < k:
            data[f"_f{s}"] = order[:, s].astype(np.int64)
            data[f"_v{s}"] = top_v[:, s]
            data[f"_neg{s}"] = top_c[:, s] < 0
        else:
            data[f"_f{s}"] = np.full(n, -1, dtype=np.int64)
            data[f"_v{s}"] = np.zeros(n)
            data[f"_neg{s}"] = np.zeros(n, dtype=bool)
    frame = pl.DataFrame(data)
    names = pl.Series(list(features), dtype=pl.String)
    out = []
    for s in range(3):
        f, v, neg = pl.col(f"_f{s}"), pl.col(f"_v{s}"), pl.col(f"_neg{s}")
        text: pl.Expr = pl.lit(NO_FURTHER_REASON)
        for i in reversed(range(k)):
            text = pl.when(neg & (f == i)).then(SENTENCES[features[i]](v)).otherwise(text)
        out.append(text.alias(REASON_COLUMNS[s]))
        out.append(
            pl.when(neg)
            .then(f.map_batches(lambda x: names.gather(x.clip(0)), return_dtype=pl.String))
            .otherwise(None)
            .alias(f"reason_feature_{s + 1}")
        )
    return frame.select(out).select(*REASON_COLUMNS, *(f"reason_feature_{s}" for s in (1, 2, 3)))
