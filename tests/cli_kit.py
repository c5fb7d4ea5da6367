"""Helpers for end-to-end tests that drive the CLI on a generated portfolio."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arrears.cli.main import app

SNAPSHOT = "2026-11-30"  # the generated portfolio's snapshot date
DAY = "2026-12-01"  # the plan date (a Tuesday)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def planned_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out: str = "before"
) -> list[dict[str, str]]:
    """A SQLite ledger in ``tmp_path`` holding a generated 200-account portfolio (its files in
    ``tmp_path/pf``), planned for DAY into ``tmp_path/out``; returns that contacts.csv."""
    monkeypatch.setenv("ARREARS_DATABASE_URL", f"sqlite:///{tmp_path}/ledger.db")
    runner = CliRunner()
    for args in (
        ["generate", "--accounts", "200", "--out", str(tmp_path / "pf"), "--as-of", SNAPSHOT],
        ["import", str(tmp_path / "pf")],
        ["daily", "--as-of", DAY, "--out", str(tmp_path / out)],
    ):
        r = runner.invoke(app, args)
        assert r.exit_code == 0, r.output
    return read_csv(tmp_path / out / "contacts.csv")


def set_borrower_cell(folder: Path, borrower_id: str, column: str, value: str) -> None:
    """Set one cell of ``folder/borrowers.csv`` (adding the column, empty elsewhere)."""
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


def channel_line(explained: str, channel: str) -> str:
    """The line of ``arrears explain`` output about ``channel`` (indented two spaces: reasons
    are indented further, and their wrapped continuations not at all)."""
    return next(x for x in explained.splitlines() if x.startswith(f"  {channel} "))
