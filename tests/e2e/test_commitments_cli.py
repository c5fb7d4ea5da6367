"""End-to-end: promises to pay and repayment plans through the CLI and the daily run.

A generated portfolio (as of 2026-11-30) is imported into a SQLite ledger; the daily run is
first made on 2026-11-10 without commitments (the baseline), then with a plan and a promise
recorded on 2026-11-10, then on 2026-11-30, after the plan's first installment (due
2026-11-15, 5 days' grace) went unpaid. Payments are the portfolio's own: the test picks its
accounts from payments.csv with the csv module, not with arrears code.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from arrears.cli.main import app

runner = CliRunner()
SNAPSHOT = "2026-11-30"
DAY1 = date(2026, 11, 10)
DAY2 = date(2026, 11, 30)
COMMITMENT_TABLES = ("promises", "repayment_plans", "plan_installments", "commitment_events")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def invoke(*args: str) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == 0, r.output
    return r.output


def counts(db: Path) -> dict[str, int]:
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return {
                t: int(conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one())
                for t in COMMITMENT_TABLES
            }
    finally:
        engine.dispose()


@dataclass
class Scenario:
    root: Path
    planned: str  # account given a plan on DAY1, no payment after
    plan_amount: str
    promised: str  # account that promised on DAY1 what it then paid within the grace period
    promise_amount: str
    baseline: dict[str, dict[str, str]]
    day1: dict[str, dict[str, str]]
    day2: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    root = tmp_path_factory.mktemp("commitments")
    mp = pytest.MonkeyPatch()
    mp.setenv("ARREARS_DATABASE_URL", f"sqlite:///{root}/ledger.db")
    try:
        invoke("generate", "--accounts", "300", "--out", str(root / "pf"), "--as-of", SNAPSHOT)
        invoke("import", str(root / "pf"))
        invoke("daily", "--as-of", DAY1.isoformat(), "--out", str(root / "baseline"))
        baseline = {d["account_id"]: d for d in read_csv(root / "baseline" / "decisions.csv")}
        pays = read_csv(root / "pf" / "payments.csv")
        paid_after = {p["account_id"] for p in pays if date.fromisoformat(p["paid_on"]) > DAY1}
        treated = sorted(a for a, d in baseline.items() if d["treatment"] != "no_action")
        planned = next(a for a in treated if a not in paid_after)
        # a payment within a promise's grace period: promise that amount, due that day
        kept = sorted(
            (p["account_id"], p["paid_on"], p["amount"])
            for p in pays
            if DAY1 < date.fromisoformat(p["paid_on"]) <= date(2026, 11, 26)
            and p["account_id"] in baseline
            and p["account_id"] != planned
        )[0]
        promised, paid_on, amount = kept
        plan_amount = baseline[planned]["amount_due"]  # the arrears, never above the balance
        invoke(
            "plan", "add", planned, "--installments", "3", "--amount", plan_amount,
            "--first-due", "2026-11-15", "--agreed-on", DAY1.isoformat(),
        )  # fmt: skip
        invoke(
            "ptp", "add", promised, "--amount", amount, "--due", paid_on,
            "--made-on", DAY1.isoformat(), "--channel", "call",
        )  # fmt: skip
        invoke("daily", "--as-of", DAY1.isoformat(), "--out", str(root / "day1"))
        day1 = {d["account_id"]: d for d in read_csv(root / "day1" / "decisions.csv")}
        invoke("daily", "--as-of", DAY2.isoformat(), "--out", str(root / "day2"))
        day2 = {d["account_id"]: d for d in read_csv(root / "day2" / "decisions.csv")}
    finally:
        mp.undo()
    return Scenario(root, planned, plan_amount, promised, amount, baseline, day1, day2)


def _in_ledger(scenario: Scenario, *args: str) -> str:
    mp = pytest.MonkeyPatch()
    mp.setenv("ARREARS_DATABASE_URL", f"sqlite:///{scenario.root}/ledger.db")
    try:
        return invoke(*args)
    finally:
        mp.undo()


def test_a_kept_plan_holds_the_account_and_is_not_escalated(scenario: Scenario) -> None:
    a = scenario.planned
    assert scenario.baseline[a]["treatment"] != "no_action"  # treated before the plan
    assert scenario.day1[a]["segment"] == "plan_kept"
    assert scenario.day1[a]["treatment"] == "no_action"
    assert scenario.day1[a]["channels"] == ""
    contacts = read_csv(scenario.root / "day1" / "contacts.csv")
    assert a not in {c["account_id"] for c in contacts}
    # only the planned account and the one that promised changed segment between the
    # baseline and day 1
    changed = {
        k for k, d in scenario.day1.items() if d["segment"] != scenario.baseline[k]["segment"]
    }
    assert changed == {a, scenario.promised}
    # and the ledger's decision log says the same
    engine = sa.create_engine(f"sqlite:///{scenario.root}/ledger.db")
    try:
        with engine.connect() as conn:
            seg = conn.exec_driver_sql(
                "SELECT segment FROM decisions WHERE plan_date = ? AND account_id = ?",
                (DAY1.isoformat(), a),
            ).scalar_one()
    finally:
        engine.dispose()
    assert seg == "plan_kept"


def test_a_pending_promise_is_not_chased_before_it_falls_due(scenario: Scenario) -> None:
    """A promise taken on a call on day 1, due later: no reminder or call on day 1; once kept
    (day 2, after the review), the promise no longer holds the account."""
    p = scenario.promised
    assert scenario.baseline[p]["treatment"] != "no_action"
    assert (scenario.day1[p]["segment"], scenario.day1[p]["treatment"]) == (
        "promise_pending",
        "no_action",
    )
    assert "promise to pay pending" in scenario.day1[p]["reason"]
    contacts = read_csv(scenario.root / "day1" / "contacts.csv")
    assert p not in {c["account_id"] for c in contacts}
    assert scenario.day2[p]["segment"] != "promise_pending"


def test_a_broken_plan_is_recorded_and_the_account_treated_again(scenario: Scenario) -> None:
    a = scenario.planned
    assert scenario.day2[a]["segment"] != "plan_kept"
    assert scenario.day2[a]["treatment"] != "no_action"
    listed = json.loads(_in_ledger(scenario, "commitments", "list", "--json", "--account", a))
    [plan] = listed
    assert (plan["kind"], plan["status"], plan["status_on"]) == ("plan", "broken", "2026-11-30")
    assert (plan["amount"], plan["installments"], plan["first_due"]) == (
        scenario.plan_amount,
        3,
        "2026-11-15",
    )
    history = _in_ledger(scenario, "commitments", "history", plan["id"]).splitlines()
    assert [line.split()[:2] for line in history] == [
        ["2026-11-10", "PlanAgreed"],
        ["2026-11-30", "PlanBroken"],
    ]


def test_a_promise_paid_within_its_grace_period_is_kept(scenario: Scenario) -> None:
    listed = json.loads(
        _in_ledger(scenario, "commitments", "list", "--json", "--account", scenario.promised)
    )
    [promise] = listed
    assert promise["kind"] == "promise" and promise["channel"] == "call"
    assert Decimal(promise["amount"]) == Decimal(scenario.promise_amount)
    assert (promise["status"], promise["status_on"]) == ("kept", "2026-11-30")
    kept = json.loads(_in_ledger(scenario, "commitments", "list", "--json", "--status", "kept"))
    assert [p["id"] for p in kept] == [promise["id"]]


def test_review_is_idempotent_and_reports_the_grace_periods(scenario: Scenario) -> None:
    before = counts(scenario.root / "ledger.db")
    text = _in_ledger(scenario, "commitments", "review", "--as-of", DAY2.isoformat())
    assert "grace 3 day(s) after a promise's due date, 5 day(s)" in text
    assert "No promise or plan changed status." in text
    assert counts(scenario.root / "ledger.db") == before


def test_an_offer_from_offers_csv_is_accepted_as_a_plan(scenario: Scenario) -> None:
    offers = read_csv(scenario.root / "baseline" / "offers.csv")
    taken = {scenario.planned, scenario.promised}
    row = next(
        o for o in offers if o["offer_type"] == "installment_plan" and o["account_id"] not in taken
    )
    out = _in_ledger(
        scenario,
        "plan",
        "accept",
        row["account_id"],
        "--offers",
        str(scenario.root / "baseline" / "offers.csv"),
        "--agreed-on",
        DAY2.isoformat(),
    )
    assert out.startswith("Recorded plan PLN-")
    [plan] = json.loads(
        _in_ledger(scenario, "commitments", "list", "--json", "--account", row["account_id"])
    )
    assert plan["amount"] == row["total_cost"] == row["amount_owed"]  # interest-free
    assert plan["installments"] == int(row["installments"])
    assert plan["first_due"] == row["first_due"] and plan["status"] == "kept"


# --- bad input: a clear message, exit code 2, nothing written -------------------------------


@pytest.fixture(scope="module")
def small_ledger(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A 40-account ledger (no daily run); returns (root, an account id, its currency)."""
    root = tmp_path_factory.mktemp("bad")
    mp = pytest.MonkeyPatch()
    mp.setenv("ARREARS_DATABASE_URL", f"sqlite:///{root}/ledger.db")
    try:
        invoke("generate", "--accounts", "40", "--out", str(root / "pf"), "--as-of", SNAPSHOT)
        invoke("import", str(root / "pf"))
    finally:
        mp.undo()
    acc = next(
        a
        for a in read_csv(root / "pf" / "accounts.csv")
        if a["currency"] != "JPY" and a["balance"] and Decimal(a["balance"]) > 500
    )
    (root / "offers.csv").write_text(
        "account_id,offer_type,installments,installment_amount,total_cost,currency,"
        "amount_owed,first_due\n"
        f"{acc['account_id']},installment_plan,3,40.00,120.00,{acc['currency']},100.00,"
        "2026-12-30\n",
        encoding="utf-8",
    )
    return root, acc["account_id"], acc["currency"]


# fmt: off
BAD_INPUTS = [
    (["ptp", "add", "NOPE", "--amount", "10", "--due", "2026-12-03"], "no account 'NOPE'"),
    (["ptp", "add", "{acc}", "--amount", "10.001", "--due", "2026-12-03"], "decimal places"),
    (["ptp", "add", "{acc}", "--amount", "-5", "--due", "2026-12-03"], "more than zero"),
    (["ptp", "add", "{acc}", "--amount", "1,000", "--due", "2026-12-03"], "not a plain decimal"),
    (["ptp", "add", "{acc}", "--amount", "10", "--due", "2026-12-03T10:00"], "calendar date"),
    (["ptp", "add", "{acc}", "--amount", "10", "--due", "2026-02-30"], "not a real date"),
    (
        ["ptp", "add", "{acc}", "--amount", "10", "--due", "2026-12-01", "--made-on", "2026-12-02"],
        "before it was made",
    ),
    (
        ["ptp", "add", "{acc}", "--amount", "10", "--due", "2026-12-03", "--channel", "pigeon"],
        "channel must be one of",
    ),
    (
        ["ptp", "add", "{acc}", "--amount", "99999999", "--due", "2026-12-03"],
        "more than the account's balance",
    ),
    (
        [
            "plan",
            "add",
            "{acc}",
            "--installments",
            "3",
            "--amount",
            "100",
            "--installment-amount",
            "40",
            "--first-due",
            "2026-12-15",
        ],
        "the plan does not add up: 3 installments of 40.00 make 120.00",
    ),
    (
        [
            "plan",
            "add",
            "{acc}",
            "--installments",
            "1",
            "--amount",
            "100",
            "--first-due",
            "2026-12-15",
        ],
        "installments must be 2..24",
    ),
    (
        [
            "plan",
            "add",
            "{acc}",
            "--installments",
            "2",
            "--amount",
            "100",
            "--first-due",
            "2026-11-15",
            "--agreed-on",
            "2026-11-20",
        ],
        "before the plan was agreed",
    ),
    (
        ["plan", "accept", "{acc}", "--offers", "{root}/missing.csv"],
        "cannot read",
    ),
    (
        ["plan", "accept", "{acc}", "--offers", "{root}/offers.csv", "--agreed-on", "2026-11-30"],
        "does not match the schedule",
    ),
    (
        ["plan", "accept", "{acc}", "--offers", "{root}/offers.csv", "--offer-type", "settlement"],
        "only installment_plan offers",
    ),
    (
        [
            "plan",
            "replan",
            "PLN-NOPE",
            "--installments",
            "2",
            "--amount",
            "10",
            "--first-due",
            "2026-12-15",
        ],
        "no plan 'PLN-NOPE'",
    ),
    (["commitments", "list", "--status", "maybe"], "--status must be one of"),
    (["commitments", "review", "--as-of", "30/11/2026"], "calendar date"),
    (["commitments", "history", "NOPE"], "no promise, plan or account 'NOPE'"),
]
# fmt: on


@pytest.mark.parametrize(("args", "message"), BAD_INPUTS)
def test_bad_input_is_refused_clearly_and_writes_nothing(small_ledger, args, message) -> None:
    root, acc, _ = small_ledger
    before = counts(root / "ledger.db")
    mp = pytest.MonkeyPatch()
    mp.setenv("ARREARS_DATABASE_URL", f"sqlite:///{root}/ledger.db")
    try:
        r = runner.invoke(app, [a.format(acc=acc, root=root) for a in args])
    finally:
        mp.undo()
    assert r.exit_code == 2, r.output
    text = " ".join(r.output.split())  # rich wraps long messages
    assert message in text
    assert "error:" in text and "Traceback" not in text
    assert counts(root / "ledger.db") == before


def test_one_open_promise_and_one_active_plan_per_account(small_ledger) -> None:
    root, acc, _ = small_ledger
    mp = pytest.MonkeyPatch()
    mp.setenv("ARREARS_DATABASE_URL", f"sqlite:///{root}/ledger.db")
    try:
        invoke("ptp", "add", acc, "--amount", "10", "--due", "2026-12-03", "--made-on", SNAPSHOT)
        r = runner.invoke(app, ["ptp", "add", acc, "--amount", "20", "--due", "2026-12-04"])
        assert r.exit_code == 2 and "already has a pending promise" in " ".join(r.output.split())
        first_due = ["--first-due", "2026-12-15", "--agreed-on", SNAPSHOT]
        invoke("plan", "add", acc, "--installments", "2", "--amount", "100", *first_due)
        r = runner.invoke(
            app, ["plan", "add", acc, "--installments", "2", "--amount", "100", *first_due]
        )
        assert r.exit_code == 2 and "re-plan it instead" in r.output
        [plan] = json.loads(invoke("commitments", "list", "--json", "--kind", "plan"))
        out = invoke(
            "plan", "replan", plan["id"], "--installments", "4", "--amount", "100",
            "--first-due", "2027-01-15", "--agreed-on", "2026-12-01",
        )  # fmt: skip
        assert f"Re-planned {plan['id']} (now replanned)" in out
        plans = json.loads(invoke("commitments", "list", "--json", "--kind", "plan"))
        by_status = {p["status"]: p for p in plans}
        assert by_status.keys() == {"replanned", "kept"}
        assert by_status["kept"]["replaces"] == plan["id"] and by_status["kept"]["replans"] == 1
        assert by_status["kept"]["amount"] == "100.00"
    finally:
        mp.undo()
