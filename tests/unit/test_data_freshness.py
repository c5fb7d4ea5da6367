"""data_freshness: the newest dated record on or before the plan date, and the stale flag."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl

from arrears.adapters.portfolio.schema import FRAME_SCHEMAS, PortfolioFrames
from arrears.pipeline.daily import STALE_AFTER_DAYS, data_freshness


def frames_with(**rows: list[dict]) -> PortfolioFrames:
    empty = PortfolioFrames.empty()
    parts = {n: f for n, f in empty.items()}
    for name, data in rows.items():
        schema = FRAME_SCHEMAS[name]
        parts[name] = pl.DataFrame(
            [{c: r.get(c) for c in schema} for r in data], schema=schema, orient="row"
        )
    return PortfolioFrames(**parts)


def test_no_dated_record_is_stale():
    assert data_freshness(PortfolioFrames.empty(), date(2026, 12, 1)) == {
        "newest_record": None,
        "days_before_plan": None,
        "stale": True,
    }


def test_newest_of_payments_statements_and_cycles_not_contacts():
    """A recent call must not hide a payments feed that stopped."""
    frames = frames_with(
        payments=[{"payment_id": "P1", "account_id": "A1", "paid_on": date(2026, 10, 1)}],
        statements=[{"account_id": "A1", "statement_date": date(2026, 10, 20)}],
        contact_history=[
            {"contact_id": "C1", "started_at": datetime(2026, 11, 20, 9, 0, tzinfo=UTC)},
        ],
    )
    got = data_freshness(frames, date(2026, 11, 24))
    assert got == {"newest_record": "2026-10-20", "days_before_plan": 35, "stale": False}
    later = data_freshness(frames, date(2026, 11, 25))
    assert later["days_before_plan"] == STALE_AFTER_DAYS + 1 and later["stale"] is True
    # records after the plan date do not count
    assert data_freshness(frames, date(2026, 10, 10))["newest_record"] == "2026-10-01"
