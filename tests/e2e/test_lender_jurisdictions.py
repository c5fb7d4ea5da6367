"""End-to-end: the lender's own jurisdictions (ARREARS_LENDER_JURISDICTIONS) apply to every
borrower, in the daily plan and at the gate alike; a bad value is refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli_kit import DAY, planned_ledger, read_csv
from typer.testing import CliRunner

from arrears.cli.main import app
from arrears.config import SettingsError, load_settings

runner = CliRunner()


def invoke(*args: str) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code in (0, 1), r.output
    return r.output


def test_a_lenders_packs_apply_to_borrowers_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = planned_ledger(tmp_path, monkeypatch, out="own")
    monkeypatch.setenv("ARREARS_LENDER_JURISDICTIONS", "CN")
    invoke("daily", "--as-of", DAY, "--out", str(tmp_path / "cn"))

    cn = read_csv(tmp_path / "cn" / "contacts.csv") + read_csv(tmp_path / "cn" / "blocked.csv")
    abroad = [c for c in cn if c["jurisdiction"] != "CN"]
    assert abroad, "the generated portfolio has borrowers outside CN"
    assert all(any(p.startswith("CN@") for p in c["rule_pack"].split(";")) for c in abroad)
    assert not any("CN@" in c["rule_pack"] for c in own if c["jurisdiction"] != "CN")
    summary = json.loads((tmp_path / "cn" / "summary.json").read_text(encoding="utf-8"))
    assert summary["lender_jurisdictions"] == ["CN"]

    # the gate applies them too: a borrower outside CN is judged under the CN pack as well
    who = abroad[0]["borrower_id"]
    out = invoke("contact", "attempt", who, "--channel", "sms", "--at", "2026-12-01T12:00:00Z")
    assert "CN@" in out
    out = invoke("explain", who, "--at", "2026-12-01T12:00:00Z")
    assert "lender regulated in CN" in " ".join(out.split())


def test_a_bad_lender_jurisdiction_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARREARS_DATABASE_URL", f"sqlite:///{tmp_path}/ledger.db")
    monkeypatch.setenv("ARREARS_LENDER_JURISDICTIONS", "CN,china")
    with pytest.raises(SettingsError, match=r"ARREARS_LENDER_JURISDICTIONS: .*'china'"):
        load_settings()
    r = runner.invoke(app, ["rules", "list"])  # every command: one line, exit 2
    assert r.exit_code == 2 and "ARREARS_LENDER_JURISDICTIONS" in r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) <= 3
    # a well-formed code no pack covers would silently apply nothing: refused too
    monkeypatch.setenv("ARREARS_LENDER_JURISDICTIONS", "UK")
    r = runner.invoke(app, ["daily", "--as-of", DAY, "--out", str(tmp_path / "out")])
    assert r.exit_code == 2 and "no rule pack" in r.output and "'UK'" in r.output
    assert not (tmp_path / "out").exists()
    monkeypatch.setenv("ARREARS_LENDER_JURISDICTIONS", " GB , IE ")
    assert load_settings().lender_codes == ("GB", "IE")


def test_daily_refuses_an_out_path_that_is_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARREARS_DATABASE_URL", f"sqlite:///{tmp_path}/ledger.db")
    (tmp_path / "afile").write_text("keep me", encoding="utf-8")
    r = runner.invoke(app, ["daily", "--as-of", DAY, "--out", str(tmp_path / "afile")])
    assert r.exit_code == 2 and "is a file, not a folder" in " ".join(r.output.split())
    assert (tmp_path / "afile").read_text(encoding="utf-8") == "keep me"


def test_a_gb_lenders_dispute_hold_keeps_a_validated_us_dispute_out_of_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """US rules lift a dispute with the validation notice; a GB lender's GB.DISPUTE.HOLD does
    not: no collection treatment, contact or offer for it."""
    from tests.cli_kit import set_borrower_cell

    before = planned_ledger(tmp_path, monkeypatch)
    us = next(c["borrower_id"] for c in before if c["jurisdiction"].startswith("US"))
    for column in ("dispute_open", "validation_sent"):
        set_borrower_cell(tmp_path / "pf", us, column, "true")
    invoke("import", str(tmp_path / "pf"))
    invoke("daily", "--as-of", DAY, "--out", str(tmp_path / "us"))
    mine = [d for d in read_csv(tmp_path / "us" / "decisions.csv") if d["borrower_id"] == us]
    assert mine and all(d["segment"] != "dispute_open" for d in mine)  # US alone: lifted
    monkeypatch.setenv("ARREARS_LENDER_JURISDICTIONS", "GB")
    invoke("daily", "--as-of", DAY, "--out", str(tmp_path / "gb"))
    mine = [d for d in read_csv(tmp_path / "gb" / "decisions.csv") if d["borrower_id"] == us]
    assert mine and all(d["segment"] == "dispute_open" for d in mine)
    accounts = {d["account_id"] for d in mine}
    assert not accounts & {o["account_id"] for o in read_csv(tmp_path / "gb" / "offers.csv")}
    assert not [c for c in read_csv(tmp_path / "gb" / "contacts.csv") if c["borrower_id"] == us]
