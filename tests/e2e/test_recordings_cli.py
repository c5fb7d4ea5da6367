"""`arrears contact outcome --recording`, `contact recording` and `audit recordings`."""

from __future__ import annotations

import json

import pytest
from tests.cli_kit import DAY, planned_ledger, read_csv
from typer.testing import CliRunner

from arrears.cli.main import app

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.output


def test_a_tw_call_that_reached_someone_needs_its_recording(tmp_path, monkeypatch):
    planned_ledger(tmp_path, monkeypatch)
    who = next(b["borrower_id"] for b in read_csv(tmp_path / "pf" / "borrowers.csv")
               if b["jurisdiction"] == "TW")  # fmt: skip
    at = f"{DAY}T04:00:00Z"  # 12:00 in Taipei
    code, out = invoke("contact", "attempt", who, "--channel", "call", "--at", at)
    assert code == 0 and "ALLOWED" in out, out
    rid = out.split("reservation:")[1].split()[0]
    code, out = invoke("audit", "recordings", "--as-of", f"{DAY}T05:00:00Z", "--json")
    assert code == 0 and json.loads(out)["open"] == 1

    assert invoke("contact", "outcome", rid, "--outcome", "rpc", "--conversation")[0] == 0
    code, out = invoke("audit", "recordings", "--as-of", f"{DAY}T05:00:00Z", "--json")
    report = json.loads(out)
    assert code == 1 and [m["reservation_id"] for m in report["missing"]] == [int(rid)]
    assert report["missing"][0]["keep_until"] == "2027-06-01T04:00:00+00:00"
    code, out = invoke("audit", "recordings", "--as-of", f"{DAY}T05:00:00Z")
    assert code == 1 and "missing a recording" in out

    code, out = invoke("contact", "recording", rid, "--ref", "rec-42")
    assert code == 0 and "rec-42 attached" in out
    code, out = invoke("contact", "recording", rid, "--ref", "rec-43")
    assert code == 2 and "never replaced" in " ".join(out.split())
    code, out = invoke("audit", "recordings", "--as-of", f"{DAY}T05:00:00Z", "--json")
    assert code == 0 and json.loads(out)["recorded"] == 1
    # after six months the recording may go
    code, out = invoke("audit", "recordings", "--as-of", "2027-06-02T00:00:00Z", "--json")
    assert code == 0 and [e["recording_ref"] for e in json.loads(out)["expired"]] == ["rec-42"]
    assert invoke("audit", "verify")[0] == 0


@pytest.mark.parametrize("args", [["--as-of", "tomorrow"], ["--as-of", "2026-12-01T10:00:00"]])
def test_bad_as_of_is_refused(tmp_path, monkeypatch, args):
    monkeypatch.setenv("ARREARS_DATABASE_URL", f"sqlite:///{tmp_path}/ledger.db")
    code, out = invoke("audit", "recordings", *args)
    assert code == 2 and "--as-of" in out


def test_a_duty_missing_from_the_row_is_found_from_the_audit_log(tmp_path, monkeypatch):
    """A contact reserved before migration 0009, or whose keep-until was removed in SQL: the
    decision's audit entry (hash-chained) still says a recording is due."""
    import sqlalchemy as sa

    planned_ledger(tmp_path, monkeypatch)
    who = next(b["borrower_id"] for b in read_csv(tmp_path / "pf" / "borrowers.csv")
               if b["jurisdiction"] == "TW")  # fmt: skip
    code, out = invoke("contact", "attempt", who, "--channel", "call", "--at", f"{DAY}T04:00:00Z")
    rid = out.split("reservation:")[1].split()[0]
    assert invoke("contact", "outcome", rid, "--outcome", "ptp", "--conversation")[0] == 0
    engine = sa.create_engine(f"sqlite:///{tmp_path}/ledger.db")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE contact_ledger SET keep_recording_until = NULL")
    engine.dispose()
    code, out = invoke("audit", "recordings", "--as-of", f"{DAY}T05:00:00Z", "--json")
    report = json.loads(out)
    assert code == 1 and report["not_stored"] == 1
    [missing] = report["missing"]
    assert missing["reservation_id"] == int(rid) and missing["stored"] is False
    assert missing["keep_until"] == "2027-06-01T04:00:00+00:00"
