"""Discrimination and calibration metrics of a propensity-to-pay score.

Every function takes ``y`` (int array of 0/1 outcomes, 1 = the borrower paid) and ``p`` (float
array of predicted probabilities of paying, same length). Metrics are floats, never money.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class MetricError(ValueError):
    """Inputs to a metric are inconsistent (lengths differ, a single class, bad values)."""


def _check(y: Any, p: Any) -> tuple[IntArray, FloatArray]:
    ya = np.asarray(y, dtype=np.int64)
    pa = np.asarray(p, dtype=np.float64)
    if ya.shape != pa.shape or ya.ndim != 1:
        raise MetricError(f"y and p must be 1-D of the same length, got {ya.shape} and {pa.shape}")
    if ya.size == 0:
        raise MetricError("no observations")
    if not np.isin(ya, (0, 1)).all():
        raise MetricError("y must hold only 0 and 1")
    if not np.isfinite(pa).all():
        raise MetricError("p holds a non-finite value")
    return ya, pa


def auc(y: Any, p: Any) -> float:
    """ROC AUC (0.5 = chance, 1 = perfect); NaN when ``y`` holds a single class.

    Raises
    ------
    MetricError
        Bad shapes or values (see module docstring).
    """
    from sklearn.metrics import roc_auc_score

    ya, pa = _check(y, p)
    if np.unique(ya).size < 2:
        return float("nan")
    return float(roc_auc_score(ya, pa))


def ks(y: Any, p: Any) -> float:
    """Kolmogorov-Smirnov statistic: max over thresholds of TPR - FPR, in [0, 1]."""
    from sklearn.metrics import roc_curve

    ya, pa = _check(y, p)
    if np.unique(ya).size < 2:
        return float("nan")
    fpr, tpr, _ = roc_curve(ya, pa)
    return float(np.max(tpr - fpr))


def brier(y: Any, p: Any) -> float:
    """Mean squared error of the probability, in [0, 1] (lower is better)."""
    ya, pa = _check(y, p)
    return float(np.mean((pa - ya) ** 2))


def calibration_curve(y: Any, p: Any, bins: int = 10) -> list[dict[str, float]]:
    """Mean predicted vs observed rate per quantile bin of ``p``.

    Parameters
    ----------
    bins : int, default 10
        Number of equal-count bins (deciles by default); ties keep equal scores together.

    Returns
    -------
    list of dict
        One dict per non-empty bin, lowest scores first: ``mean_predicted``, ``observed``
        (share of 1s), ``n`` (count, as float).
    """
    ya, pa = _check(y, p)
    order = np.argsort(pa, kind="stable")
    out = []
    for chunk in np.array_split(order, bins):
        if chunk.size == 0:
            continue
        out.append(
            {
                "mean_predicted": float(pa[chunk].mean()),
                "observed": float(ya[chunk].mean()),
                "n": float(chunk.size),
            }
        )
    return out


def expected_calibration_error(y: Any, p: Any, bins: int = 10) -> float:
    """Count-weighted mean absolute gap between predicted and observed rates over the bins."""
    curve = calibration_curve(y, p, bins)
    total = sum(c["n"] for c in curve)
    return float(sum(c["n"] * abs(c["mean_predicted"] - c["observed"]) for c in curve) / total)


def lift_by_decile(y: Any, p: Any) -> list[dict[str, float]]:
    """Rate of non-payment and lift per score decile, riskiest decile (lowest P(pay)) first.

    Returns
    -------
    list of dict
        Ten dicts: ``decile`` (1 = lowest propensity to pay), ``n``, ``non_payment_rate``
        (share of 0s), ``lift`` (decile non-payment rate / overall rate), ``cumulative_capture``
        (share of all non-payers found in deciles 1..d).
    """
    ya, pa = _check(y, p)
    bad = 1 - ya
    overall = bad.mean()
    total_bad = bad.sum()
    order = np.argsort(pa, kind="stable")
    out = []
    captured = 0
    for d, chunk in enumerate(np.array_split(order, 10), start=1):
        rate = float(bad[chunk].mean()) if chunk.size else float("nan")
        captured += int(bad[chunk].sum())
        out.append(
            {
                "decile": float(d),
                "n": float(chunk.size),
                "non_payment_rate": rate,
                "lift": rate / overall if overall > 0 else float("nan"),
                "cumulative_capture": captured / total_bad if total_bad else float("nan"),
            }
        )
    return out


def summary(y: Any, p: Any) -> dict[str, float]:
    """AUC, KS, Gini (``2 * AUC - 1``), Brier, ECE, base rate (share of 1s) and n."""
    ya, pa = _check(y, p)
    a = auc(ya, pa)
    return {
        "auc": a,
        "ks": ks(ya, pa),
        "gini": 2.0 * a - 1.0,
        "brier": brier(ya, pa),
        "ece": expected_calibration_error(ya, pa),
        "base_rate": float(ya.mean()),
        "n": float(ya.size),
    }
