"""Baseline propensity-to-pay (PTP) model: a standardised logistic regression on ledger features.

This was the first, deliberately simple model of the daily run; the daily run now uses the
registered calibrated LightGBM of :mod:`arrears.pipeline.modelling` (``docs/models.md``). The
baseline stays for reference and comparison. It is trained on the UCI Taiwan credit-card
portfolio (Yeh and Lien 2009, UCI dataset #350, CC BY 4.0) through
:func:`arrears.pipeline.features.ledger_features`, so it sees only what any lender's ledger
holds (no PAY_2..PAY_6 history, no sensitive attributes).

* Label: propensity to pay = ``1 - default_next_month`` (1 = did not default in October 2005).
* Split: stratified 70/30, seeded (``seed``, default 2005); the scaler and the regression are
  fitted on the 70 % only; every metric is measured on the held-out 30 %.
* Fit: scikit-learn ``LogisticRegression`` (L2, C = 1, lbfgs, tight tolerance so a re-run
  reproduces the coefficients) on features standardised with the training means and standard
  deviations.
* Artefact: plain JSON (no pickle), shipped as ``arrears/models/ptp_logit_v1.json`` and
  rebuilt with ``python -m arrears.pipeline.ptp_model --data <uci csv> --out <json>``.

Scores and model parameters are floats (probabilities), never money.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from arrears.adapters.portfolio.schema import PortfolioFrames
from arrears.pipeline.features import FEATURE_NAMES, ledger_features

MODEL_VERSION = "ptp-logit-v1"
ARTEFACT_FORMAT = "arrears.ptp_model/1"
DEFAULT_SEED = 2005
TEST_SHARE = 0.30
LABEL = "pays"  # 1 - default_next_month


class PtpModelError(ValueError):
    """Bad model artefact, bad features for scoring, or inconsistent training inputs."""


@dataclass(frozen=True)
class PtpMetrics:
    """Held-out performance of a PTP model.

    Attributes
    ----------
    auc : float
        ROC AUC on the test split (0.5 = chance, 1 = perfect).
    ks : float
        Kolmogorov-Smirnov statistic: max over thresholds of TPR - FPR, in [0, 1].
    brier : float
        Mean squared error of the predicted probability, in [0, 1] (lower is better).
    base_rate : float
        Share of test accounts that paid (label 1).
    n_train, n_test : int
        Accounts in the training and test splits.
    """

    auc: float
    ks: float
    brier: float
    base_rate: float
    n_train: int
    n_test: int


@dataclass(frozen=True)
class PtpModel:
    """A fitted PTP logistic regression on standardised features.

    ``score = 1 / (1 + exp(-(intercept + sum_i coefficients[i] * (x_i - means[i]) / scales[i])))``

    Attributes
    ----------
    version : str
        Model version, ``"ptp-logit-v1"``.
    feature_names : tuple of str
        Input columns, in order (see :mod:`arrears.pipeline.features` for units).
    means, scales : tuple of float
        Standardisation parameters from the training split; scales > 0.
    coefficients : tuple of float
        Coefficients on the standardised features (log-odds per standard deviation).
    intercept : float
        Log-odds at the training means.
    training_data_sha256 : str
        SHA-256 of the modelling table the model was fitted from (feature names, the float64
        feature matrix and the int64 labels of every account, before the split).
    metrics : PtpMetrics
        Held-out metrics.
    trained_on : date
        Calendar date (UTC) of the training run.
    data_as_of : date
        As-of date of the training portfolio.
    seed : int
        Seed of the train/test split.
    source : str
        Free-text provenance (file name and its SHA-256 when trained from the CLI).

    Raises
    ------
    PtpModelError
        If the parameter tuples differ in length or a scale is not a positive finite number.
    """

    version: str
    feature_names: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    coefficients: tuple[float, ...]
    intercept: float
    training_data_sha256: str
    metrics: PtpMetrics
    trained_on: date
    data_as_of: date
    seed: int = DEFAULT_SEED
    source: str = field(default="")

    def __post_init__(self) -> None:
        n = len(self.feature_names)
        if not (len(self.means) == len(self.scales) == len(self.coefficients) == n) or n == 0:
            raise PtpModelError(
                "feature_names, means, scales and coefficients must have the same non-zero "
                f"length; got {n}, {len(self.means)}, {len(self.scales)}, {len(self.coefficients)}"
            )
        for name, s in zip(self.feature_names, self.scales, strict=True):
            if not (math.isfinite(s) and s > 0):
                raise PtpModelError(f"scale of feature {name!r} must be positive, got {s}")
        values = (*self.means, *self.coefficients, self.intercept)
        if not all(math.isfinite(v) for v in values):
            raise PtpModelError("model parameters must be finite numbers")

    def linear_predictor(self) -> pl.Expr:
        """Polars expression of the log-odds of paying, over the feature columns."""
        z: pl.Expr = pl.lit(self.intercept, dtype=pl.Float64)
        for name, m, s, b in zip(
            self.feature_names, self.means, self.scales, self.coefficients, strict=True
        ):
            z = z + b * ((pl.col(name).cast(pl.Float64) - m) / s)
        return z

    def score(self, features: pl.DataFrame) -> pl.Series:
        """Probability of paying for each row of ``features``.

        Parameters
        ----------
        features : pl.DataFrame
            Shape (n, >= len(feature_names)); must hold every column of ``feature_names``
            (as produced by :func:`~arrears.pipeline.features.ledger_features`), without nulls.

        Returns
        -------
        pl.Series
            Float64 series named ``"score"``, length n, values in [0, 1], in row order.

        Raises
        ------
        PtpModelError
            If a feature column is missing or holds a null or a non-finite value.
        """
        missing = [c for c in self.feature_names if c not in features.columns]
        if missing:
            raise PtpModelError(f"features lack columns {missing}")
        bad = features.select(
            [
                (pl.col(c).is_null() | ~pl.col(c).cast(pl.Float64).is_finite()).any().alias(c)
                for c in self.feature_names
            ]
        ).row(0, named=True)
        bad_cols = [c for c, v in bad.items() if v]
        if bad_cols:
            raise PtpModelError(f"features hold null or non-finite values in {bad_cols}")
        z = self.linear_predictor()
        # Numerically stable logistic: exp of a non-positive number only.
        prob = (
            pl.when(z >= 0)
            .then(1.0 / (1.0 + (-z).exp()))
            .otherwise(z.exp() / (1.0 + z.exp()))
            .alias("score")
        )
        return features.select(prob).get_column("score")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (floats as JSON numbers, dates ISO)."""
        return {
            "format": ARTEFACT_FORMAT,
            "version": self.version,
            "feature_names": list(self.feature_names),
            "means": list(self.means),
            "scales": list(self.scales),
            "coefficients": list(self.coefficients),
            "intercept": self.intercept,
            "training_data_sha256": self.training_data_sha256,
            "metrics": asdict(self.metrics),
            "trained_on": self.trained_on.isoformat(),
            "data_as_of": self.data_as_of.isoformat(),
            "seed": self.seed,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str = "<dict>") -> PtpModel:
        """Build a model from :meth:`to_dict` output.

        Raises
        ------
        PtpModelError
            If the format tag is wrong, a field is missing or has the wrong type (the message
            names ``origin`` and the field).
        """
        if data.get("format") != ARTEFACT_FORMAT:
            raise PtpModelError(
                f"{origin}: field format: expected {ARTEFACT_FORMAT!r}, got {data.get('format')!r}"
            )
        try:
            m = data["metrics"]
            metrics = PtpMetrics(
                auc=float(m["auc"]),
                ks=float(m["ks"]),
                brier=float(m["brier"]),
                base_rate=float(m["base_rate"]),
                n_train=int(m["n_train"]),
                n_test=int(m["n_test"]),
            )
            return cls(
                version=str(data["version"]),
                feature_names=tuple(str(x) for x in data["feature_names"]),
                means=tuple(float(x) for x in data["means"]),
                scales=tuple(float(x) for x in data["scales"]),
                coefficients=tuple(float(x) for x in data["coefficients"]),
                intercept=float(data["intercept"]),
                training_data_sha256=str(data["training_data_sha256"]),
                metrics=metrics,
                trained_on=date.fromisoformat(data["trained_on"]),
                data_as_of=date.fromisoformat(data["data_as_of"]),
                seed=int(data["seed"]),
                source=str(data.get("source", "")),
            )
        except KeyError as exc:
            raise PtpModelError(f"{origin}: field {exc.args[0]!r} is missing") from None
        except (TypeError, ValueError) as exc:
            if isinstance(exc, PtpModelError):
                raise PtpModelError(f"{origin}: {exc}") from None
            raise PtpModelError(f"{origin}: bad field value: {exc}") from None

    def save(self, path: Path) -> None:
        """Write the model as JSON (UTF-8, sorted keys, floats written exactly by ``repr``)."""
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True, allow_nan=False)
        Path(path).write_text(text + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> PtpModel:
        """Read a model written by :meth:`save`.

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        PtpModelError
            If the file is not valid JSON or not a PTP model artefact.
        """
        text = Path(path).read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PtpModelError(
                f"{path}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})"
            ) from None
        if not isinstance(data, dict):
            raise PtpModelError(f"{path}: a model artefact must be a JSON object")
        return cls.from_dict(data, origin=str(path))


def default_model_resource() -> Any:
    """Traversable of the shipped artefact ``arrears/models/ptp_logit_v1.json``."""
    return files("arrears") / "models" / "ptp_logit_v1.json"


def load_default_model() -> PtpModel:
    """Load the shipped baseline model (``arrears/models/ptp_logit_v1.json``).

    Raises
    ------
    PtpModelError
        If the shipped artefact is damaged.
    """
    resource = default_model_resource()
    text = resource.read_text(encoding="utf-8")
    return PtpModel.from_dict(json.loads(text), origin=f"arrears/models/{resource.name}")


def reported_assessment(frames: PortfolioFrames) -> pl.DataFrame:
    """Assessment frame for a portfolio assessed from lender-reported DPD (e.g. UCI cards).

    Returns
    -------
    pl.DataFrame
        ``account_id``, ``dpd`` (Int64 days, null reported DPD -> 0), ``arrears_minor``
        (Int64 minor units, null -> 0), one row per account.

    Raises
    ------
    PtpModelError
        If the portfolio has installments: those accounts need the schedule-based assessor.
    """
    if frames.installments.height:
        raise PtpModelError(
            "portfolio has installments: pass an `assessed` frame from the batch assessor"
        )
    return frames.accounts.select(
        "account_id",
        pl.col("reported_dpd").fill_null(0).alias("dpd"),
        pl.col("reported_past_due_minor").fill_null(0).alias("arrears_minor"),
    )


def modelling_table(
    frames: PortfolioFrames,
    labels: pl.DataFrame,
    as_of: date,
    assessed: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Features of every account joined to its label ``pays = 1 - default_next_month``.

    Raises
    ------
    PtpModelError
        If ``labels`` lacks ``account_id``/``default_next_month``, repeats an account, misses
        an account of the portfolio, or holds a label outside {0, 1}.
    """
    for col in ("account_id", "default_next_month"):
        if col not in labels.columns:
            raise PtpModelError(f"labels frame lacks column {col!r}")
    lab = labels.select(
        pl.col("account_id").cast(pl.String), pl.col("default_next_month").cast(pl.Int64)
    )
    if lab.get_column("account_id").is_duplicated().any():
        raise PtpModelError("labels frame repeats accounts")
    bad = lab.filter(~pl.col("default_next_month").is_in([0, 1]))
    if bad.height:
        raise PtpModelError(f"label of account {bad.get_column('account_id')[0]!r} is not 0 or 1")
    assessed = reported_assessment(frames) if assessed is None else assessed
    feats = ledger_features(frames, as_of, assessed)
    table = feats.join(lab, on="account_id", how="left", maintain_order="left")
    unlabelled = table.filter(pl.col("default_next_month").is_null())
    if unlabelled.height:
        raise PtpModelError(
            f"{unlabelled.height} account(s) have no label, e.g. "
            f"{unlabelled.get_column('account_id')[0]!r}"
        )
    return table.with_columns((1 - pl.col("default_next_month")).alias(LABEL)).drop(
        "default_next_month"
    )


def _table_sha256(x: np.ndarray, y: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update("\x1f".join(FEATURE_NAMES).encode("utf-8"))
    h.update(np.ascontiguousarray(x, dtype="<f8").tobytes())
    h.update(np.ascontiguousarray(y, dtype="<i8").tobytes())
    return h.hexdigest()


def _ks(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def train_ptp_model(
    frames: PortfolioFrames,
    labels: pl.DataFrame,
    as_of: date,
    seed: int = DEFAULT_SEED,
    *,
    assessed: pl.DataFrame | None = None,
    trained_on: date | None = None,
    source: str = "",
) -> tuple[PtpModel, PtpMetrics]:
    """Fit the baseline PTP logistic regression and measure it on a held-out split.

    Parameters
    ----------
    frames : PortfolioFrames
        Training portfolio (normalised frames).
    labels : pl.DataFrame
        ``account_id`` and ``default_next_month`` (0/1) for every account (see
        :func:`arrears.adapters.portfolio.uci.uci_labels`).
    as_of : date
        As-of date of the portfolio; features use ledger rows up to it.
    seed : int
        Seed of the stratified 70/30 split.
    assessed : pl.DataFrame, optional
        Arrears assessment (``account_id``, ``dpd``, ``arrears_minor``); by default taken from
        the reported DPD (:func:`reported_assessment`), which needs a portfolio without
        installments.
    trained_on : date, optional
        Date recorded in the artefact; default today's UTC date.
    source : str
        Provenance text stored in the artefact.

    Returns
    -------
    model : PtpModel
    metrics : PtpMetrics
        Held-out AUC, KS, Brier, base rate and split sizes (also ``model.metrics``).

    Raises
    ------
    PtpModelError
        If the labels do not match the portfolio, or a split would hold a single class.
    """
    # scikit-learn is imported here, not at module level: scoring with a shipped model must not
    # pay its import time.
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    table = modelling_table(frames, labels, as_of, assessed)
    x = table.select(FEATURE_NAMES).to_numpy().astype(np.float64)
    y = table.get_column(LABEL).to_numpy().astype(np.int64)
    if len(np.unique(y)) < 2:
        raise PtpModelError("labels hold a single class: nothing to learn")
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=TEST_SHARE, random_state=seed, stratify=y
    )
    scaler = StandardScaler().fit(x_tr)
    clf = LogisticRegression(C=1.0, solver="lbfgs", tol=1e-10, max_iter=10_000)
    clf.fit(scaler.transform(x_tr), y_tr)

    provisional = PtpModel(
        version=MODEL_VERSION,
        feature_names=FEATURE_NAMES,
        means=tuple(float(v) for v in scaler.mean_),
        scales=tuple(float(v) for v in scaler.scale_),
        coefficients=tuple(float(v) for v in clf.coef_[0]),
        intercept=float(clf.intercept_[0]),
        training_data_sha256=_table_sha256(x, y),
        metrics=PtpMetrics(0.0, 0.0, 0.0, 0.0, len(y_tr), len(y_te)),  # replaced below
        trained_on=trained_on or datetime.now(UTC).date(),
        data_as_of=as_of,
        seed=seed,
        source=source,
    )
    p_te = provisional.score(pl.DataFrame(x_te, schema=list(FEATURE_NAMES))).to_numpy()
    metrics = PtpMetrics(
        auc=float(roc_auc_score(y_te, p_te)),
        ks=_ks(y_te, p_te),
        brier=float(brier_score_loss(y_te, p_te)),
        base_rate=float(np.mean(y_te)),
        n_train=len(y_tr),
        n_test=len(y_te),
    )
    model = replace(provisional, metrics=metrics)
    return model, metrics


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main(argv: Sequence[str] | None = None) -> int:
    """Train on the UCI file and write the artefact: ``python -m arrears.pipeline.ptp_model``."""
    from arrears.adapters.portfolio.uci import UCI_AS_OF, UCIFormatError, load_uci, uci_labels

    parser = argparse.ArgumentParser(
        prog="python -m arrears.pipeline.ptp_model",
        description="Train the baseline PTP logistic regression on the UCI credit-card file.",
    )
    parser.add_argument("--data", type=Path, required=True, help="uci_taiwan_credit_default.csv")
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON model")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="split seed")
    args = parser.parse_args(argv)
    try:
        frames = load_uci(args.data)
        labels = uci_labels(args.data)
    except (UCIFormatError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    source = f"{args.data.name} sha256={_file_sha256(args.data)}"
    model, m = train_ptp_model(frames, labels, UCI_AS_OF, seed=args.seed, source=source)
    model.save(args.out)
    print(
        f"{model.version}: AUC {m.auc:.4f}  KS {m.ks:.4f}  Brier {m.brier:.4f}  "
        f"base rate {m.base_rate:.4f}  n_train {m.n_train}  n_test {m.n_test} -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
