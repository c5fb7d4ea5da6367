"""End-to-end: a borrower's consent hours (borrowers.csv ``consent_hours``) reach the ledger,
the daily plan and the gate, which all judge the CN night rule by them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arrears.cli.main import app

runner = CliRunner()
SNAPSHOT = "2026-11-30"
DAY = "2026-12-01"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def invoke(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, list(args))
    assert r.exit_code in (0, 1), r.output
    return r.exit_code, r.output


def set_consent(folder: Path, borrower_id: str, hours: str) -> None:
    path = folder / "borrowers.csv"
    rows = read_csv(path)
    fields = list(rows[0])
    if "consent_hours" not in fields:
        fields.append("consent_hours")
    for r in rows:
        r.setdefault("consent_hours", "")
        if r["borrower_id"] == borrower_id:
            r["consent_hours"] = hours
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def channel_line(explained: str, channel: str) -> str:
    return next(x for x in explained.splitlines() if x.strip().startswith(f"{channel} "))


def test_consent_hours_move_the_window_in_the_plan_and_at_the_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARREARS_DATABASE_URL", f"sqlite:///{tmp_path}/ledger.db")
    pf = tmp_path / "pf"
    invoke("generate", "--accounts", "200", "--out", str(pf), "--as-of", SNAPSHOT)
    invoke("import", str(pf))
    invoke("daily", "--as-of", DAY, "--out", str(tmp_path / "before"))
    before = read_csv(tmp_path / "before" / "contacts.csv")
    call = next(c for c in before if c["channel"] == "call" and c["jurisdiction"] == "CN")
    who = call["borrower_id"]
    assert call["window_start"].startswith(f"{DAY}T09:00")  # the planning hours, inside 08-22

    # at 22:30 local the CN night rule refuses a text message ...
    late = f"{DAY}T22:30:00+08:00"
    code, out = invoke("explain", who, "--at", late)
    assert "blocked by CN.HOURS.NIGHT" in channel_line(out, "sms")
    # ... unless the borrower agreed to it; and agreeing to 10:00-12:00 only narrows the plan
    set_consent(pf, who, "10:00-12:00")
    code, out = invoke("import", str(pf))
    assert code == 0, out
    invoke("daily", "--as-of", DAY, "--out", str(tmp_path / "narrow"))
    [row] = [
        c
        for c in read_csv(tmp_path / "narrow" / "contacts.csv")
        if c["borrower_id"] == who
        and c["channel"] == "call"
        and c["account_id"] == call["account_id"]
    ]
    assert (row["window_start"][11:16], row["window_end"][11:16]) == ("10:00", "12:00")
    set_consent(pf, who, "07:00-23:30")
    invoke("import", str(pf))
    code, out = invoke("explain", who, "--at", late)
    assert channel_line(out, "sms").split() == ["sms", "allowed"], out
    assert "agreed to contact hours 07:00-23:30" in " ".join(out.split())
    # (the lender's house curfew on calls, 08:00-20:00, still holds: consent lifts CN's rule)
    assert "HOUSE.CALLS.EVENING" in channel_line(out, "call")
    code, out = invoke("contact", "attempt", who, "--channel", "sms", "--at", late)
    assert code == 0 and "ALLOWED" in out, out


def set_column(folder: Path, borrower_id: str, column: str, value: str) -> None:
    path = folder / "borrowers.csv"
    rows = read_csv(path)
    fields = list(rows[0]) + ([column] if column not in rows[0] else [])
    for r in rows:
        r.setdefault(column, "")
        if r["borrower_id"] == borrower_id:
            r[column] = value
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def test_a_complaint_flag_in_the_portfolio_holds_collection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """borrowers.csv complaint_open -> ALL.HOLD.COMPLAINT in the plan and at the gate."""
    monkeypatch.setenv("ARREARS_DATABASE_URL", f"sqlite:///{tmp_path}/ledger.db")
    pf = tmp_path / "pf"
    invoke("generate", "--accounts", "200", "--out", str(pf), "--as-of", SNAPSHOT)
    invoke("import", str(pf))
    invoke("daily", "--as-of", DAY, "--out", str(tmp_path / "before"))
    planned = read_csv(tmp_path / "before" / "contacts.csv")
    who = planned[0]["borrower_id"]
    set_column(pf, who, "complaint_open", "true")
    code, out = invoke("import", str(pf))
    assert code == 0, out
    invoke("daily", "--as-of", DAY, "--out", str(tmp_path / "after"))
    assert not [c for c in read_csv(tmp_path / "after" / "contacts.csv") if c["borrower_id"] == who]
    held = [b for b in read_csv(tmp_path / "after" / "blocked.csv") if b["borrower_id"] == who]
    assert held and all("ALL.HOLD.COMPLAINT" in b["rule_ids"].split("|") for b in held)
    code, out = invoke("contact", "attempt", who, "--channel", "sms", "--at", f"{DAY}T12:00:00Z")
    assert code == 1 and "ALL.HOLD.COMPLAINT" in out
    set_column(pf, who, "complaint_open", "maybe")
    r = runner.invoke(app, ["import", str(pf)])
    assert r.exit_code == 2 and "complaint_open" in r.output and "not a boolean" in r.output
