"""The three propensity-to-pay models: LightGBM, an optbinning scorecard, a logistic baseline.

Each model maps a feature matrix ``X`` (float64, shape (n, k), columns in the order of its
``features``) to a **raw score** (higher = more likely to pay) and to **contributions**
(shape (n, k): how much each feature moved the raw score of each account, negative = it lowered
the propensity to pay; these drive the reason codes). A :class:`~.calibration.Calibrator`
turns the raw score into a probability.

* :class:`GbmModel`: LightGBM binary classifier of ``pays``; raw score = margin (log-odds);
  contributions = LightGBM's ``pred_contrib`` (TreeSHAP, in log-odds). Monotone constraints
  where the direction is known (:data:`MONOTONE`). Stored as LightGBM's native text format.
* :class:`ScorecardModel`: optbinning ``Scorecard`` (optimal binning, weight of evidence, a
  logistic regression on the WoE, points scaled min-max to 0..1000 in total); raw score = total
  points; contributions = a bin's points minus the feature's mean points on the training data.
  Stored as a table (JSON): per feature the bin splits and the points of each bin.
* :class:`LogitModel`: logistic regression on standardised features; raw score = linear
  predictor; contributions = ``coef_i * (x_i - mean_i) / scale_i``. Stored as JSON.

Nulls in ``X`` (NaN) are refused by the scoring entry points (see
:mod:`arrears.pipeline.modelling.registered`); the models themselves are trained on complete
rows. Sensitive attributes are never among ``features``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

MONOTONE: dict[str, int] = {
    "dpd": -1,
    "cycles_delinquent": -1,
    "max_dpd_6m": -1,
    "roll_forwards_6m": -1,
    "months_since_full_payment": -1,
    "pay_to_bill_1m": 1,
    "pay_to_bill_3m": 1,
}
"""Known direction of each feature's effect on the propensity to pay (+1 up, -1 down).

More days past due, a worse recent peak, more roll-forwards and a longer time since a full
payment never raise it; paying a larger share of the bill never lowers it. Features not listed
are unconstrained (utilisation, balance and limit interact; trend and cures are ambiguous).
"""


class ModelFormatError(ValueError):
    """A stored model artefact is malformed."""


@dataclass(frozen=True)
class GbmParams:
    """LightGBM hyper-parameters (defaults: the registered model).

    Shallow trees (depth 3): as accurate on the UCI data as deeper ones (held-out AUC 0.782-0.783
    for depth 3 to 5 and 15 leaves) and several times cheaper to score and to explain (TreeSHAP
    costs grow with leaves x depth squared), which the daily run on a million accounts needs.
    """

    num_leaves: int = 7
    max_depth: int = 3
    learning_rate: float = 0.1
    n_estimators: int = 150
    min_child_samples: int = 50
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0


FAST_GBM = GbmParams(num_leaves=4, max_depth=2, learning_rate=0.2, n_estimators=40)
"""A small configuration for tests (seconds on 21k rows)."""


class GbmModel:
    """A LightGBM booster on named features (see module docstring).

    Attributes
    ----------
    features : tuple of str
    booster : lightgbm.Booster
    """

    kind = "lightgbm"

    def __init__(self, features: tuple[str, ...], booster: Any):
        self.features = features
        self.booster = booster

    @classmethod
    def fit(
        cls,
        x: FloatArray,
        y: Any,
        features: tuple[str, ...],
        seed: int,
        params: GbmParams = GbmParams(),
    ) -> GbmModel:
        """Train on ``x`` (n, k) and outcomes ``y`` (1 = paid), deterministically for a seed."""
        import lightgbm as lgb

        mono = [MONOTONE.get(f, 0) for f in features]
        train = lgb.Dataset(
            x,
            label=np.asarray(y, dtype=np.float64),
            feature_name=list(features),
            free_raw_data=True,
        )
        booster = lgb.train(
            {
                "objective": "binary",
                "num_leaves": params.num_leaves,
                "max_depth": params.max_depth,
                "learning_rate": params.learning_rate,
                "min_child_samples": params.min_child_samples,
                "bagging_fraction": params.subsample,
                "bagging_freq": 1,
                "feature_fraction": params.colsample_bytree,
                "lambda_l2": params.reg_lambda,
                "monotone_constraints": mono,
                "monotone_constraints_method": "advanced",
                "seed": seed,
                "deterministic": True,
                "force_row_wise": True,
                "num_threads": 1,
                "verbose": -1,
            },
            train,
            num_boost_round=params.n_estimators,
        )
        return cls(features, booster)

    def raw(self, x: FloatArray) -> FloatArray:
        """Margin (log-odds of paying), shape (n,)."""
        out: FloatArray = np.asarray(
            self.booster.predict(x, raw_score=True, num_threads=0), dtype=np.float64
        )
        return out

    def contributions(self, x: FloatArray) -> FloatArray:
        """TreeSHAP contributions to the margin, shape (n, k) (bias column dropped)."""
        c = np.asarray(self.booster.predict(x, pred_contrib=True, num_threads=0), dtype=np.float64)
        out: FloatArray = c[:, : len(self.features)]
        return out

    def to_text(self) -> str:
        """LightGBM's native text model."""
        text: str = self.booster.model_to_string()
        return text

    @classmethod
    def from_text(cls, text: str, features: tuple[str, ...]) -> GbmModel:
        """Load a native text model; its feature names must equal ``features``.

        Raises
        ------
        ModelFormatError
            If LightGBM cannot parse the text or its features differ.
        """
        lgb = _import_lightgbm_for_scoring()
        try:
            booster = lgb.Booster(model_str=text)
        except Exception as exc:  # LightGBM raises its own LightGBMError
            raise ModelFormatError(f"LightGBM cannot read the model text: {exc}") from None
        names = tuple(booster.feature_name())
        if names != features:
            raise ModelFormatError(f"LightGBM model features {names} differ from {features}")
        return cls(features, booster)


class LogitModel:
    """Logistic regression on standardised features."""

    kind = "logit"

    def __init__(
        self,
        features: tuple[str, ...],
        means: FloatArray,
        scales: FloatArray,
        coef: FloatArray,
        intercept: float,
    ):
        self.features = features
        self.means = means
        self.scales = scales
        self.coef = coef
        self.intercept = intercept

    @classmethod
    def fit(cls, x: FloatArray, y: Any, features: tuple[str, ...], seed: int = 0) -> LogitModel:
        """Fit an L2 (C = 1) logistic regression on features standardised on ``x``."""
        from sklearn.linear_model import LogisticRegression

        means = x.mean(axis=0)
        scales = x.std(axis=0)
        scales = np.where(scales > 0, scales, 1.0)
        lr = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000)
        lr.fit((x - means) / scales, np.asarray(y))
        return cls(features, means, scales, lr.coef_[0].astype(np.float64), float(lr.intercept_[0]))

    def contributions(self, x: FloatArray) -> FloatArray:
        """``coef * standardised x``, shape (n, k)."""
        out: FloatArray = self.coef * (x - self.means) / self.scales
        return out

    def raw(self, x: FloatArray) -> FloatArray:
        """Linear predictor (log-odds of paying), shape (n,)."""
        out: FloatArray = self.contributions(x).sum(axis=1) + self.intercept
        return out

    def to_json(self) -> str:
        """JSON artefact."""
        return json.dumps(
            {
                "features": list(self.features),
                "means": self.means.tolist(),
                "scales": self.scales.tolist(),
                "coefficients": self.coef.tolist(),
                "intercept": self.intercept,
            },
            indent=1,
        )


class ScorecardModel:
    """A points table: per feature, bin splits and the points of each bin (see module doc)."""

    kind = "scorecard"

    def __init__(
        self,
        features: tuple[str, ...],
        splits: list[list[float]],
        points: list[list[float]],
        mean_points: list[float],
    ):
        self.features = features
        self.splits = splits
        self.points = points
        self.mean_points = mean_points

    @classmethod
    def fit(cls, x: FloatArray, y: Any, features: tuple[str, ...], seed: int = 0) -> ScorecardModel:
        """Optimal binning + WoE logistic regression + min-max points (optbinning)."""
        import pandas as pd
        from optbinning import BinningProcess, Scorecard
        from sklearn.linear_model import LogisticRegression

        frame = pd.DataFrame(x, columns=list(features))
        event = 1 - np.asarray(y, dtype=np.int64)  # the scorecard's event is non-payment
        sc = Scorecard(
            binning_process=BinningProcess(list(features)),
            estimator=LogisticRegression(max_iter=10_000),
            scaling_method="min_max",
            scaling_method_params={"min": 0, "max": 1000},
        )
        sc.fit(frame, event)
        table = sc.table(style="detailed")
        bp = sc.binning_process_
        splits: list[list[float]] = []
        points: list[list[float]] = []
        for f in features:
            sp = [float(v) for v in bp.get_binned_variable(f).splits]
            rows = table[table["Variable"] == f]
            pts = [float(v) for v in rows["Points"].to_numpy()[: len(sp) + 1]]
            splits.append(sp)
            points.append(pts)
        model = cls(features, splits, points, [0.0] * len(features))
        per = model._points(x)
        model.mean_points = [float(v) for v in per.mean(axis=0)]
        return model

    def _points(self, x: FloatArray) -> FloatArray:
        out = np.empty_like(x, dtype=np.float64)
        for j in range(len(self.features)):
            idx = np.searchsorted(np.asarray(self.splits[j]), x[:, j], side="right")
            out[:, j] = np.asarray(self.points[j])[idx]
        return out

    def raw(self, x: FloatArray) -> FloatArray:
        """Total points (higher = more likely to pay), shape (n,)."""
        out: FloatArray = self._points(x).sum(axis=1)
        return out

    def contributions(self, x: FloatArray) -> FloatArray:
        """Points of the account's bin minus the feature's mean training points, (n, k)."""
        out: FloatArray = self._points(x) - np.asarray(self.mean_points)
        return out

    def table(self) -> list[dict[str, Any]]:
        """The scorecard as rows: feature, bin (interval text), lower, upper, points."""
        rows = []
        for f, sp, pts in zip(self.features, self.splits, self.points, strict=True):
            edges = [-np.inf, *sp, np.inf]
            for i, p in enumerate(pts):
                lo, hi = edges[i], edges[i + 1]
                rows.append(
                    {
                        "feature": f,
                        "bin": f"[{lo:g}, {hi:g})",
                        "lower": None if np.isinf(lo) else lo,
                        "upper": None if np.isinf(hi) else hi,
                        "points": p,
                    }
                )
        return rows

    def to_json(self) -> str:
        """JSON artefact: features, splits, points, mean points and the readable table."""
        return json.dumps(
            {
                "features": list(self.features),
                "splits": self.splits,
                "points": self.points,
                "mean_points": self.mean_points,
                "table": self.table(),
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> ScorecardModel:
        """Inverse of :meth:`to_json`.

        Raises
        ------
        ModelFormatError
            If a field is missing or the bins and points do not match.
        """
        try:
            d = json.loads(text)
            model = cls(
                tuple(d["features"]),
                [[float(v) for v in s] for s in d["splits"]],
                [[float(v) for v in p] for p in d["points"]],
                [float(v) for v in d["mean_points"]],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(f"scorecard table: {exc}") from None
        for f, s, p in zip(model.features, model.splits, model.points, strict=True):
            if len(p) != len(s) + 1:
                raise ModelFormatError(
                    f"scorecard table: feature {f} has {len(s)} splits but {len(p)} bins of points"
                )
        return model


def _import_lightgbm_for_scoring() -> Any:
    """``import lightgbm`` without its optional scikit-learn wrappers, when scikit-learn is not
    loaded yet.

    LightGBM imports scikit-learn (and with it SciPy) at import time only to offer its
    ``LGBMClassifier`` wrappers, which scoring never uses: about 3 s of every daily run. The
    import is made with scikit-learn hidden (LightGBM then marks it not installed); the native
    ``Booster`` API is unaffected, and scikit-learn itself stays importable afterwards. When
    scikit-learn is already loaded (training, tests) this is a plain import.
    """
    if "lightgbm" in sys.modules or "sklearn" in sys.modules:
        import lightgbm

        return lightgbm
    sys.modules["sklearn"] = None  # type: ignore[assignment]  # makes `import sklearn` fail
    try:
        import lightgbm
    finally:
        del sys.modules["sklearn"]
    return lightgbm
