"""Champion/challenger report: Wilson interval, cure, collected and contacts per arm."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest

from arrears.pipeline.arms_report import arms_report, mean_interval, wilson_interval


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(5, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.2366, 0.7634)
    lo, hi = wilson_interval(0, 20)
    assert lo == 0.0 and round(hi, 4) == 0.1611
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def test_mean_interval():
    m, lo, hi = mean_interval([Decimal(1), Decimal(3)])
    assert m == 2 and lo < 2 < hi
    assert hi - m == Decimal("1.96") * Decimal(2).sqrt() / Decimal(2).sqrt()


def _log(rows):
    return pl.DataFrame(
        rows,
        schema={
            "plan_date": pl.Date,
            "account_id": pl.String,
            "strategy_arm": pl.String,
            "currency": pl.String,
        },
        orient="row",
    )


def test_arms_report_counts_cures_payments_and_contacts():
    d1, d2 = date(2026, 3, 1), date(2026, 3, 2)
    log = _log(
        [
            (d1, "A", "champion", "USD"),
            (d1, "B", "champion", "USD"),
            (d1, "C", "challenger", "USD"),
            (d2, "B", "champion", "USD"),  # still in arrears: not cured
            (d2, "D", "challenger", "USD"),  # entered on the last day: not followed
        ]
    )
    payments = pl.DataFrame(
        {
            "account_id": ["A", "A", "C"],
            "paid_on": [date(2026, 3, 2), date(2026, 3, 1), date(2026, 3, 2)],
            "amount_minor": [10_000, 999, 2_500],
        }
    )
    contacts = pl.DataFrame(
        {
            "account_id": ["A", "A", "B", "C"],
            "direction": ["outbound", "inbound", "outbound", "outbound"],
            "started_at": [datetime(2026, 3, 1, 9, tzinfo=UTC)] * 4,
        }
    )
    rep = arms_report(log, payments, contacts, d1, d2)
    arms = {r["strategy_arm"]: r for r in rep.arms.iter_rows(named=True)}
    assert (arms["champion"]["accounts"], arms["champion"]["followed"]) == (2, 2)
    assert arms["champion"]["cured"] == 1 and arms["champion"]["cure_rate"] == 0.5
    assert (arms["challenger"]["accounts"], arms["challenger"]["followed"]) == (2, 1)
    assert arms["challenger"]["cured"] == 1
    assert arms["champion"]["contacts_per_account"] == 1.0  # A: 1 outbound, B: 1
    coll = {r["strategy_arm"]: r for r in rep.collected.iter_rows(named=True)}
    # the payment on the entry day itself does not count
    assert coll["champion"]["collected_total"] == "100.00"
    assert coll["champion"]["collected_mean"] == "50.00"
    assert coll["challenger"]["collected_total"] == "25.00"
    assert rep.plan_dates == 2
    with pytest.raises(ValueError, match="after"):
        arms_report(log, payments, contacts, d2, d1)
