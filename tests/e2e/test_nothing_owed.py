"""A credit or zero balance is never collected, and an unknown amount is not shown as 0.00."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from tests.cli_kit import DAY, planned_ledger, read_csv
from typer.testing import CliRunner

from arrears.cli.main import app

runner = CliRunner()


def set_account_cells(folder: Path, account_id: str, **cells: str) -> None:
    path = folder / "accounts.csv"
    rows = read_csv(path)
    for r in rows:
        if r["account_id"] == account_id:
            r.update(cells)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_credit_balance_and_unknown_amount(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    before = planned_ledger(tmp_path, monkeypatch)
    decided = {d["account_id"]: d for d in read_csv(tmp_path / "before" / "decisions.csv")}
    called = sorted({c["account_id"] for c in before if c["channel"] == "call"})
    in_credit, unknown = called[0], called[1]
    assert decided[in_credit]["treatment"] != "no_action"
    pf = tmp_path / "pf"
    set_account_cells(pf, in_credit, balance="-10.00")
    # a card-style account: no schedule, DPD reported, amount not
    set_account_cells(pf, unknown, reported_dpd="40", reported_past_due="")
    for table in ("installments", "payments"):
        every = read_csv(pf / f"{table}.csv")
        rows = [r for r in every if r["account_id"] != unknown]
        with (pf / f"{table}.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(every[0]))
            writer.writeheader()
            writer.writerows(rows)
    # a fresh ledger: an import adds and updates rows, it never deletes a schedule
    monkeypatch.setenv("ARREARS_DATABASE_URL", f"sqlite:///{tmp_path}/edited.db")
    r = runner.invoke(app, ["import", str(pf)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["daily", "--as-of", DAY, "--out", str(tmp_path / "after")])
    assert r.exit_code == 0, r.output
    after = {d["account_id"]: d for d in read_csv(tmp_path / "after" / "decisions.csv")}
    assert (after[in_credit]["segment"], after[in_credit]["treatment"]) == (
        "nothing_due",
        "no_action",
    )
    contacts = {c["account_id"] for c in read_csv(tmp_path / "after" / "contacts.csv")}
    assert in_credit not in contacts
    assert after[unknown]["dpd_source"] == "reported"
    assert after[unknown]["amount_due"] == ""  # unknown, not 0.00
    assert after[unknown]["segment"] != "nothing_due"  # unknown is not "nothing owed"
