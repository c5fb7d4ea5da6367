"""Propensity-to-pay models: features -> LightGBM, scorecard and logistic models, calibration,
reason codes, fairness, monitoring and the registered model of the daily run.

Modules: :mod:`.data` (UCI designs and splits), :mod:`.models`, :mod:`.calibration`,
:mod:`.metrics`, :mod:`.reasons`, :mod:`.fairness`, :mod:`.monitoring`, :mod:`.train`
(evaluate and register), :mod:`.registered` (load and score). See ``docs/models.md``.
"""
