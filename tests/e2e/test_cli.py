"""End-to-end: the CLI on a slice of the real UCI file and on a generated portfolio."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from arrears.cli.main import app

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("ARREARS_DATA_DIR") or REPO.parent / "shared" / "data")
UCI = DATA_DIR / "uci_taiwan_credit_default.csv"
SLICE_ROWS = 3000

# local hours the shipped packs allow per jurisdiction prefix and channel kind
HOURS = {"TW": (9, 21), "CN": (8, 22), "US": (8, 21), "GB": (8, 21), "IE": (9, 21)}

# where a US borrower of unknown time zone may be: every zone of the state
US_STATE_ZONES = {
    "US-CA": ["America/Los_Angeles"],
    "US-WA": ["America/Los_Angeles"],
    "US-NY": ["America/New_York"],
    "US-NY-NYC": ["America/New_York"],
    "US-MA": ["America/New_York"],
    "US-TX": ["America/Chicago", "America/Denver"],
    "US-AZ": ["America/Phoenix", "America/Denver"],
}

runner = CliRunner()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def uci_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """Run `arrears demo` on the first SLICE_ROWS rows of the real file."""
    data = tmp_path_factory.mktemp("data")
    with UCI.open(encoding="utf-8") as src:
        lines = [next(src) for _ in range(SLICE_ROWS + 1)]
    (data / UCI.name).write_text("".join(lines), encoding="utf-8")
    # independent count of accounts in arrears: PAY_0 >= 1, by the csv module
    in_arrears = sum(1 for row in csv.DictReader(lines) if int(row["PAY_0"]) >= 1)
    out = tmp_path_factory.mktemp("out")
    mp = pytest.MonkeyPatch()
    mp.setenv("ARREARS_DATA_DIR", str(data))
    try:
        result = runner.invoke(app, ["demo", "--out", str(out)])
    finally:
        mp.undo()
    assert result.exit_code == 0, result.output
    return out, in_arrears


def test_demo_writes_one_decision_per_account_in_arrears(uci_run):
    out, expected = uci_run
    decisions = read_csv(out / "decisions.csv")
    assert len(decisions) == expected > 0
    assert len({d["account_id"] for d in decisions}) == expected
    assert list(decisions[0])[:12] == [
        "plan_date",
        "account_id",
        "borrower_id",
        "dpd",
        "bucket",
        "amount_due",
        "currency",
        "score",
        "segment",
        "strategy_arm",
        "treatment",
        "reason",
    ]
    header = list(decisions[0])
    # issue 4: reason codes and affordability appended at the end, nothing reordered
    assert header[-5:] == [
        "reason_1",
        "reason_2",
        "reason_3",
        "affordability_low",
        "affordability_high",
    ]
    for d in decisions:
        assert d["model_version"] == "ptp-gbm-v2"
        assert d["reason_1"] and d["reason_2"] and d["reason_3"]
        assert d["reason_1"] != "No other factor lowered the score."
        low, high = Decimal(d["affordability_low"]), Decimal(d["affordability_high"])
        assert 0 <= low <= high and d["affordability_low"].count(".") == 1
    for d in decisions:
        assert int(d["dpd"]) >= 30 and d["bucket"] != "current"
        assert d["currency"] == "TWD" and d["plan_date"] == "2005-09-30"
        assert 0.0 <= float(d["score"]) <= 1.0
        assert d["amount_due"].count(".") == 1  # decimal string with 2 places
        assert d["treatment"] and d["reason"] and d["strategy_arm"] in ("champion", "challenger")


def test_demo_dpd_follows_pay_0(uci_run):
    out, _ = uci_run
    with UCI.open(encoding="utf-8") as fh:
        pay0 = {
            r["ID"]: int(r["PAY_0"])
            for _, r in zip(range(SLICE_ROWS), csv.DictReader(fh), strict=False)
        }
    for d in read_csv(out / "decisions.csv"):
        assert int(d["dpd"]) == 30 * pay0[d["account_id"]]


def test_demo_does_not_collect_where_nothing_is_owed(uci_run):
    """PAY_0 >= 1 with a zero or credit statement balance (BILL_AMT1 <= 0) is in the real file:
    such accounts get the built-in no-action segment and no contact is planned for them."""
    out, _ = uci_run
    with UCI.open(encoding="utf-8") as fh:
        rows = [r for _, r in zip(range(SLICE_ROWS), csv.DictReader(fh), strict=False)]
    nothing_owed = {r["ID"] for r in rows if int(r["PAY_0"]) >= 1 and int(r["BILL_AMT1"]) <= 0}
    owed = {r["ID"] for r in rows if int(r["PAY_0"]) >= 1 and int(r["BILL_AMT1"]) > 0}
    assert nothing_owed and owed  # the slice holds both kinds
    decisions = {d["account_id"]: d for d in read_csv(out / "decisions.csv")}
    for acc in nothing_owed:
        d = decisions[acc]
        got = (d["amount_due"], d["segment"], d["treatment"])
        assert got == ("0.00", "nothing_due", "no_action")
        assert d["channels"] == "" and d["templates"] == "" and "nothing is owed" in d["reason"]
    assert all(decisions[a]["segment"] != "nothing_due" for a in owed)
    contacted = {c["account_id"] for c in read_csv(out / "contacts.csv")}
    assert contacted and not contacted & nothing_owed


def test_demo_contacts_fall_inside_allowed_local_hours(uci_run):
    out, _ = uci_run
    contacts = read_csv(out / "contacts.csv")
    assert contacts
    decisions = {d["account_id"]: d for d in read_csv(out / "decisions.csv")}
    for c in contacts:
        assert c["account_id"] in decisions
        assert c["treatment"] == decisions[c["account_id"]]["treatment"]
        assert c["rule_pack"] == "ALL@2026.3;HOUSE@2026.2;TW@2026.4"
        start = datetime.fromisoformat(c["window_start"])
        end = datetime.fromisoformat(c["window_end"])
        assert start.utcoffset() is not None and start < end
        tz = ZoneInfo(c["borrower_timezone"])
        ls, le = start.astimezone(tz), end.astimezone(tz)
        assert ls.date() == le.date() == date(2005, 9, 30)
        assert ls.time() >= time(9) and le.time() <= time(21)


def test_demo_summary_and_report_are_consistent(uci_run):
    out, expected = uci_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["accounts_total"] == SLICE_ROWS
    assert summary["accounts_in_arrears"] == expected
    assert sum(summary["accounts_by_bucket"].values()) == SLICE_ROWS
    decisions = read_csv(out / "decisions.csv")
    assert summary["decisions_by_treatment"] == dict(Counter(d["treatment"] for d in decisions))
    assert summary["contacts_planned"] == len(read_csv(out / "contacts.csv"))
    assert summary["contacts_blocked"] == len(read_csv(out / "blocked.csv"))
    assert len(summary["input_sha256"]) == 64
    assert summary["model"]["version"]
    total = sum(int(d["amount_due"].replace(".", "")) for d in decisions)
    assert summary["arrears_amount_minor"]["TWD"] == total
    report = (out / "report.html").read_text(encoding="utf-8")
    assert report.count("<svg") == 4
    assert 'src="http' not in report and "<script src" not in report


@pytest.fixture(scope="module")
def generated_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generate a portfolio, import it into SQLite, run the daily job on a Sunday."""
    root = tmp_path_factory.mktemp("gen")
    mp = pytest.MonkeyPatch()
    mp.setenv("ARREARS_DATABASE_URL", f"sqlite:///{root}/ledger.db")
    try:
        r = runner.invoke(
            app,
            ["generate", "--accounts", "4000", "--out", str(root / "pf"), "--as-of", "2026-11-29"],
        )
        assert r.exit_code == 0, r.output
        r = runner.invoke(app, ["import", str(root / "pf")])
        assert r.exit_code == 0, r.output
        r = runner.invoke(app, ["import", str(root / "pf")])
        assert r.exit_code == 0 and "already imported" in r.output
        r = runner.invoke(app, ["daily", "--as-of", "2026-11-29", "--out", str(root / "plan")])
        assert r.exit_code == 0, r.output
    finally:
        mp.undo()
    return root


def test_generated_plan_respects_hours_in_every_jurisdiction(generated_run):
    contacts = read_csv(generated_run / "plan" / "contacts.csv")
    jurisdictions = {c["jurisdiction"].split("-")[0] for c in contacts}
    assert {"CN", "TW", "US", "GB"} <= jurisdictions
    for c in contacts:
        lo, hi = HOURS[c["jurisdiction"].split("-")[0]]
        start = datetime.fromisoformat(c["window_start"])
        end = datetime.fromisoformat(c["window_end"])
        zones = (
            [c["borrower_timezone"]]
            if c["borrower_timezone"]
            else US_STATE_ZONES[c["jurisdiction"]]
        )
        for z in zones:
            ls, le = start.astimezone(ZoneInfo(z)), end.astimezone(ZoneInfo(z))
            assert ls.time() >= time(lo), (c, z)
            assert le.time() <= time(hi) or le.time() == time(0), (c, z)


def test_generated_plan_blocks_irish_sunday_calls_with_rule_id(generated_run):
    contacts = read_csv(generated_run / "plan" / "contacts.csv")
    blocked = read_csv(generated_run / "plan" / "blocked.csv")
    assert not [c for c in contacts if c["jurisdiction"] == "IE" and c["channel"] == "call"]
    ie_calls = [b for b in blocked if b["jurisdiction"] == "IE" and b["channel"] == "call"]
    assert ie_calls and all("IE.DAYS.S46" in b["rule_ids"].split("|") for b in ie_calls)
    assert all(b["reason"] for b in blocked)


def test_generated_plan_keeps_daily_call_caps(generated_run):
    contacts = read_csv(generated_run / "plan" / "contacts.csv")
    calls = Counter(c["borrower_id"] for c in contacts if c["channel"] == "call")
    caps = {"CN": 3, "TW": 2, "GB": 2, "IE": 2, "US": 1}
    jur = {c["borrower_id"]: c["jurisdiction"] for c in contacts}
    for borrower, n in calls.items():
        assert n <= caps[jur[borrower].split("-")[0]], borrower


def test_import_of_a_bad_folder_reports_rows_and_changes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("ARREARS_DATABASE_URL", f"sqlite:///{tmp_path}/ledger.db")
    r = runner.invoke(app, ["generate", "--accounts", "50", "--out", str(tmp_path / "pf")])
    assert r.exit_code == 0
    accounts = tmp_path / "pf" / "accounts.csv"
    lines = accounts.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[header.index("currency")] = "XYZ"
    lines[2] = ",".join(cells)
    accounts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = runner.invoke(app, ["import", str(tmp_path / "pf")])
    assert r.exit_code == 2
    assert "accounts.csv" in r.output and "currency" in r.output and "3" in r.output
    assert "Traceback" not in r.output
    r = runner.invoke(app, ["daily", "--as-of", "2026-11-30", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "import a portfolio first" in r.output


def test_bad_date_is_an_error_not_a_traceback(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "arrears.cli.main",
            "daily",
            "--as-of",
            "2026-02-30",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ARREARS_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"},
    )
    assert proc.returncode == 2
    assert "YYYY-MM-DD" in proc.stderr and "Traceback" not in proc.stderr


def test_rules_list_and_show():
    r = runner.invoke(app, ["rules", "list"], env={"COLUMNS": "80"})
    assert r.exit_code == 0 and "IE.DAYS.S46" in r.output
    # every id whole (it is what `rules show` takes), even on an 80-column terminal
    from arrears.adapters.rulepacks import load_packs

    for pack in load_packs(REPO / "rules"):
        for rule in pack.rules:
            assert f" {rule.id} " in r.output, rule.id
    r = runner.invoke(app, ["rules", "show", "US.HOURS.INCONVENIENT"])
    assert r.exit_code == 0 and "1006.6" in r.output and "08:00-21:00" in r.output
    r = runner.invoke(app, ["rules", "show", "NOPE"])
    assert r.exit_code == 2


def test_accounts_the_registered_model_cannot_score_get_the_first_model(generated_run):
    """Three weeks after the snapshot some accounts in arrears have no delinquency-history
    cycle the registered model needs: the run still plans every account in arrears, scores
    those with the first (logistic) model and names the model on each row."""
    root = generated_run
    mp = pytest.MonkeyPatch()
    mp.setenv("ARREARS_DATABASE_URL", f"sqlite:///{root}/ledger.db")
    try:
        r = runner.invoke(app, ["daily", "--as-of", "2026-12-20", "--out", str(root / "later")])
    finally:
        mp.undo()
    assert r.exit_code == 0, r.output
    rows = read_csv(root / "later" / "decisions.csv")
    by_model = Counter(x["model_version"] for x in rows)
    assert set(by_model) == {"ptp-gbm-v2", "ptp-logit-v1"}, by_model
    assert all(x["score"] != "" for x in rows)
    # reason codes come from the registered model's TreeSHAP; the first model gives none
    assert all(x["reason_1"] for x in rows if x["model_version"] == "ptp-gbm-v2")
    assert all(x["reason_1"] == "" for x in rows if x["model_version"] == "ptp-logit-v1")
    summary = json.loads((root / "later" / "summary.json").read_text())
    assert summary["model"]["accounts_by_model"] == dict(sorted(by_model.items()))
    assert summary["accounts_in_arrears"] == len(rows)
