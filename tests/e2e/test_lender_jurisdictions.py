"""End-to-end: the lender's own jurisdictions (ARREARS_LENDER_JURISDICTIONS) apply to every
borrower, in the daily plan and at the gate alike; a bad value is refused in one line."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arrears.cli.main import app, main
from arrears.config import SettingsError, load_settings

runner = CliRunner()
SNAPSHOT = "2026-11-30"
DAY = "2026-12-01"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def invoke(*args: str) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code in (0, 1), r.output
    return r.output


def test_a_lenders_packs_apply_to_borrowers_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARREARS_DATABASE_URL", f"sqlite:///{tmp_path}/ledger.db")
    invoke("generate", "--accounts", "200", "--out", str(tmp_path / "pf"), "--as-of", SNAPSHOT)
    invoke("import", str(tmp_path / "pf"))
    invoke("daily", "--as-of", DAY, "--out", str(tmp_path / "own"))
    monkeypatch.setenv("ARREARS_LENDER_JURISDICTIONS", "CN")
    invoke("daily", "--as-of", DAY, "--out", str(tmp_path / "cn"))

    own = read_csv(tmp_path / "own" / "contacts.csv")
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


def test_a_bad_lender_jurisdiction_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARREARS_LENDER_JURISDICTIONS", "CN,china")
    with pytest.raises(SettingsError, match=r"ARREARS_LENDER_JURISDICTIONS: .*'china'"):
        load_settings()
    monkeypatch.setattr(sys, "argv", ["arrears", "rules", "list"])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "ARREARS_LENDER_JURISDICTIONS" in err and "Traceback" not in err
    monkeypatch.setenv("ARREARS_LENDER_JURISDICTIONS", " GB , IE ")
    assert load_settings().lender_codes == ("GB", "IE")
