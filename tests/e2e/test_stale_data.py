"""A plan dated long after the ledger's newest record is flagged (stale data), not silent."""

from __future__ import annotations

import json

import pytest
from tests.cli_kit import DAY, planned_ledger
from typer.testing import CliRunner

from arrears.cli.main import app


def test_a_fresh_plan_is_not_flagged(tmp_path, monkeypatch):
    planned_ledger(tmp_path, monkeypatch)
    summary = json.loads((tmp_path / "before" / "summary.json").read_text())
    fresh = summary["data_freshness"]
    assert fresh["stale"] is False and 0 <= fresh["days_before_plan"] <= 35
    assert fresh["newest_record"] <= DAY


@pytest.mark.parametrize(("as_of", "stale"), [("2027-01-04", False), ("2027-03-01", True)])
def test_a_plan_months_after_the_snapshot_warns(tmp_path, monkeypatch, as_of, stale):
    planned_ledger(tmp_path, monkeypatch)
    before = json.loads((tmp_path / "before" / "summary.json").read_text())["data_freshness"]
    r = CliRunner().invoke(app, ["daily", "--as-of", as_of, "--out", str(tmp_path / "late")])
    assert r.exit_code == 0, r.output
    fresh = json.loads((tmp_path / "late" / "summary.json").read_text())["data_freshness"]
    assert fresh["newest_record"] == before["newest_record"]
    assert fresh["stale"] is stale
    said = " ".join(r.output.split())  # rich wraps lines
    assert ("assume nothing was paid since" in said) is stale
    if stale:
        assert before["newest_record"] in said
