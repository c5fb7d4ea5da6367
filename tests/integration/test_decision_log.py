"""The decision log (table ``decisions``) on SQLite and PostgreSQL: what the daily run recorded
per account and plan date, read back exactly; a re-run of a date replaces that date only."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from sqlalchemy.engine import Engine

from arrears.adapters.db.decisions import DECISION_LOG_SCHEMA, load_decisions, record_decisions

D1 = date(2026, 11, 30)
D2 = date(2026, 12, 1)


def _rows(plan_date: date, n: int, treatment: str = "sms") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "plan_date": [plan_date] * n,
            "account_id": [f"A{i:05d}" for i in range(n)],
            "borrower_id": [f"B{i:05d}" for i in range(n)],
            "strategy": ["default"] * n,
            "strategy_arm": ["champion" if i % 3 else "challenger" for i in range(n)],
            "segment": ["early"] * n,
            "treatment": [treatment] * n,
            "bucket": ["M1"] * n,
            "dpd": list(range(1, n + 1)),
            "arrears_minor": [1000 * i + 7 for i in range(n)],
            "currency": ["TWD" if i % 2 else "CNY" for i in range(n)],
            "score": [None if i == 0 else i / (n + 1) for i in range(n)],
            "extra": ["ignored"] * n,
        },
        schema_overrides={"score": pl.Float64},
    )


def test_recorded_decisions_read_back_exactly(ledger_engine: Engine) -> None:
    rows = _rows(D1, 45_000)  # more than two insert batches of 20,000
    with ledger_engine.begin() as conn:
        assert record_decisions(conn, D1, rows) == 45_000
    with ledger_engine.connect() as conn:
        back = load_decisions(conn, D1, D1)
    expected = rows.select(list(DECISION_LOG_SCHEMA)).sort("account_id")
    assert back.schema == pl.Schema(DECISION_LOG_SCHEMA)
    assert back.equals(expected)
    assert back["score"][0] is None


def test_rerun_replaces_that_date_only(ledger_engine: Engine) -> None:
    with ledger_engine.begin() as conn:
        record_decisions(conn, D1, _rows(D1, 10))
        record_decisions(conn, D2, _rows(D2, 10))
        record_decisions(conn, D1, _rows(D1, 4, treatment="call"))
    with ledger_engine.connect() as conn:
        d1 = load_decisions(conn, D1, D1)
        d2 = load_decisions(conn, D2, D2)
    assert d1.height == 4 and set(d1["treatment"]) == {"call"}
    assert d2.height == 10 and set(d2["treatment"]) == {"sms"}


def test_bad_rows_are_refused_and_change_nothing(ledger_engine: Engine) -> None:
    with ledger_engine.begin() as conn:
        record_decisions(conn, D1, _rows(D1, 3))
    with pytest.raises(ValueError, match="plan date"), ledger_engine.begin() as conn:
        record_decisions(conn, D1, _rows(D2, 2))
    with pytest.raises(ValueError, match="lack columns"), ledger_engine.begin() as conn:
        record_decisions(conn, D1, _rows(D1, 2).drop("segment"))
    with ledger_engine.connect() as conn:
        assert load_decisions(conn, D1, D1).height == 3


def test_empty_day_clears_the_date(ledger_engine: Engine) -> None:
    with ledger_engine.begin() as conn:
        record_decisions(conn, D1, _rows(D1, 3))
        assert record_decisions(conn, D1, _rows(D1, 0)) == 0
    with ledger_engine.connect() as conn:
        assert load_decisions(conn, D1, D1).height == 0
