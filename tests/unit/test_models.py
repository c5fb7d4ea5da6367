"""Propensity-to-pay modelling: features, calibration, reasons, fairness, PSI, model store,
affordability, delinquency history (unit level, no real data)."""

from __future__ import annotations

import json
import math
import shutil
from datetime import date

import numpy as np
import polars as pl
import pytest

from arrears.adapters.model_store import (
    ModelStoreError,
    current_version,
    list_models,
    load_model,
    save_model,
)
from arrears.adapters.portfolio.errors import PortfolioInvalid
from arrears.adapters.portfolio.reader import read_portfolio
from arrears.adapters.portfolio.schema import FLAG_COLUMNS, FRAME_SCHEMAS, PortfolioFrames
from arrears.adapters.portfolio.synthetic import generate_portfolio
from arrears.adapters.portfolio.writer import write_portfolio
from arrears.pipeline.affordability import affordability
from arrears.pipeline.features import MODEL_FEATURES, ledger_features
from arrears.pipeline.modelling.calibration import (
    CalibrationError,
    Calibrator,
    choose_calibrator,
    fit_isotonic,
    fit_platt,
)
from arrears.pipeline.modelling.fairness import fairness_report
from arrears.pipeline.modelling.metrics import lift_by_decile, summary
from arrears.pipeline.modelling.monitoring import monitor, psi, psi_level
from arrears.pipeline.modelling.reasons import NO_FURTHER_REASON, ReasonError, reason_codes
from arrears.pipeline.modelling.registered import (
    ModelRefused,
    default_store,
    load_registered_model,
)

S = FRAME_SCHEMAS
AS_OF = date(2024, 6, 30)


def tiny() -> PortfolioFrames:
    """C1: a card two cycles behind with a full payment 2 cycles back; C2: cured twice;
    L1: a loan without statements or history."""
    return PortfolioFrames(
        borrowers=pl.DataFrame(
            {
                "borrower_id": ["B1", "B2", "B3"],
                "jurisdiction": ["TW", "TW", "TW"],
                "timezone": ["Asia/Taipei"] * 3,
                "language": ["zh-TW"] * 3,
                "phone": [None] * 3,
                "email": [None] * 3,
                **{f: [False] * 3 for f in FLAG_COLUMNS},
                "opt_out_channels": [""] * 3,
                "consent_hours": [None] * 3,
            },
            schema=S["borrowers"],
        ),
        accounts=pl.DataFrame(
            {
                "account_id": ["C1", "C2", "L1"],
                "borrower_id": ["B1", "B2", "B3"],
                "product": ["card", "card", "loan"],
                "currency": ["TWD", "TWD", "TWD"],
                "opened_on": [date(2023, 1, 1)] * 3,
                "principal_minor": [None, None, 10_000],
                "credit_limit_minor": [100_000, 100_000, None],
                "balance_minor": [50_000, 0, 10_000],
                "term_days": [None, None, 30],
                "reported_dpd": [None, None, None],
                "reported_past_due_minor": [None, None, None],
            },
            schema=S["accounts"],
        ),
        installments=pl.DataFrame(
            {
                "account_id": ["L1"],
                "seq": [1],
                "due_date": [date(2024, 6, 15)],
                "principal_minor": [10_000],
                "interest_minor": [0],
                "fees_minor": [0],
            },
            schema=S["installments"],
        ),
        payments=pl.DataFrame(
            {
                "payment_id": ["P1", "P2", "P3"],
                "account_id": ["C1", "C1", "C1"],
                "paid_on": [date(2024, 4, 15), date(2024, 5, 20), date(2024, 6, 10)],
                "amount_minor": [40_000, 10_000, 5_000],
            },
            schema=S["payments"],
        ),
        statements=pl.DataFrame(
            {
                "account_id": ["C1"] * 4,
                "statement_date": [
                    date(2024, 3, 31),
                    date(2024, 4, 30),
                    date(2024, 5, 31),
                    date(2024, 6, 30),
                ],
                "balance_minor": [40_000, 30_000, 20_000, 50_000],
                "minimum_due_minor": [None] * 4,
            },
            schema=S["statements"],
        ),
        contact_history=pl.DataFrame(schema=S["contact_history"]),
        delinquency_history=pl.DataFrame(
            {
                "account_id": ["C1"] * 6 + ["C2"] * 4 + ["C1"],
                "cycle_date": [
                    date(2024, 1, 31),
                    date(2024, 2, 29),
                    date(2024, 3, 31),
                    date(2024, 4, 30),
                    date(2024, 5, 31),
                    date(2024, 6, 30),
                    date(2024, 3, 31),
                    date(2024, 4, 30),
                    date(2024, 5, 31),
                    date(2024, 6, 30),
                    date(2024, 7, 31),  # after as_of: must be ignored
                ],
                "dpd": [0, 0, 0, 0, 30, 60, 30, 0, 60, 0, 90],
            },
            schema=S["delinquency_history"],
        ),
    )


ASSESSED = pl.DataFrame(
    {"account_id": ["C1", "C2", "L1"], "dpd": [60, 0, 15], "arrears_minor": [20_000, 0, 10_000]}
)


# --- features --------------------------------------------------------------------------------


def test_features_of_a_hand_built_ledger():
    f = ledger_features(tiny(), AS_OF, ASSESSED)
    assert f.columns == ["account_id", *MODEL_FEATURES]
    c1, c2, l1 = f.rows(named=True)
    assert c1["dpd"] == 60 and c1["cycles_delinquent"] == 2
    assert c1["pay_to_bill_1m"] == pytest.approx(5_000 / 20_000)  # June paid / May bill
    assert c1["pay_to_bill_3m"] == pytest.approx(55_000 / 100_000)
    assert c1["payments_6m"] == 3
    assert c1["utilisation"] == pytest.approx(0.5)
    assert c1["log_balance"] == pytest.approx(math.log(501.0))
    assert c1["log_limit"] == pytest.approx(math.log(1001.0))
    assert c1["max_dpd_6m"] == 60  # the July cycle (90) is after as_of
    assert c1["dpd_slope_3"] == pytest.approx(30.0)  # 0, 30, 60
    assert c1["dpd_slope_6"] == pytest.approx(195 / 17.5)  # 0,0,0,0,30,60 against 0..5
    assert c1["cures_6m"] == 0 and c1["roll_forwards_6m"] == 2
    assert c1["months_since_full_payment"] == 2  # March bill paid in full in April
    # C2: 30 -> 0 -> 60 -> 0: two cures, one roll forward; no statements: cycles since DPD 0
    assert c2["cures_6m"] == 2 and c2["roll_forwards_6m"] == 1
    assert c2["months_since_full_payment"] == 0
    assert c2["dpd_slope_3"] == pytest.approx(0.0)  # 0, 60, 0
    # L1: no history and no statements -> the history features are unknown, not 0
    for name in ("max_dpd_6m", "dpd_slope_3", "dpd_slope_6", "cures_6m", "roll_forwards_6m"):
        assert l1[name] is None
    assert l1["months_since_full_payment"] is None
    assert l1["pay_to_bill_1m"] == 0.0  # 100.00 due in June, nothing paid
    assert l1["log_limit"] == pytest.approx(math.log(101.0))


def test_features_ignore_payments_after_as_of():
    frames = tiny()
    late = pl.DataFrame(
        {
            "payment_id": ["P9"],
            "account_id": ["C1"],
            "paid_on": [date(2024, 7, 1)],
            "amount_minor": [99_999],
        },
        schema=S["payments"],
    )
    more = PortfolioFrames(
        **{**dict(frames.items()), "payments": pl.concat([frames.payments, late])}
    )
    assert ledger_features(more, AS_OF, ASSESSED).equals(ledger_features(frames, AS_OF, ASSESSED))


# --- delinquency history in the portfolio format ------------------------------------------


def test_generated_history_round_trips_through_files_and_is_validated(tmp_path):
    frames = generate_portfolio(60, date(2026, 11, 29), seed=3)
    hist = frames.delinquency_history
    assert hist.height > 60 and hist["dpd"].min() >= 0
    assert hist["cycle_date"].max() < date(2026, 11, 29)
    write_portfolio(frames, tmp_path / "pf")
    back = read_portfolio(tmp_path / "pf")
    assert back.delinquency_history.equals(hist)
    path = tmp_path / "pf" / "delinquency_history.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = "NOPE,2026-01-31,30"
    lines[2] = lines[2].rsplit(",", 1)[0] + ",-5"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(PortfolioInvalid) as info:
        read_portfolio(tmp_path / "pf")
    errs = [(e.file, e.line, e.column) for e in info.value.errors]
    assert ("delinquency_history.csv", 2, "account_id") in errs
    assert ("delinquency_history.csv", 3, "dpd") in errs


def test_portfolio_frames_default_to_an_empty_history():
    frames = tiny()
    without = PortfolioFrames(**{k: v for k, v in frames.items() if k != "delinquency_history"})
    assert without.delinquency_history.height == 0
    assert without.conformed().delinquency_history.schema == pl.Schema(S["delinquency_history"])
    assert [n for n, _ in PortfolioFrames.empty().items()][-1] == "delinquency_history"


# --- calibration, metrics ----------------------------------------------------------------


def test_calibrators_round_trip_and_improve_a_miscalibrated_score():
    rng = np.random.default_rng(0)
    raw = rng.normal(size=4000)
    true_p = 1 / (1 + np.exp(-(2 * raw + 1)))
    y = (rng.random(4000) < true_p).astype(int)
    naive = 1 / (1 + np.exp(-raw))
    chosen = choose_calibrator(raw, y)
    assert chosen.method in ("platt", "isotonic") and set(chosen.validation) == {
        "platt",
        "isotonic",
    }
    assert np.mean((chosen(raw) - y) ** 2) < np.mean((naive - y) ** 2)
    platt = fit_platt(raw, y)
    assert platt.params["a"] == pytest.approx(2.0, abs=0.2)
    for cal in (platt, fit_isotonic(raw, y)):
        back = Calibrator.from_dict(json.loads(json.dumps(cal.to_dict())))
        assert np.allclose(back(raw), cal(raw))
        assert np.all(np.diff(cal(np.sort(raw))) >= -1e-12)  # monotone
    with pytest.raises(CalibrationError):
        Calibrator.from_dict({"method": "isotonic", "params": {"x": [1, 0], "y": [0, 1]}})
    with pytest.raises(CalibrationError):
        choose_calibrator(raw[:10], y[:10])


def test_metric_summary_and_lift_on_a_perfect_and_a_useless_score():
    y = np.array([0] * 50 + [1] * 50)
    perfect = summary(y, np.linspace(0, 1, 100))
    assert perfect["auc"] == 1.0 and perfect["ks"] == 1.0 and perfect["gini"] == 1.0
    lift = lift_by_decile(y, np.linspace(0, 1, 100))
    assert lift[0]["non_payment_rate"] == 1.0 and lift[0]["lift"] == 2.0
    assert lift[-1]["cumulative_capture"] == 1.0
    flat = summary(y, np.full(100, 0.5))
    assert flat["auc"] == 0.5 and flat["brier"] == 0.25


# --- reason codes -------------------------------------------------------------------------


def test_reason_codes_pick_the_most_negative_contributions_with_values():
    feats = ("dpd", "pay_to_bill_1m", "months_since_full_payment")
    values = np.array([[60.0, 0.25, 6.0], [0.0, 1.0, 0.0]])
    contrib = np.array([[-1.0, 0.5, -2.0], [0.1, 0.2, -0.3]])
    r = reason_codes(feats, values, contrib)
    first, second = r.rows(named=True)
    assert first["reason_1"] == "No bill was paid in full in the last 6 months."
    assert first["reason_2"] == "The account is 60 days past due."
    assert first["reason_3"] == NO_FURTHER_REASON  # pay_to_bill_1m raised the score
    assert first["reason_feature_1"] == "months_since_full_payment"
    assert first["reason_feature_3"] is None
    assert second["reason_1"] == "The last bill paid in full was 0 month(s) ago."
    assert second["reason_2"] == second["reason_3"] == NO_FURTHER_REASON
    with pytest.raises(ReasonError):
        reason_codes(("mystery",), np.zeros((1, 1)), np.zeros((1, 1)))
    with pytest.raises(ReasonError):
        reason_codes(feats, values, contrib[:, :2])


# --- fairness -----------------------------------------------------------------------------


def test_fairness_report_has_one_row_per_group_and_flags_a_built_in_gap():
    rng = np.random.default_rng(1)
    n = 4000
    sens = pl.DataFrame(
        {
            "SEX": rng.integers(1, 3, n),
            "MARRIAGE": rng.integers(0, 4, n),
            "EDUCATION": rng.integers(0, 7, n),
            "AGE": rng.integers(21, 75, n),
        }
    )
    y = rng.integers(0, 2, n)
    p = np.where(sens["SEX"].to_numpy() == 1, 0.8, 0.3)  # approval depends on SEX only
    rep = fairness_report(y, p, sens, threshold=0.5)
    groups = rep.table.group_by("attribute").len().sort("attribute")
    assert dict(groups.iter_rows()) == {"AGE": 5, "EDUCATION": 4, "MARRIAGE": 3, "SEX": 2}
    assert rep.gaps.height == 12
    flagged = {(r["attribute"], r["metric"]) for r in rep.flagged.iter_rows(named=True)}
    assert ("SEX", "approval_rate") in flagged
    assert ("AGE", "approval_rate") not in flagged
    sex = rep.table.filter(pl.col("attribute") == "SEX").sort("group")
    assert sex["approval_rate"].to_list() == [0.0, 1.0]  # female 0.3 < 0.5, male 0.8
    with pytest.raises(ValueError, match="lacks"):
        fairness_report(y, p, sens.drop("AGE"))


# --- monitoring ---------------------------------------------------------------------------


def test_psi_known_values():
    same = np.arange(1000.0)
    assert psi(same, same) == pytest.approx(0.0)
    old = np.array([0.0] * 500 + [1.0] * 500)
    new = np.array([0.0] * 800 + [1.0] * 200)
    expected = 0.3 * math.log(0.8 / 0.5) + (-0.3) * math.log(0.2 / 0.5)
    assert psi(old, new) == pytest.approx(expected)
    assert psi_level(0.05) == "stable" and psi_level(0.2) == "moderate"
    assert psi_level(0.4) == "major"
    shifted = psi(
        np.random.default_rng(0).normal(size=5000), np.random.default_rng(1).normal(1, 1, 5000)
    )
    assert shifted > 0.25
    with pytest.raises(ValueError):
        psi([], [1.0])


def test_monitor_reports_psi_and_calibration_drift():
    rng = np.random.default_rng(2)
    old = pl.DataFrame({"score": rng.random(2000), "dpd": rng.integers(0, 60, 2000)})
    new = pl.DataFrame({"score": rng.random(2000) ** 2, "dpd": rng.integers(0, 60, 2000)})
    y_old = (rng.random(2000) < old["score"].to_numpy()).astype(int)
    y_new = (rng.random(2000) < 0.7).astype(int)
    rep = monitor(old, new, ("dpd",), y_old=y_old, y_new=y_new)
    assert rep.psi["variable"].to_list() == ["score", "dpd"]
    assert rep.psi["psi"][0] > rep.psi["psi"][1]
    assert abs(rep.calibration["old"]["gap"]) < 0.05
    assert rep.calibration["gap_drift"] < -0.2  # new scores far below the 70% who paid
    with pytest.raises(ValueError, match="lacks"):
        monitor(old, new.drop("dpd"), ("dpd",))


# --- model store --------------------------------------------------------------------------


def test_model_store_saves_verifies_and_refuses_tampering(tmp_path):
    root = tmp_path / "store"
    save_model(root, "m1", {"a.txt": b"alpha", "b.json": b"{}"}, {"note": "x"})
    got = load_model(root)
    assert got.version == "m1" and got.files["a.txt"] == b"alpha"
    assert got.manifest["note"] == "x" and set(got.manifest["files"]) == {"a.txt", "b.json"}
    assert list_models(root) == ["m1"] and current_version(root) == "m1"
    with pytest.raises(ModelStoreError, match="already exists"):
        save_model(root, "m1", {"a.txt": b"x"}, {})
    with pytest.raises(ModelStoreError, match="not allowed"):
        save_model(root, "m2", {"../evil": b"x"}, {})
    (root / "m1" / "a.txt").write_bytes(b"alphA")
    with pytest.raises(ModelStoreError, match=r"a\.txt.*altered"):
        load_model(root, "m1")
    (root / "m1" / "a.txt").write_bytes(b"alpha")
    manifest = root / "m1" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["files"]["a.txt"] = "0" * 64
    manifest.write_text(json.dumps(data))
    with pytest.raises(ModelStoreError, match="manifest was altered"):
        load_model(root, "m1")
    with pytest.raises(ModelStoreError, match="unknown model version"):
        load_model(root, "nope")


def test_shipped_model_loads_and_a_tampered_copy_is_refused(tmp_path):
    model = load_registered_model()
    assert model.version == current_version(default_store())
    assert model.feature_names == MODEL_FEATURES
    assert "SEX" not in model.feature_names and "AGE" not in model.feature_names
    copy = tmp_path / "models"
    shutil.copytree(default_store(), copy)
    booster = copy / model.version / "lightgbm.txt"
    text = booster.read_text()
    booster.write_text(text.replace("learning_rate", "learning_rate ", 1))
    with pytest.raises(ModelStoreError, match=r"lightgbm\.txt"):
        load_registered_model(copy)


def test_registered_model_refuses_a_portfolio_without_its_features():
    model = load_registered_model()
    frames = tiny()
    feats = ledger_features(frames, AS_OF, ASSESSED)
    with pytest.raises(ModelRefused, match="delinquency_history") as info:
        model.score(feats)  # L1 has no history
    assert "'L1'" in str(info.value)
    ok = feats.filter(pl.col("account_id") != "L1")
    scores = model.score(ok)
    assert scores.len() == 2 and scores.is_between(0, 1).all()
    assert model.reasons(ok).height == 2
    with pytest.raises(ModelRefused, match="dpd_slope_6"):
        model.score(ok.drop("dpd_slope_6"))


# --- affordability ------------------------------------------------------------------------


def test_affordability_median_and_best_three_months_per_borrower():
    frames = tiny()
    # borrower B1 pays 100, 0, 300, 0, 0, 200 (minor units) over the six 30-day periods
    days = {0: 100, 2: 300, 5: 200}
    pays = pl.DataFrame(
        {
            "payment_id": [f"X{k}" for k in days],
            "account_id": ["C1"] * len(days),
            "paid_on": [date.fromordinal(AS_OF.toordinal() - 30 * k - 1) for k in days],
            "amount_minor": list(days.values()),
        },
        schema=S["payments"],
    )
    f = PortfolioFrames(**{**dict(frames.items()), "payments": pays})
    a = affordability(f, AS_OF)
    assert a["account_id"].to_list() == ["C1", "C2", "L1"]
    c1 = a.row(0, named=True)
    assert c1["affordability_low"] == 50  # median of 300, 200, 100, 0, 0, 0
    assert c1["affordability_high"] == 200  # mean of 300, 200, 100
    assert a.row(1, named=True)["affordability_high"] == 0  # no payments: 0 (unknown)
