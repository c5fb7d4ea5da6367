"""End-to-end: the daily plan counts what the contact gate has already reserved that day.

A generated portfolio is imported into a SQLite ledger and planned. Calls are then reserved
through the gate (``arrears contact attempt``) for one planned borrower until the gate refuses
one; planning the same day again must leave that borrower's call out of contacts.csv and
list it in blocked.csv under a rule the gate gave. Borrowers the gate never saw keep their
plan.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from tests.cli_kit import DAY, channel_line, planned_ledger, read_csv
from typer.testing import CliRunner

from arrears.cli.main import app

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.output


def test_calls_reserved_by_the_gate_are_not_planned_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = planned_ledger(tmp_path, monkeypatch)
    calls = [c for c in before if c["channel"] == "call"]
    assert len({c["borrower_id"] for c in calls}) >= 2, "the test needs two called borrowers"
    target = calls[0]
    who, at = target["borrower_id"], target["window_start"]
    assert datetime.fromisoformat(at).tzinfo is not None

    gate_rules: set[str] = set()
    for _ in range(12):  # every shipped cap is below 12 calls
        code, out = invoke("contact", "attempt", who, "--channel", "call", "--at", at)
        if code == 1:
            # "  RULE.ID: reason" lines under "BLOCKED"
            gate_rules = set(re.findall(r"^  ([A-Z][A-Z0-9_.-]+):", out, flags=re.MULTILINE))
            break
        assert code == 0, out
    assert gate_rules, "the gate never refused a call"

    code, out = invoke("daily", "--as-of", DAY, "--out", str(tmp_path / "after"))
    assert code == 0, out
    after = read_csv(tmp_path / "after" / "contacts.csv")
    blocked = read_csv(tmp_path / "after" / "blocked.csv")
    assert not [c for c in after if c["borrower_id"] == who and c["channel"] == "call"]
    [row] = [b for b in blocked if b["borrower_id"] == who and b["channel"] == "call"]
    assert set(row["rule_ids"].split("|")) & gate_rules, (row, gate_rules)
    # borrowers the gate did not see are planned as before
    others = {(c["borrower_id"], c["channel"]) for c in before if c["borrower_id"] != who}
    assert others == {(c["borrower_id"], c["channel"]) for c in after if c["borrower_id"] != who}


def test_calls_reserved_for_later_days_count_against_rolling_caps_today(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rolling cap (here New York City's 3 contacts in 7 days across media) counts
    reservations made for the days after the plan date too, at the gate and so in the plan."""
    before = planned_ledger(tmp_path, monkeypatch)
    target = next(c for c in before if c["channel"] == "call" and c["jurisdiction"] == "US-NY-NYC")
    who, at = target["borrower_id"], target["window_start"]
    start = datetime.fromisoformat(at)

    def call_blocked_today() -> set[str]:
        code, out = invoke("explain", who, "--at", at)
        assert code == 0, out
        found = re.search(r"blocked by ([^;]+);", channel_line(out, "call"))
        return set(found.group(1).split(", ")) if found else set()

    rules: set[str] = set()
    assert not call_blocked_today()
    for day, channel in enumerate(("sms", "email", "sms", "email", "sms"), start=1):
        later = (start + timedelta(days=day)).isoformat()  # messages on the following days
        code, out = invoke("contact", "attempt", who, "--channel", channel, "--at", later)
        assert code in (0, 1), out
        rules = call_blocked_today()
        if rules:
            break
    assert rules, "later reservations never filled a rolling cap"

    code, out = invoke("daily", "--as-of", DAY, "--out", str(tmp_path / "after"))
    assert code == 0, out
    after = read_csv(tmp_path / "after" / "contacts.csv")
    blocked = read_csv(tmp_path / "after" / "blocked.csv")
    assert not [c for c in after if c["borrower_id"] == who and c["channel"] == "call"]
    [row] = [b for b in blocked if b["borrower_id"] == who and b["channel"] == "call"]
    assert set(row["rule_ids"].split("|")) & rules, (row, rules)
