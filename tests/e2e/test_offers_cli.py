"""End-to-end: strategy files, offers.csv, the decision log and `arrears report arms`
on a slice of the real UCI file."""

from __future__ import annotations

import csv
import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arrears.cli.main import app

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("ARREARS_DATA_DIR") or REPO.parent / "shared" / "data")
UCI = DATA_DIR / "uci_taiwan_credit_default.csv"
SLICE_ROWS = 2000

runner = CliRunner()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("data")
    with UCI.open(encoding="utf-8") as src:
        lines = [next(src) for _ in range(SLICE_ROWS + 1)]
    (data / UCI.name).write_text("".join(lines), encoding="utf-8")
    out = tmp_path_factory.mktemp("out")
    mp = pytest.MonkeyPatch()
    mp.setenv("ARREARS_DATA_DIR", str(data))
    try:
        r = runner.invoke(
            app, ["demo", "--out", str(out), "--strategy", str(REPO / "strategies/default.yaml")]
        )
    finally:
        mp.undo()
    assert r.exit_code == 0, r.output
    return out


def test_offers_for_every_plan_offer_account_within_affordability(demo):
    decisions = read_csv(demo / "decisions.csv")
    offers = read_csv(demo / "offers.csv")
    plan_accounts = {d["account_id"] for d in decisions if d["treatment"] == "plan_offer"}
    assert plan_accounts, "the slice has accounts offered a plan"
    assert plan_accounts <= {o["account_id"] for o in offers}
    treatments = {d["account_id"]: d["treatment"] for d in decisions}
    assert {treatments[o["account_id"]] for o in offers} <= {"plan_offer", "hardship_review"}
    assert list(offers[0])[:7] == [
        "account_id",
        "offer_type",
        "installments",
        "installment_amount",
        "apr",
        "total_cost",
        "affordability_check",
    ]
    owed = {d["account_id"]: Decimal(d["amount_due"]) for d in decisions}
    for o in offers:
        high = Decimal(o["affordability_high"])
        assert Decimal(o["installment_amount"]) <= high, o
        assert Decimal(o["max_installment_amount"]) <= high, o
        assert o["affordability_check"] == "pass"
        assert Decimal(o["amount_owed"]) == owed[o["account_id"]]  # no cap on UCI cards
        if o["offer_type"] == "installment_plan":
            n = int(o["installments"])
            assert 2 <= n <= 24
            # interest-free: the schedule repays exactly what is owed
            assert Decimal(o["total_cost"]) == Decimal(o["amount_owed"])
            assert o["apr"] == "0.00"
            last = Decimal(o["max_installment_amount"])
            assert Decimal(o["installment_amount"]) * (n - 1) + last == Decimal(o["total_cost"])
        if o["offer_type"] == "payment_holiday":
            assert o["installments"] == "0" and o["holiday_months"] == "3"
    summary = json.loads((demo / "summary.json").read_text())
    assert summary["offers"]["rows"] == len(offers)
    assert summary["strategy"] == "default-2026.2"


def test_decision_log_and_arms_report(demo, monkeypatch):
    monkeypatch.setenv("ARREARS_DATABASE_URL", f"sqlite:///{demo}/arrears-demo.db")
    r = runner.invoke(
        app,
        [
            "daily",
            "--as-of",
            "2005-10-31",
            "--out",
            str(demo / "day2"),
            "--strategy",
            str(REPO / "strategies" / "challenger-example.yaml"),
        ],
    )
    assert r.exit_code == 0, r.output
    day2 = read_csv(demo / "day2" / "decisions.csv")
    assert {d["strategy_arm"] for d in day2} == {"champion", "challenger"}
    r = runner.invoke(
        app, ["report", "arms", "--from", "2005-09-01", "--to", "2005-10-31", "--json"]
    )
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["plan_dates"] == 2
    day1 = read_csv(demo / "decisions.csv")
    by_arm: dict[str, int] = {}
    for d in day1:
        by_arm[d["strategy_arm"]] = by_arm.get(d["strategy_arm"], 0) + 1
    arms = {a["strategy_arm"]: a for a in rep["arms"]}
    assert {k: v["followed"] for k, v in arms.items()} == by_arm
    for a in arms.values():
        assert a["cure_low"] <= a["cure_rate"] <= a["cure_high"]
    r = runner.invoke(app, ["report", "arms", "--from", "2001-01-01", "--to", "2001-02-01"])
    assert r.exit_code == 2 and "no decisions recorded" in r.output


def test_bad_strategy_file_is_refused_without_traceback(demo, tmp_path, monkeypatch):
    monkeypatch.setenv("ARREARS_DATABASE_URL", f"sqlite:///{demo}/arrears-demo.db")
    text = (REPO / "strategies" / "default.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("channels: [sms]", "channels: [wechat]", 1), encoding="utf-8")
    r = runner.invoke(
        app,
        ["daily", "--as-of", "2005-09-30", "--out", str(tmp_path / "o"), "--strategy", str(bad)],
    )
    assert r.exit_code == 2
    assert "wechat" in r.output and "TW" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o" / "decisions.csv").exists()
