"""End-to-end: `arrears model explain | monitor | evaluate` and the daily run on generated data."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arrears.cli.main import app

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("ARREARS_DATA_DIR") or REPO.parent / "shared" / "data")
UCI = DATA_DIR / "uci_taiwan_credit_default.csv"

runner = CliRunner()
pytestmark = pytest.mark.slow


def test_explain_prints_score_and_three_reasons():
    r = runner.invoke(app, ["model", "explain", "1"])
    assert r.exit_code == 0, r.output
    assert "account 1 as of 2005-09-30: P(pay)" in r.output and "ptp-gbm-v2" in r.output
    # UCI account 1: PAY_0 = 2 -> 60 days past due, among its reasons
    lines = [ln.strip() for ln in r.output.splitlines() if ln.strip()[:3] in ("1. ", "2. ", "3. ")]
    assert len(lines) == 3
    assert any("60 days past due" in ln for ln in r.output.splitlines())
    r = runner.invoke(app, ["model", "explain", "no-such-account"])
    assert r.exit_code == 2 and "not in the snapshot" in r.output


def test_monitor_august_against_september(tmp_path):
    plot = tmp_path / "psi.png"
    r = runner.invoke(
        app,
        [
            "model",
            "monitor",
            str(UCI),
            str(UCI),
            "--old-as-of",
            "2005-08-31",
            "--plot",
            str(plot),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    names = [row["variable"] for row in report["psi"]]
    assert names[0] == "score" and "dpd_slope_3" in names and len(names) == 15
    assert all(row["psi"] >= 0 for row in report["psi"])
    # status 1 (30 days) appears almost only in September: the DPD distribution shifts
    dpd = next(row for row in report["psi"] if row["variable"] == "dpd")
    assert dpd["psi"] > 0.10
    assert set(report["calibration"]) >= {"old", "new", "gap_drift", "ece_drift"}
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"


def test_monitor_refuses_a_folder_without_its_date(tmp_path):
    r = runner.invoke(app, ["model", "monitor", str(tmp_path), str(UCI)])
    assert r.exit_code == 2 and "as-of" in r.output


def test_evaluate_json_gives_model_split_metric(tmp_path):
    r = runner.invoke(app, ["model", "evaluate", "--json", "--fast"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert set(data) == {"lightgbm", "scorecard", "logit"}
    for splits in data.values():
        assert set(splits) == {"held_out", "out_of_time"}
        for m in splits.values():
            assert {"auc", "ks", "gini", "brier"} <= set(m)
            assert 0.6 < m["auc"] < 0.85 and m["gini"] == pytest.approx(2 * m["auc"] - 1)


def test_daily_on_generated_data_has_reasons_and_affordability(tmp_path, monkeypatch):
    monkeypatch.setenv("ARREARS_DATABASE_URL", f"sqlite:///{tmp_path}/ledger.db")
    r = runner.invoke(
        app,
        ["generate", "--accounts", "600", "--out", str(tmp_path / "pf"), "--as-of", "2026-11-29"],
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "pf" / "delinquency_history.csv").is_file()
    assert runner.invoke(app, ["import", str(tmp_path / "pf")]).exit_code == 0
    r = runner.invoke(app, ["daily", "--as-of", "2026-11-29", "--out", str(tmp_path / "plan")])
    assert r.exit_code == 0, r.output
    with (tmp_path / "plan" / "decisions.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    for d in rows:
        assert d["model_version"] == "ptp-gbm-v2"
        assert d["reason_1"] and d["reason_2"] and d["reason_3"]
        assert float(d["affordability_low"]) <= float(d["affordability_high"])


def test_daily_without_delinquency_history_scores_with_the_first_model(tmp_path, monkeypatch):
    """A portfolio without the delinquency_history table cannot feed the registered model:
    the run still plans every account in arrears, scored by the first (logistic) model, and
    says so on every row and in the summary."""
    monkeypatch.setenv("ARREARS_DATABASE_URL", f"sqlite:///{tmp_path}/ledger.db")
    pf = tmp_path / "pf"
    r = runner.invoke(app, ["generate", "--accounts", "300", "--out", str(pf)])
    assert r.exit_code == 0, r.output
    (pf / "delinquency_history.csv").unlink()
    assert runner.invoke(app, ["import", str(pf)]).exit_code == 0
    r = runner.invoke(app, ["daily", "--as-of", "2026-11-30", "--out", str(tmp_path / "plan")])
    assert r.exit_code == 0, r.output
    with (tmp_path / "plan" / "decisions.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and {x["model_version"] for x in rows} == {"ptp-logit-v1"}
    assert all(x["score"] and x["reason_1"] == "" for x in rows)
    summary = json.loads((tmp_path / "plan" / "summary.json").read_text())
    assert summary["model"]["accounts_by_model"] == {"ptp-logit-v1": len(rows)}
