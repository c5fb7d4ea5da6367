"""End-to-end: a borrower's consent hours (borrowers.csv ``consent_hours``) reach the ledger,
the daily plan and the gate, which all judge the CN night rule by them."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli_kit import DAY, channel_line, planned_ledger, read_csv, set_borrower_cell
from typer.testing import CliRunner

from arrears.cli.main import app

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, list(args))
    assert r.exit_code in (0, 1), r.output
    return r.exit_code, r.output


def test_consent_hours_move_the_window_in_the_plan_and_at_the_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = planned_ledger(tmp_path, monkeypatch)
    pf = tmp_path / "pf"
    call = next(c for c in before if c["channel"] == "call" and c["jurisdiction"] == "CN")
    who = call["borrower_id"]
    assert call["window_start"].startswith(f"{DAY}T09:00")  # the planning hours, inside 08-22

    # at 22:30 local the CN night rule refuses a text message ...
    late = f"{DAY}T22:30:00+08:00"
    code, out = invoke("explain", who, "--at", late)
    assert "blocked by CN.HOURS.NIGHT" in channel_line(out, "sms")
    # ... unless the borrower agreed to it; and agreeing to 10:00-12:00 only narrows the plan
    set_borrower_cell(pf, who, "consent_hours", "10:00-12:00")
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
    set_borrower_cell(pf, who, "consent_hours", "07:00-23:30")
    invoke("import", str(pf))
    code, out = invoke("explain", who, "--at", late)
    assert channel_line(out, "sms").split() == ["sms", "allowed"], out
    assert "agreed to contact hours 07:00-23:30" in " ".join(out.split())
    # (the lender's house curfew on calls, 08:00-20:00, still holds: consent lifts CN's rule)
    assert "HOUSE.CALLS.EVENING" in channel_line(out, "call")
    code, out = invoke("contact", "attempt", who, "--channel", "sms", "--at", late)
    assert code == 0 and "ALLOWED" in out, out


def test_a_complaint_flag_in_the_portfolio_holds_collection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """borrowers.csv complaint_open -> the strategy's complaint_open hold in the plan and
    ALL.HOLD.COMPLAINT at the gate."""
    before = planned_ledger(tmp_path, monkeypatch)
    pf = tmp_path / "pf"
    who = before[0]["borrower_id"]
    set_borrower_cell(pf, who, "complaint_open", "true")
    code, out = invoke("import", str(pf))
    assert code == 0, out
    invoke("daily", "--as-of", DAY, "--out", str(tmp_path / "after"))
    assert not [c for c in read_csv(tmp_path / "after" / "contacts.csv") if c["borrower_id"] == who]
    held = [d for d in read_csv(tmp_path / "after" / "decisions.csv") if d["borrower_id"] == who]
    assert held and all(
        (d["segment"], d["treatment"]) == ("complaint_open", "no_action") for d in held
    )
    code, out = invoke("contact", "attempt", who, "--channel", "sms", "--at", f"{DAY}T12:00:00Z")
    assert code == 1 and "ALL.HOLD.COMPLAINT" in out
    set_borrower_cell(pf, who, "complaint_open", "maybe")
    r = runner.invoke(app, ["import", str(pf)])
    assert r.exit_code == 2 and "complaint_open" in r.output and "not a boolean" in r.output


def test_a_us_dispute_is_collected_again_once_validation_is_sent_a_gb_one_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """US: ALL.HOLD.DISPUTE and US.DISPUTE.HOLD lift with validation_sent, and the strategy's
    dispute hold with them. GB: GB.DISPUTE.HOLD (CONC 7.14.1R) holds until the dispute is
    closed, and so does the strategy."""
    before = planned_ledger(tmp_path, monkeypatch)
    pf = tmp_path / "pf"
    us = next(c["borrower_id"] for c in before if c["jurisdiction"].startswith("US"))
    gb = next(c["borrower_id"] for c in before if c["jurisdiction"] == "GB")
    for who in (us, gb):
        set_borrower_cell(pf, who, "dispute_open", "true")
    invoke("import", str(pf))
    invoke("daily", "--as-of", DAY, "--out", str(tmp_path / "open"))
    decided = read_csv(tmp_path / "open" / "decisions.csv")
    for who in (us, gb):
        mine = [d for d in decided if d["borrower_id"] == who]
        assert mine and all(d["segment"] == "dispute_open" for d in mine)
    for who in (us, gb):
        set_borrower_cell(pf, who, "validation_sent", "true")
    invoke("import", str(pf))
    invoke("daily", "--as-of", DAY, "--out", str(tmp_path / "sent"))
    decided = read_csv(tmp_path / "sent" / "decisions.csv")
    contacts = read_csv(tmp_path / "sent" / "contacts.csv")
    assert all(d["segment"] != "dispute_open" for d in decided if d["borrower_id"] == us)
    assert [c for c in contacts if c["borrower_id"] == us]
    assert all(d["segment"] == "dispute_open" for d in decided if d["borrower_id"] == gb)
    assert not [c for c in contacts if c["borrower_id"] == gb]
    _, out = invoke("explain", gb, "--at", f"{DAY}T12:00:00Z")
    assert "GB.DISPUTE.HOLD" in channel_line(out, "sms")


def test_a_hardship_pause_gets_the_hardship_review_letter_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = planned_ledger(tmp_path, monkeypatch)
    pf = tmp_path / "pf"
    who = before[0]["borrower_id"]
    set_borrower_cell(pf, who, "hardship_pause", "true")
    invoke("import", str(pf))
    invoke("daily", "--as-of", DAY, "--out", str(tmp_path / "after"))
    mine = [d for d in read_csv(tmp_path / "after" / "decisions.csv") if d["borrower_id"] == who]
    assert mine and all(d["treatment"] == "hardship_review" for d in mine)
    planned = [c for c in read_csv(tmp_path / "after" / "contacts.csv") if c["borrower_id"] == who]
    assert planned and {(c["channel"], c["purpose"]) for c in planned} == {("letter", "support")}


def test_consent_hours_given_per_channel_reach_the_gate_and_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = planned_ledger(tmp_path, monkeypatch)
    pf = tmp_path / "pf"
    call = next(c for c in before if c["channel"] == "call" and c["jurisdiction"] == "CN")
    who = call["borrower_id"]
    set_borrower_cell(pf, who, "consent_hours", "sms=07:00-24:00|call=10:00-12:00")
    code, out = invoke("import", str(pf))
    assert code == 0, out
    late = f"{DAY}T22:30:00+08:00"
    code, out = invoke("explain", who, "--at", late)
    said = " ".join(out.split())
    assert "agreed to sms hours 07:00-24:00" in said and "agreed to call hours 10:00-12:00" in said
    assert channel_line(out, "sms").split() == ["sms", "allowed"]
    assert "CN.HOURS.NIGHT" in channel_line(out, "wechat")  # no consent given for WeChat
    invoke("daily", "--as-of", DAY, "--out", str(tmp_path / "after"))
    rows = [
        c for c in read_csv(tmp_path / "after" / "contacts.csv")
        if c["borrower_id"] == who and c["channel"] == "call"
    ]  # fmt: skip
    assert rows and all(
        (r["window_start"][11:16], r["window_end"][11:16]) == ("10:00", "12:00") for r in rows
    )
    set_borrower_cell(pf, who, "consent_hours", "visit=07:00-23:00")
    r = runner.invoke(app, ["import", str(pf)])
    assert r.exit_code == 2 and "no consent hours for visits" in r.output


def test_explain_says_when_recorded_consent_hours_are_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only CN's night rule takes agreed hours: a US borrower's are shown as not used."""
    before = planned_ledger(tmp_path, monkeypatch)
    pf = tmp_path / "pf"
    us = next(c["borrower_id"] for c in before if c["jurisdiction"].startswith("US"))
    cn = next(c["borrower_id"] for c in before if c["jurisdiction"] == "CN")
    for who in (us, cn):
        set_borrower_cell(pf, who, "consent_hours", "call=12:00-13:00")
    invoke("import", str(pf))
    _, out = invoke("explain", us, "--at", f"{DAY}T18:00:00Z")
    assert "(not used here" in " ".join(out.split())
    _, out = invoke("explain", cn, "--at", f"{DAY}T04:30:00Z")
    said = " ".join(out.split())
    assert "agreed to call hours 12:00-13:00" in said and "(not used here" not in said
