"""Portfolio report: the roll-rate matrix of the UCI file equals the transitions counted apart."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from arrears.adapters.portfolio.synthetic import uci_transition_matrix
from arrears.adapters.portfolio.uci import UCI_AS_OF, UCIFormatError, load_uci
from arrears.adapters.portfolio.uci_history import uci_status_history
from arrears.pipeline.portfolio_report import BUCKETS, month_ends, portfolio_report

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("ARREARS_DATA_DIR") or REPO.parent / "shared" / "data")
UCI = DATA / "uci_taiwan_credit_default.csv"


def test_uci_roll_matrix_matches_the_transition_matrix() -> None:
    report = portfolio_report(
        load_uci(UCI), UCI_AS_OF, months=6, name="uci", status_history=uci_status_history(UCI)
    )
    tm = uci_transition_matrix(UCI).as_array()
    # status k months of delay -> bucket index k (M1 = 1 ... M6 = 6); the 6+ state pools M6, M6+
    rows = {r["from"]: r for r in report.roll_matrix.to_dicts()}
    for k, name in enumerate(BUCKETS[:6]):
        for j, to in enumerate(BUCKETS[:6]):
            assert rows[name][to] == pytest.approx(tm[k, j], abs=5e-5), (name, to)
    assert report.vintage.height == 0  # no opening dates in the source
    assert any("opening dates" in n for n in report.notes)
    rec = report.recovery
    assert rec.height == 5 and rec["recovery_rate"].is_between(0, 1).all()


def test_month_ends_and_bad_history(tmp_path: Path) -> None:
    from datetime import date

    assert month_ends(date(2024, 3, 15), 3) == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 15),
    ]
    bad = tmp_path / "u.csv"
    bad.write_text("ID,PAY_0,PAY_2,PAY_3,PAY_4,PAY_5,PAY_6\n1,0,0,0,x,0,0\n")
    with pytest.raises(UCIFormatError, match="line 2, column PAY_4"):
        uci_status_history(bad)
    with pytest.raises(ValueError, match="months"):
        portfolio_report(load_uci(UCI), UCI_AS_OF, months=1, status_history=pl.DataFrame())
