"""Probability calibration of a raw model score: Platt (logistic) or isotonic, chosen on data.

A calibrator maps a raw score (LightGBM margin, scorecard points, logistic linear predictor;
higher = more likely to pay) to a probability of paying. Both kinds serialise to small JSON
dictionaries (no pickle):

* Platt: ``p = 1 / (1 + exp(-(a * raw + b)))``, ``{"method": "platt", "a": .., "b": ..}``.
* Isotonic: a non-decreasing step-linear map given by its knots, applied with linear
  interpolation and clipped at the ends (what scikit-learn's ``IsotonicRegression`` with
  ``out_of_bounds="clip"`` does), ``{"method": "isotonic", "x": [..], "y": [..]}``.

:func:`choose_calibrator` fits both on a validation fold with 2-fold cross-fitting (fit on one
half, measure the Brier score on the other, and back), keeps the kind with the lower mean
Brier score, and refits it on the whole fold.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class CalibrationError(ValueError):
    """A calibrator cannot be fitted or read."""


@dataclass(frozen=True)
class Calibrator:
    """A fitted calibrator (see the module docstring for the two methods).

    Attributes
    ----------
    method : {"platt", "isotonic"}
    params : dict
        ``a``, ``b`` (Platt) or ``x``, ``y`` knots (isotonic, ``x`` increasing).
    validation : dict
        Cross-fitted Brier score of each method on the validation fold (empty if not chosen).
    """

    method: str
    params: dict[str, Any]
    validation: dict[str, float] = field(default_factory=dict)

    def __call__(self, raw: Any) -> FloatArray:
        """Probabilities in [0, 1] for raw scores (array-like, any shape)."""
        r = np.asarray(raw, dtype=np.float64)
        if self.method == "platt":
            z = self.params["a"] * r + self.params["b"]
            out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))  # stable logistic
            return out
        if self.method == "isotonic":
            res: FloatArray = np.interp(
                r, np.asarray(self.params["x"]), np.asarray(self.params["y"])
            )
            return res
        raise CalibrationError(f"unknown calibration method {self.method!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"method": self.method, "params": self.params, "validation": self.validation}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibrator:
        """Inverse of :meth:`to_dict`.

        Raises
        ------
        CalibrationError
            Unknown method or malformed parameters.
        """
        method = data.get("method")
        params = data.get("params")
        if not isinstance(params, dict):
            raise CalibrationError("calibration: field params missing or not an object")
        if method == "platt":
            if not all(isinstance(params.get(k), int | float) for k in ("a", "b")):
                raise CalibrationError("calibration: platt needs numbers a and b")
        elif method == "isotonic":
            x, y = params.get("x"), params.get("y")
            if not (isinstance(x, list) and isinstance(y, list) and len(x) == len(y) >= 1):
                raise CalibrationError("calibration: isotonic needs lists x and y, same length")
            if any(b < a for a, b in itertools.pairwise(x)):
                raise CalibrationError("calibration: isotonic x must be non-decreasing")
        else:
            raise CalibrationError(f"calibration: unknown method {method!r}")
        return cls(str(method), dict(params), dict(data.get("validation", {})))


def fit_platt(raw: Any, y: Any) -> Calibrator:
    """Fit ``p = sigmoid(a * raw + b)`` by (nearly unpenalised) logistic regression."""
    from sklearn.linear_model import LogisticRegression

    r = np.asarray(raw, dtype=np.float64).reshape(-1, 1)
    lr = LogisticRegression(C=1e6, tol=1e-10, max_iter=10_000).fit(r, np.asarray(y))
    return Calibrator("platt", {"a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])})


def fit_isotonic(raw: Any, y: Any) -> Calibrator:
    """Fit a non-decreasing map raw -> P(pay) (scikit-learn ``IsotonicRegression``)."""
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    iso.fit(np.asarray(raw, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return Calibrator(
        "isotonic",
        {"x": [float(v) for v in iso.X_thresholds_], "y": [float(v) for v in iso.y_thresholds_]},
    )


_FITTERS = {"platt": fit_platt, "isotonic": fit_isotonic}


def choose_calibrator(raw: Any, y: Any, seed: int = 0) -> Calibrator:
    """Choose Platt or isotonic on a validation fold by 2-fold cross-fitted Brier score.

    Parameters
    ----------
    raw : array-like, shape (n,)
        Raw scores of the validation accounts (higher = more likely to pay).
    y : array-like of {0, 1}, shape (n,)
        Outcomes (1 = paid).
    seed : int
        Seed of the random halving of the fold.

    Returns
    -------
    Calibrator
        The chosen method refitted on the whole fold; ``validation`` holds both Brier scores.

    Raises
    ------
    CalibrationError
        If the fold has fewer than 20 accounts or a single class.
    """
    r = np.asarray(raw, dtype=np.float64)
    ya = np.asarray(y, dtype=np.int64)
    if r.size < 20 or np.unique(ya).size < 2:
        raise CalibrationError("a validation fold needs at least 20 accounts and both outcomes")
    rng = np.random.default_rng(seed)
    half = rng.permutation(r.size) < r.size // 2
    scores: dict[str, float] = {}
    for name, fit in _FITTERS.items():
        errs = []
        for fit_mask in (half, ~half):
            cal = fit(r[fit_mask], ya[fit_mask])
            pred = cal(r[~fit_mask])
            errs.append(float(np.mean((pred - ya[~fit_mask]) ** 2)))
        scores[name] = float(np.mean(errs))
    best = min(scores, key=lambda k: scores[k])
    chosen = _FITTERS[best](r, ya)
    return Calibrator(chosen.method, chosen.params, scores)
