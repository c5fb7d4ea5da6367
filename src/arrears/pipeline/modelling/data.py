"""Modelling data from the UCI credit-card file: features, labels, splits, snapshots in time.

Two designs, both on the 30,000 real accounts of UCI dataset #350 (Yeh and Lien 2009,
doi 10.24432/C55S3H, CC BY 4.0):

Held-out (cross-sectional)
    Features as of 2005-09-30 (April-September behaviour), label ``pays = 1 -
    default.payment.next.month`` (no default in October 2005). A fixed, seeded, stratified split:
    30 % test, 70 % training. The calibration is chosen on validation folds *within* the 70 %
    (out-of-fold scores, see :func:`arrears.pipeline.modelling.train.fit_models`); the test
    accounts are touched once, to measure.
Out-of-time
    Train on the *training accounts* as of 2005-08-31 (statements, payments and
    delinquency history up to August only, see :func:`rewind_reported`) with label ``pays =
    PAY_0 <= 0`` (not delinquent at the September cycle); test on the *test accounts* as of
    2005-09-30 with the October label. The test is later in time *and* on other accounts, so
    neither the period nor the borrowers leak. Limits: one month apart; the August snapshot has
    five months of history where September has six; the training label (September
    delinquency) is a close cousin of the October default flag, not the same definition.

Leakage guard: the sensitive attributes (SEX, EDUCATION, MARRIAGE, AGE) never enter the feature
frames (the portfolio adapter keeps them out); nothing dated after the as-of date is used
(:func:`arrears.pipeline.features.ledger_features` filters by date, and :func:`rewind_reported`
rebuilds the balance and reported DPD of the earlier date).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from arrears.adapters.portfolio.schema import PortfolioFrames
from arrears.adapters.portfolio.uci import UCI_AS_OF, load_uci, uci_labels
from arrears.pipeline.features import MODEL_FEATURES, ledger_features

UCI_OOT_AS_OF = date(2005, 8, 31)
"""As-of date of the out-of-time training snapshot (label: September 2005 status)."""

DEFAULT_SEED = 2005
TEST_SHARE = 0.30
SENSITIVE = ("SEX", "EDUCATION", "MARRIAGE", "AGE")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class ModellingDataError(ValueError):
    """The modelling inputs are inconsistent (missing accounts, nulls, one class)."""


def reported_assessment(frames: PortfolioFrames) -> pl.DataFrame:
    """``account_id``, ``dpd`` and ``arrears_minor`` from the lender-reported columns."""
    return frames.accounts.select(
        "account_id",
        pl.col("reported_dpd").fill_null(0).alias("dpd"),
        pl.col("reported_past_due_minor").fill_null(0).alias("arrears_minor"),
    )


def rewind_reported(frames: PortfolioFrames, as_of: date) -> PortfolioFrames:
    """The portfolio as it stood at an earlier cycle end, for reported-DPD card books.

    Keeps statements, payments and history dated on or before ``as_of``; sets each account's
    balance to its latest statement balance on or before ``as_of``, ``reported_dpd`` to its
    latest history DPD on or before ``as_of`` (0 without one) and ``reported_past_due`` to
    ``max(balance, 0)`` when that DPD is positive, else 0 (the UCI adapter's rule).

    Parameters
    ----------
    frames : PortfolioFrames
        A portfolio with statements and delinquency history (e.g. :func:`load_uci`).
    as_of : date
        The earlier cycle end.

    Returns
    -------
    PortfolioFrames
    """
    stm = frames.statements.filter(pl.col("statement_date") <= as_of)
    hist = frames.delinquency_history.filter(pl.col("cycle_date") <= as_of)
    last_bal = (
        stm.sort("statement_date")
        .group_by("account_id")
        .agg(pl.col("balance_minor").last().alias("_bal"))
    )
    last_dpd = hist.sort("cycle_date").group_by("account_id").agg(pl.col("dpd").last().alias("_d"))
    acc = (
        frames.accounts.join(last_bal, on="account_id", how="left", maintain_order="left")
        .join(last_dpd, on="account_id", how="left", maintain_order="left")
        .with_columns(
            pl.coalesce("_bal", "balance_minor").alias("balance_minor"),
            pl.col("_d").fill_null(0).alias("reported_dpd"),
        )
        .with_columns(
            pl.when(pl.col("reported_dpd") > 0)
            .then(pl.col("balance_minor").clip(lower_bound=0))
            .otherwise(0)
            .alias("reported_past_due_minor")
        )
        .drop("_bal", "_d")
    )
    return replace(
        frames,
        accounts=acc,
        statements=stm,
        payments=frames.payments.filter(pl.col("paid_on") <= as_of),
        delinquency_history=hist,
    ).conformed()


def feature_matrix(features: pl.DataFrame, names: tuple[str, ...] = MODEL_FEATURES) -> FloatArray:
    """The float64 matrix (n, k) of ``names``; nulls become NaN."""
    out: FloatArray = (
        features.select([pl.col(n).cast(pl.Float64) for n in names]).to_numpy().astype(np.float64)
    )
    return out


def table_sha256(x: FloatArray, y: IntArray, names: tuple[str, ...]) -> str:
    """SHA-256 of a modelling table: feature names, float64 matrix and int64 labels."""
    h = hashlib.sha256()
    h.update("\x1f".join(names).encode("utf-8"))
    h.update(np.ascontiguousarray(x, dtype="<f8").tobytes())
    h.update(np.ascontiguousarray(y, dtype="<i8").tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class UciModellingData:
    """Features and labels of the UCI accounts at two cycle ends (rows aligned by account).

    Attributes
    ----------
    account_id : pl.Series
        String ids, the row order of every array below.
    x_sep, x_aug : ndarray, shape (30000, len(MODEL_FEATURES))
        Features as of 2005-09-30 and 2005-08-31.
    y_sep : ndarray of int64
        1 = no default in October 2005.
    y_aug : ndarray of int64
        1 = not delinquent at the September 2005 cycle (``PAY_0 <= 0``).
    sensitive : pl.DataFrame
        ``SEX``, ``EDUCATION``, ``MARRIAGE``, ``AGE`` (fairness reports only), same rows.
    file_sha256 : str
        SHA-256 of the source file.
    """

    account_id: pl.Series
    x_sep: FloatArray
    x_aug: FloatArray
    y_sep: IntArray
    y_aug: IntArray
    sensitive: pl.DataFrame
    file_sha256: str


def load_uci_modelling_data(path: Path) -> UciModellingData:
    """Build :class:`UciModellingData` from the UCI CSV.

    Raises
    ------
    FileNotFoundError, arrears.adapters.portfolio.uci.UCIFormatError
        As :func:`arrears.adapters.portfolio.uci.load_uci`.
    ModellingDataError
        If a feature is null for some account.
    """
    path = Path(path)
    frames = load_uci(path)
    labels = uci_labels(path)
    sep = ledger_features(frames, UCI_AS_OF, reported_assessment(frames))
    aug_frames = rewind_reported(frames, UCI_OOT_AS_OF)
    aug = ledger_features(aug_frames, UCI_OOT_AS_OF, reported_assessment(aug_frames))
    ids = sep.get_column("account_id")
    if not aug.get_column("account_id").equals(ids) or not labels.get_column("account_id").equals(
        ids
    ):
        raise ModellingDataError("feature and label rows are not aligned by account")
    x_sep, x_aug = feature_matrix(sep), feature_matrix(aug)
    for name, x in (("2005-09-30", x_sep), ("2005-08-31", x_aug)):
        if np.isnan(x).any():
            col = MODEL_FEATURES[int(np.argwhere(np.isnan(x))[0, 1])]
            raise ModellingDataError(f"feature {col} is null for some account as of {name}")
    return UciModellingData(
        account_id=ids,
        x_sep=x_sep,
        x_aug=x_aug,
        y_sep=(1 - labels.get_column("default_next_month")).to_numpy().astype(np.int64),
        y_aug=(labels.get_column("PAY_0") <= 0).cast(pl.Int64).to_numpy().astype(np.int64),
        sensitive=labels.select(SENSITIVE),
        file_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
    )


@dataclass(frozen=True)
class Split:
    """Row positions of the training and test accounts (disjoint, sorted)."""

    train: IntArray
    test: IntArray


def heldout_split(y: IntArray, seed: int = DEFAULT_SEED, test_share: float = TEST_SHARE) -> Split:
    """Fixed, seeded split of the rows stratified by ``y``: ``test_share`` test, the rest train.

    Raises
    ------
    ModellingDataError
        If ``y`` holds a single class.
    """
    from sklearn.model_selection import train_test_split

    if np.unique(y).size < 2:
        raise ModellingDataError("labels hold a single class")
    idx = np.arange(y.size)
    train, test = train_test_split(idx, test_size=test_share, random_state=seed, stratify=y)
    return Split(np.sort(train), np.sort(test))
