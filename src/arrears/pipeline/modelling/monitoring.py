"""Monitoring: population stability of the score and features, and calibration drift.

Population stability index (PSI) of a variable between an *expected* (old) and an *actual*
(new) sample::

    PSI = sum over bins b of (a_b - e_b) * ln(a_b / e_b)

with ``e_b`` and ``a_b`` the shares of the old and new sample in bin ``b``. Bins are the
deciles of the old sample (edges de-duplicated), or the distinct values when the old sample
has at most 10 of them (counts such as ``payments_6m``). Shares are floored at
:data:`PSI_EPSILON` so an empty bin does not give an infinite PSI. Usual reading: below 0.10
stable, 0.10-0.25 a moderate shift worth a look, above 0.25 a major shift (retrain or
investigate).

Calibration drift: for each snapshot whose outcomes are known, the mean predicted P(pay) minus
the observed pay rate, and the expected calibration error (ECE, over score deciles); the drift
is the change from old to new.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from arrears.pipeline.modelling import metrics

PSI_EPSILON = 1e-4
PSI_MODERATE = 0.10
PSI_MAJOR = 0.25

FloatArray = npt.NDArray[np.float64]


def psi(expected: Any, actual: Any, bins: int = 10) -> float:
    """Population stability index of ``actual`` against ``expected`` (see module docstring).

    Parameters
    ----------
    expected, actual : array-like of float
        Old and new samples (NaN values are dropped).
    bins : int, default 10
        Quantile bins of ``expected``.

    Returns
    -------
    float
        PSI >= 0 (0 = identical binned distributions).

    Raises
    ------
    ValueError
        If a sample is empty after dropping NaN.
    """
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    e, a = e[~np.isnan(e)], a[~np.isnan(a)]
    if e.size == 0 or a.size == 0:
        raise ValueError("PSI needs two non-empty samples")
    distinct = np.unique(e)
    if distinct.size <= bins:
        # categories: each distinct old value; new values are put in the nearest one below
        edges = distinct[1:]
    else:
        edges = np.unique(np.quantile(e, np.linspace(0, 1, bins + 1)[1:-1]))
    e_counts = np.bincount(np.searchsorted(edges, e, side="right"), minlength=edges.size + 1)
    a_counts = np.bincount(np.searchsorted(edges, a, side="right"), minlength=edges.size + 1)
    ep = np.maximum(e_counts / e.size, PSI_EPSILON)
    ap = np.maximum(a_counts / a.size, PSI_EPSILON)
    return float(np.sum((ap - ep) * np.log(ap / ep)))


def psi_level(value: float) -> str:
    """``"stable"``, ``"moderate"`` or ``"major"`` (thresholds 0.10 and 0.25)."""
    if value < PSI_MODERATE:
        return "stable"
    return "moderate" if value < PSI_MAJOR else "major"


@dataclass(frozen=True)
class MonitorReport:
    """PSI per variable and, when outcomes are known, calibration of both snapshots.

    Attributes
    ----------
    psi : pl.DataFrame
        ``variable`` (``"score"`` first, then each feature), ``psi``, ``level``,
        ``mean_old``, ``mean_new``.
    calibration : dict
        ``old``/``new``: ``{"mean_predicted", "observed", "gap", "ece"}`` (absent when the
        snapshot's outcomes are unknown) and ``gap_drift``/``ece_drift`` (new - old) when both.
    """

    psi: pl.DataFrame
    calibration: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"psi": self.psi.to_dicts(), "calibration": self.calibration}


def _calib(p: FloatArray, y: Any) -> dict[str, float]:
    ya = np.asarray(y, dtype=np.int64)
    return {
        "mean_predicted": float(p.mean()),
        "observed": float(ya.mean()),
        "gap": float(p.mean() - ya.mean()),
        "ece": metrics.expected_calibration_error(ya, p),
    }


def monitor(
    old: pl.DataFrame,
    new: pl.DataFrame,
    variables: tuple[str, ...],
    *,
    y_old: Any = None,
    y_new: Any = None,
) -> MonitorReport:
    """Compare two scored snapshots.

    Parameters
    ----------
    old, new : pl.DataFrame
        Each with a ``score`` column (P(pay)) and the columns of ``variables``.
    variables : tuple of str
        Feature columns to check besides the score.
    y_old, y_new : array-like of {0, 1}, optional
        Outcomes (1 = paid) in the row order of ``old``/``new``, when known.

    Returns
    -------
    MonitorReport

    Raises
    ------
    ValueError
        If a column is missing from a snapshot.
    """
    cols = ("score", *variables)
    for name, frame in (("old", old), ("new", new)):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} snapshot lacks columns {missing}")
    rows = []
    for c in cols:
        e = old.get_column(c).cast(pl.Float64).to_numpy()
        a = new.get_column(c).cast(pl.Float64).to_numpy()
        v = psi(e, a)
        rows.append(
            {
                "variable": c,
                "psi": v,
                "level": psi_level(v),
                "mean_old": float(np.nanmean(e)),
                "mean_new": float(np.nanmean(a)),
            }
        )
    calibration: dict[str, Any] = {}
    if y_old is not None:
        calibration["old"] = _calib(old.get_column("score").to_numpy(), y_old)
    if y_new is not None:
        calibration["new"] = _calib(new.get_column("score").to_numpy(), y_new)
    if "old" in calibration and "new" in calibration:
        calibration["gap_drift"] = calibration["new"]["gap"] - calibration["old"]["gap"]
        calibration["ece_drift"] = calibration["new"]["ece"] - calibration["old"]["ece"]
    return MonitorReport(pl.DataFrame(rows), calibration)


def plot_monitor(report: MonitorReport, old_scores: Any, new_scores: Any, path: Path) -> Path:
    """Write a PNG: PSI per variable (bars, with the 0.10/0.25 lines) and both score histograms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    names = report.psi.get_column("variable").to_list()
    values = report.psi.get_column("psi").to_list()
    ax1.barh(names, values, color="#4a7ab5")
    ax1.axvline(PSI_MODERATE, color="#e0a000", linestyle="--", label="0.10 moderate")
    ax1.axvline(PSI_MAJOR, color="#c03030", linestyle="--", label="0.25 major")
    ax1.invert_yaxis()
    ax1.set_xlabel("population stability index")
    ax1.legend(loc="lower right")
    bins = np.linspace(0, 1, 21)
    ax2.hist(np.asarray(old_scores), bins=bins, alpha=0.6, density=True, label="old")
    ax2.hist(np.asarray(new_scores), bins=bins, alpha=0.6, density=True, label="new")
    ax2.set_xlabel("P(pay)")
    ax2.set_ylabel("density")
    ax2.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
