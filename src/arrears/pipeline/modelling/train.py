"""Train, evaluate, compare and register the propensity-to-pay models on the UCI data.

:func:`evaluate_uci` fits the three models (:mod:`.models`) on both designs of :mod:`.data`
(held-out and out-of-time), calibrates each on out-of-fold scores of its training accounts
(:mod:`.calibration`), and
measures AUC, KS, Gini, Brier, ECE, the calibration curve and lift by decile on each test set;
it adds the fairness report (:mod:`.fairness`) of each model on the held-out test accounts.
:func:`register` writes the held-out LightGBM (with its calibrator, and the scorecard and
logistic artefacts alongside) to a model store. :func:`write_plots` draws the figures of
``docs/models.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from arrears import __version__
from arrears.adapters.model_store import save_model
from arrears.pipeline.features import MODEL_FEATURES
from arrears.pipeline.modelling import metrics
from arrears.pipeline.modelling.calibration import Calibrator, choose_calibrator
from arrears.pipeline.modelling.data import (
    DEFAULT_SEED,
    UCI_OOT_AS_OF,
    UciModellingData,
    heldout_split,
    table_sha256,
)
from arrears.pipeline.modelling.fairness import FairnessReport, fairness_report
from arrears.pipeline.modelling.models import (
    MONOTONE,
    GbmModel,
    GbmParams,
    LogitModel,
    ScorecardModel,
)

FloatArray = npt.NDArray[np.float64]
MODEL_NAMES: tuple[str, ...] = ("lightgbm", "scorecard", "logit")
SPLITS: tuple[str, ...] = ("held_out", "out_of_time")
REGISTERED_VERSION = "ptp-gbm-v2"
CALIBRATION_FOLDS = 5
LABEL_TEXT = "pays = 1 - default.payment.next.month (no default in October 2005)"


@dataclass
class Fitted:
    """A model and its calibrator: ``predict(x)`` = P(pay)."""

    name: str
    model: GbmModel | ScorecardModel | LogitModel
    calibrator: Calibrator

    def predict(self, x: FloatArray) -> FloatArray:
        """Calibrated probability of paying, shape (n,)."""
        return self.calibrator(self.model.raw(x))


def _fit_one(
    name: str, x: FloatArray, y: Any, features: tuple[str, ...], seed: int, gbm: GbmParams
) -> GbmModel | ScorecardModel | LogitModel:
    if name == "lightgbm":
        return GbmModel.fit(x, y, features, seed, gbm)
    if name == "scorecard":
        return ScorecardModel.fit(x, y, features, seed)
    if name == "logit":
        return LogitModel.fit(x, y, features, seed)
    raise ValueError(f"unknown model {name!r}; known: {MODEL_NAMES}")


def fit_models(
    x_tr: FloatArray,
    y_tr: Any,
    *,
    seed: int = DEFAULT_SEED,
    gbm: GbmParams = GbmParams(),
    names: tuple[str, ...] = MODEL_NAMES,
    features: tuple[str, ...] = MODEL_FEATURES,
    folds: int = CALIBRATION_FOLDS,
) -> dict[str, Fitted]:
    """Fit the named models on the training accounts and calibrate them on validation folds.

    Each model is fitted ``folds`` times on ``(folds - 1) / folds`` of the accounts (stratified,
    seeded) to score the remaining fold: those out-of-fold raw scores are the validation data
    on which Platt or isotonic is chosen and fitted (:func:`choose_calibrator`). The final
    model is then fitted on all training accounts and uses that calibrator.

    Parameters
    ----------
    x_tr : ndarray, shape (n, k)
    y_tr : ndarray of {0, 1}, shape (n,)
        1 = paid.
    folds : int, default 5
        Validation folds (>= 2).

    Returns
    -------
    dict of str to Fitted
    """
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y_tr, dtype=np.int64)
    out: dict[str, Fitted] = {}
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for name in names:
        oof = np.empty(y.size, dtype=np.float64)
        for fit_idx, val_idx in cv.split(x_tr, y):
            fold_model = _fit_one(name, x_tr[fit_idx], y[fit_idx], features, seed, gbm)
            oof[val_idx] = fold_model.raw(x_tr[val_idx])
        model = _fit_one(name, x_tr, y, features, seed, gbm)
        out[name] = Fitted(name, model, choose_calibrator(oof, y, seed))
    return out


@dataclass
class Evaluation:
    """Everything :func:`evaluate_uci` measured.

    Attributes
    ----------
    metrics : dict
        ``{model: {split: {metric: value}}}`` (AUC, KS, Gini, Brier, ECE, base rate, n) plus
        ``calibration`` (the method chosen).
    curves, lift : dict
        ``{model: {split: [...]}}``: calibration curve and lift by decile of each test set.
    fairness : dict of str to FairnessReport
        Held-out test set, per model.
    heldout : dict of str to Fitted
        The held-out models (what :func:`register` stores).
    predictions : dict
        ``{model: {split: (y, p)}}`` test outcomes and probabilities (for the plots).
    """

    metrics: dict[str, dict[str, dict[str, Any]]]
    curves: dict[str, dict[str, list[dict[str, float]]]]
    lift: dict[str, dict[str, list[dict[str, float]]]]
    fairness: dict[str, FairnessReport]
    heldout: dict[str, Fitted]
    predictions: dict[str, dict[str, tuple[Any, Any]]] = field(repr=False)
    training_sha256: str = ""
    file_sha256: str = ""
    seed: int = DEFAULT_SEED

    def metrics_json(self) -> dict[str, Any]:
        """``{model: {split: {metric: value}}}`` for ``arrears model evaluate --json``."""
        return self.metrics


def evaluate_uci(
    data: UciModellingData,
    *,
    seed: int = DEFAULT_SEED,
    gbm: GbmParams = GbmParams(),
    names: tuple[str, ...] = MODEL_NAMES,
    splits: tuple[str, ...] = SPLITS,
    with_fairness: bool = True,
    folds: int = CALIBRATION_FOLDS,
) -> Evaluation:
    """Fit and measure the models on the held-out and out-of-time designs (see :mod:`.data`)."""
    sp = heldout_split(data.y_sep, seed)
    designs: dict[str, tuple[FloatArray, Any, FloatArray, Any]] = {
        "held_out": (
            data.x_sep[sp.train],
            data.y_sep[sp.train],
            data.x_sep[sp.test],
            data.y_sep[sp.test],
        ),
        "out_of_time": (
            data.x_aug[sp.train],
            data.y_aug[sp.train],
            data.x_sep[sp.test],
            data.y_sep[sp.test],
        ),
    }
    res: dict[str, dict[str, dict[str, Any]]] = {n: {} for n in names}
    curves: dict[str, dict[str, list[dict[str, float]]]] = {n: {} for n in names}
    lift: dict[str, dict[str, list[dict[str, float]]]] = {n: {} for n in names}
    preds: dict[str, dict[str, tuple[Any, Any]]] = {n: {} for n in names}
    heldout: dict[str, Fitted] = {}
    for split in splits:
        x_tr, y_tr, x_te, y_te = designs[split]
        fitted = fit_models(x_tr, y_tr, seed=seed, gbm=gbm, names=names, folds=folds)
        if split == "held_out":
            heldout = fitted
        for name, f in fitted.items():
            p = f.predict(x_te)
            res[name][split] = {
                **metrics.summary(y_te, p),
                "calibration": f.calibrator.method,
                "n_train": int(y_tr.size),
            }
            curves[name][split] = metrics.calibration_curve(y_te, p)
            lift[name][split] = metrics.lift_by_decile(y_te, p)
            preds[name][split] = (y_te, p)
    fair: dict[str, FairnessReport] = {}
    if with_fairness and "held_out" in splits:
        sens = data.sensitive[sp.test.tolist()]
        for name in names:
            y_te, p = preds[name]["held_out"]
            fair[name] = fairness_report(y_te, p, sens)
    return Evaluation(
        metrics=res,
        curves=curves,
        lift=lift,
        fairness=fair,
        heldout=heldout,
        predictions=preds,
        training_sha256=table_sha256(data.x_sep[sp.train], data.y_sep[sp.train], MODEL_FEATURES),
        file_sha256=data.file_sha256,
        seed=seed,
    )


def register(
    evaluation: Evaluation,
    root: Path,
    *,
    version: str = REGISTERED_VERSION,
    trained_on: date,
    source: str = "uci_taiwan_credit_default.csv",
    overwrite: bool = False,
) -> Path:
    """Store the held-out LightGBM (+ calibrator, scorecard and logit artefacts) in ``root``.

    Raises
    ------
    KeyError
        If the evaluation did not fit the three models on the held-out design.
    arrears.adapters.model_store.ModelStoreError
        As :func:`arrears.adapters.model_store.save_model`.
    """
    gbm = evaluation.heldout["lightgbm"]
    sc = evaluation.heldout["scorecard"]
    lg = evaluation.heldout["logit"]
    assert isinstance(gbm.model, GbmModel)
    assert isinstance(sc.model, ScorecardModel)
    assert isinstance(lg.model, LogitModel)
    files = {
        "lightgbm.txt": gbm.model.to_text().encode("utf-8"),
        "calibration.json": json.dumps(gbm.calibrator.to_dict(), indent=1).encode("utf-8"),
        "scorecard.json": sc.model.to_json().encode("utf-8"),
        "scorecard_calibration.json": json.dumps(sc.calibrator.to_dict(), indent=1).encode(),
        "logit.json": lg.model.to_json().encode("utf-8"),
        "logit_calibration.json": json.dumps(lg.calibrator.to_dict(), indent=1).encode(),
    }
    manifest = {
        "model_type": "lightgbm",
        "scoring_file": "lightgbm.txt",
        "calibration_file": "calibration.json",
        "features": list(MODEL_FEATURES),
        "monotone_constraints": {f: MONOTONE.get(f, 0) for f in MODEL_FEATURES},
        "label": LABEL_TEXT,
        "training_data_sha256": evaluation.training_sha256,
        "training_data_source": f"{source} sha256={evaluation.file_sha256}",
        "split": f"stratified held-out, seed {evaluation.seed}: 70% train (calibration chosen "
        f"on {CALIBRATION_FOLDS}-fold out-of-fold scores), 30% test",
        "metrics": {k: v for k, v in evaluation.metrics.get("lightgbm", {}).items()},
        "calibration": gbm.calibrator.method,
        "trained_on": trained_on.isoformat(),
        "data_as_of": "2005-09-30",
        "oot_train_as_of": UCI_OOT_AS_OF.isoformat(),
        "code_version": f"arrears {__version__}",
        "sensitive_attributes_used": False,
    }
    return save_model(root, version, files, manifest, overwrite=overwrite)


def write_plots(evaluation: Evaluation, out_dir: Path) -> list[Path]:
    """Write calibration-curve, ROC and lift PNGs of every model and split to ``out_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    names = list(evaluation.metrics)
    splits = [s for s in SPLITS if all(s in evaluation.metrics[n] for n in names)]
    for split in splits:
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
        for name in names:
            y, p = evaluation.predictions[name][split]
            fpr, tpr, _ = roc_curve(y, p)
            auc = evaluation.metrics[name][split]["auc"]
            axes[0].plot(fpr, tpr, label=f"{name} (AUC {auc:.3f})")
            cc = evaluation.curves[name][split]
            axes[1].plot(
                [c["mean_predicted"] for c in cc], [c["observed"] for c in cc], "o-", label=name
            )
            lf = evaluation.lift[name][split]
            axes[2].plot([c["decile"] for c in lf], [c["lift"] for c in lf], "o-", label=name)
        axes[0].plot([0, 1], [0, 1], "k:", lw=1)
        axes[0].set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
        axes[1].plot([0, 1], [0, 1], "k:", lw=1)
        axes[1].set(
            xlabel="mean predicted P(pay)",
            ylabel="observed pay rate",
            title="calibration (deciles)",
        )
        axes[2].axhline(1.0, color="k", ls=":", lw=1)
        axes[2].set(
            xlabel="score decile (1 = lowest P(pay))",
            ylabel="lift of non-payment",
            title="lift by decile",
        )
        for ax in axes:
            ax.legend(fontsize=8)
        fig.suptitle(f"UCI credit-card data, {split.replace('_', '-')} test set")
        fig.tight_layout()
        path = out_dir / f"models_{split}.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        paths.append(path)
    if evaluation.fairness:
        rep = evaluation.fairness.get("lightgbm") or next(iter(evaluation.fairness.values()))
        t = rep.table
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
        labels = [f"{a}: {g}" for a, g in zip(t["attribute"], t["group"], strict=True)]
        for ax, col in zip(axes, ("auc", "calibration_gap", "approval_rate"), strict=True):
            ax.barh(labels, t[col].to_list(), color="#4a7ab5")
            ax.set_title(col.replace("_", " "))
            ax.invert_yaxis()
        fig.suptitle("LightGBM, held-out test set, by group (fairness report)")
        fig.tight_layout()
        path = out_dir / "models_fairness.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        paths.append(path)
    return paths
