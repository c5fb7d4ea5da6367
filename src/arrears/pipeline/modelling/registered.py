"""The registered propensity-to-pay model the daily run uses, loaded from the model store.

:func:`load_registered_model` reads a version from a store (default: the store shipped in
``arrears/models``), which verifies every file's SHA-256 (a tampered model is refused), and
builds a :class:`RegisteredModel`: the LightGBM booster and its calibrator. It scores the
features of :func:`arrears.pipeline.features.ledger_features` and explains each score with three
reason codes. It refuses features it needs that the portfolio does not have.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from arrears.adapters.model_store import ModelStoreError, StoredModel, load_model
from arrears.pipeline.features import HISTORY_FEATURES
from arrears.pipeline.modelling.calibration import CalibrationError, Calibrator
from arrears.pipeline.modelling.models import GbmModel, ModelFormatError
from arrears.pipeline.modelling.reasons import reason_codes


class ModelRefused(ValueError):
    """The model cannot score this portfolio: a feature it needs is missing or null."""


def default_store() -> Path:
    """The model store shipped with arrears (``src/arrears/models``)."""
    return Path(str(files("arrears") / "models"))


def _needs(feature: str) -> str:
    if feature in HISTORY_FEATURES:
        return " (it needs the delinquency_history table)"
    if feature == "months_since_full_payment":
        return " (it needs statements or the delinquency_history table)"
    return ""


@dataclass
class RegisteredModel:
    """A verified, calibrated LightGBM model.

    Attributes
    ----------
    version : str
        Recorded with every score (``decisions.csv`` column ``model_version``).
    feature_names : tuple of str
    gbm : GbmModel
    calibrator : Calibrator
    manifest : dict
    """

    version: str
    feature_names: tuple[str, ...]
    gbm: GbmModel
    calibrator: Calibrator
    manifest: dict[str, Any]

    def _matrix(self, features: pl.DataFrame) -> np.ndarray:
        missing = [c for c in self.feature_names if c not in features.columns]
        if missing:
            raise ModelRefused(
                f"model {self.version} needs feature(s) {missing}, which the portfolio's "
                f"features lack{_needs(missing[0])}; refusing to score"
            )
        nulls = features.select(
            [pl.col(c).is_null().sum().alias(c) for c in self.feature_names]
        ).row(0, named=True)
        bad = [c for c, v in nulls.items() if v]
        if bad:
            c = bad[0]
            example = ""
            if "account_id" in features.columns:
                ids = features.filter(pl.col(c).is_null()).get_column("account_id")
                example = f", e.g. account {ids[0]!r}"
            raise ModelRefused(
                f"model {self.version} needs feature {c!r}{_needs(c)}, which the portfolio "
                f"lacks for {nulls[c]:,} of {features.height:,} account(s){example}; "
                "refusing to score"
            )
        x: np.ndarray = (
            features.select([pl.col(c).cast(pl.Float64) for c in self.feature_names])
            .to_numpy()
            .astype(np.float64)
        )
        return x

    def score(self, features: pl.DataFrame) -> pl.Series:
        """Calibrated P(pay) per row of ``features`` (Float64 series ``"score"``, in [0, 1]).

        Raises
        ------
        ModelRefused
            If a feature column is missing or holds a null.
        """
        x = self._matrix(features)
        if x.shape[0] == 0:
            return pl.Series("score", [], dtype=pl.Float64)
        return pl.Series("score", self.calibrator(self.gbm.raw(x)), dtype=pl.Float64)

    def reasons(self, features: pl.DataFrame) -> pl.DataFrame:
        """Three reason codes per row (see :func:`~.reasons.reason_codes`).

        Raises
        ------
        ModelRefused
            As :meth:`score`.
        """
        x = self._matrix(features)
        return reason_codes(self.feature_names, x, self.gbm.contributions(x))

    def contributions(self, features: pl.DataFrame) -> pl.DataFrame:
        """TreeSHAP contributions (log-odds of paying) per feature, one row per account."""
        x = self._matrix(features)
        return pl.DataFrame(self.gbm.contributions(x), schema=list(self.feature_names))


def registered_model_from(stored: StoredModel) -> RegisteredModel:
    """Build the scoring model from verified artefacts.

    Raises
    ------
    ModelStoreError
        If the manifest or an artefact is malformed.
    """
    m = stored.manifest
    try:
        features = tuple(str(f) for f in m["features"])
        gbm = GbmModel.from_text(stored.text(str(m["scoring_file"])), features)
        calibrator = Calibrator.from_dict(json.loads(stored.text(str(m["calibration_file"]))))
    except KeyError as exc:
        raise ModelStoreError(f"model {stored.version}: manifest lacks field {exc}") from None
    except (ModelFormatError, CalibrationError, json.JSONDecodeError) as exc:
        raise ModelStoreError(f"model {stored.version}: {exc}") from None
    return RegisteredModel(stored.version, features, gbm, calibrator, m)


def load_registered_model(root: Path | None = None, version: str | None = None) -> RegisteredModel:
    """Load and verify a registered model (default: the current one of the shipped store).

    Raises
    ------
    ModelStoreError
        Unknown version, tampered or damaged files.
    """
    return registered_model_from(load_model(root or default_store(), version))
