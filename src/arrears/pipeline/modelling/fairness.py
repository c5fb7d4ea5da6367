"""Fairness report: does the score work equally well, and treat equally, across groups?

SEX, MARRIAGE, EDUCATION and AGE are never model inputs nor treatment rules; they are used here
only, to check the score after the fact. For each attribute, fairlearn's ``MetricFrame`` gives
per group: the count, the observed pay rate, the AUC, the calibration gap (mean predicted minus
observed pay rate: positive = the model is too optimistic for the group) and the
*approval-like rate* (share of accounts whose P(pay) is at least ``threshold``: the accounts a
lender would treat as "likely to pay"). A metric is flagged when the difference between its
largest and smallest group value exceeds the configured gap.

Groups (UCI codes): SEX 1 male, 2 female; MARRIAGE 1 married, 2 single, other codes "other or
unknown"; EDUCATION 1 graduate school, 2 university, 3 high school, other codes "other or
unknown"; AGE bands under 25, 25-34, 35-44, 45-54, 55 and over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from arrears.pipeline.modelling import metrics

DEFAULT_GAPS: dict[str, float] = {"auc": 0.05, "calibration_gap": 0.05, "approval_rate": 0.10}
"""Largest tolerated difference between groups, per metric (configurable)."""

DEFAULT_THRESHOLD = 0.5
"""P(pay) at or above which an account counts as "approved" (likely to pay)."""


def group_labels(sensitive: pl.DataFrame) -> pl.DataFrame:
    """Readable group of each account for SEX, MARRIAGE, EDUCATION and AGE (see module doc)."""
    age = pl.col("AGE")
    return sensitive.select(
        pl.col("SEX").replace_strict({1: "male", 2: "female"}, default="unknown").alias("SEX"),
        pl.col("MARRIAGE")
        .replace_strict({1: "married", 2: "single"}, default="other or unknown")
        .alias("MARRIAGE"),
        pl.col("EDUCATION")
        .replace_strict(
            {1: "graduate school", 2: "university", 3: "high school"}, default="other or unknown"
        )
        .alias("EDUCATION"),
        pl.when(age < 25)
        .then(pl.lit("under 25"))
        .when(age < 35)
        .then(pl.lit("25-34"))
        .when(age < 45)
        .then(pl.lit("35-44"))
        .when(age < 55)
        .then(pl.lit("45-54"))
        .otherwise(pl.lit("55 and over"))
        .alias("AGE"),
    )


@dataclass(frozen=True)
class FairnessReport:
    """Per-group metrics and the flagged gaps.

    Attributes
    ----------
    table : pl.DataFrame
        One row per (attribute, group): ``attribute``, ``group``, ``n``, ``pay_rate``,
        ``auc``, ``calibration_gap``, ``approval_rate``.
    gaps : pl.DataFrame
        One row per (attribute, metric): ``attribute``, ``metric``, ``gap`` (max - min over
        groups), ``limit``, ``flagged`` (gap > limit).
    threshold : float
    """

    table: pl.DataFrame
    gaps: pl.DataFrame
    threshold: float
    limits: dict[str, float] = field(default_factory=dict)

    @property
    def flagged(self) -> pl.DataFrame:
        """The rows of ``gaps`` above their limit."""
        return self.gaps.filter(pl.col("flagged"))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "threshold": self.threshold,
            "limits": self.limits,
            "groups": self.table.to_dicts(),
            "gaps": self.gaps.to_dicts(),
        }


def fairness_report(
    y: Any,
    p: Any,
    sensitive: pl.DataFrame,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    gaps: Mapping[str, float] | None = None,
) -> FairnessReport:
    """Compute the fairness report of probabilities ``p`` against outcomes ``y``.

    Parameters
    ----------
    y : array-like of {0, 1}, shape (n,)
        1 = paid.
    p : array-like of float, shape (n,)
        Predicted probability of paying.
    sensitive : pl.DataFrame, n rows
        Columns ``SEX``, ``MARRIAGE``, ``EDUCATION``, ``AGE`` in UCI codes.
    threshold : float
        Approval-like cut-off on ``p``.
    gaps : mapping, optional
        Metric -> largest tolerated difference between groups (default :data:`DEFAULT_GAPS`).

    Returns
    -------
    FairnessReport

    Raises
    ------
    ValueError
        If lengths differ or a sensitive column is missing.
    """
    from fairlearn.metrics import MetricFrame

    ya = np.asarray(y, dtype=np.int64)
    pa = np.asarray(p, dtype=np.float64)
    if ya.shape != pa.shape or sensitive.height != ya.size:
        raise ValueError(f"y {ya.shape}, p {pa.shape} and sensitive ({sensitive.height}) differ")
    missing = [c for c in ("SEX", "MARRIAGE", "EDUCATION", "AGE") if c not in sensitive.columns]
    if missing:
        raise ValueError(f"sensitive frame lacks columns {missing}")
    limits = dict(DEFAULT_GAPS if gaps is None else gaps)
    groups = group_labels(sensitive)

    def n(yt: Any, yp: Any) -> float:
        return float(len(yt))

    def pay_rate(yt: Any, yp: Any) -> float:
        return float(np.mean(yt))

    def group_auc(yt: Any, yp: Any) -> float:
        return metrics.auc(np.asarray(yt), np.asarray(yp))

    def calibration_gap(yt: Any, yp: Any) -> float:
        return float(np.mean(yp) - np.mean(yt))

    def approval_rate(yt: Any, yp: Any) -> float:
        return float(np.mean(np.asarray(yp) >= threshold))

    funcs = {
        "n": n,
        "pay_rate": pay_rate,
        "auc": group_auc,
        "calibration_gap": calibration_gap,
        "approval_rate": approval_rate,
    }
    rows: list[dict[str, Any]] = []
    gap_rows: list[dict[str, Any]] = []
    for attr in ("SEX", "MARRIAGE", "EDUCATION", "AGE"):
        mf = MetricFrame(
            metrics=funcs,
            y_true=ya,
            y_pred=pa,
            sensitive_features=groups.get_column(attr).to_numpy(),
        )
        by = mf.by_group
        for group, values in by.iterrows():
            rows.append(
                {"attribute": attr, "group": str(group), **{k: float(values[k]) for k in funcs}}
            )
        for metric, limit in limits.items():
            col = by[metric].astype(float)
            gap = float(np.nanmax(col) - np.nanmin(col))
            gap_rows.append(
                {
                    "attribute": attr,
                    "metric": metric,
                    "gap": gap,
                    "limit": float(limit),
                    "flagged": bool(gap > limit),
                }
            )
    table = pl.DataFrame(
        rows,
        schema={
            "attribute": pl.String,
            "group": pl.String,
            "n": pl.Float64,
            "pay_rate": pl.Float64,
            "auc": pl.Float64,
            "calibration_gap": pl.Float64,
            "approval_rate": pl.Float64,
        },
    ).with_columns(pl.col("n").cast(pl.Int64))
    gap_frame = pl.DataFrame(
        gap_rows,
        schema={
            "attribute": pl.String,
            "metric": pl.String,
            "gap": pl.Float64,
            "limit": pl.Float64,
            "flagged": pl.Boolean,
        },
    )
    return FairnessReport(table, gap_frame, threshold, limits)
