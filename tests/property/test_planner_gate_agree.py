"""Differential test: the batch planner and the gate's evaluate() agree on contact times.

The planner checks hours and no-contact days once per (jurisdiction, zone, channel) with the same
domain code the gate uses. Here every planned contact is put to evaluate() at the start and at
the last second of its window (a borrower with no history and no flags, so only the time rules
can speak): it must pass. Every contact the planner refused for a time rule must be refused by
evaluate() at every hour of that local day, naming the same rule.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from arrears.adapters.portfolio.synthetic import generate_portfolio
from arrears.adapters.rulepacks import is_public_holiday, load_packs
from arrears.domain.compliance.check import candidate_zones
from arrears.domain.compliance.engine import Attempt, BorrowerState, evaluate
from arrears.pipeline.plan import plan_contacts

RULES = Path(__file__).resolve().parents[2] / "rules"
PACKS = load_packs(RULES)
TIME_RULE_TYPES = {"contact_hours", "no_contact_days"}
TIME_RULES = {r.id for p in PACKS for r in p.rules if r.type in TIME_RULE_TYPES}


def planned(day: date) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    frames = generate_portfolio(3000, day, seed=11)
    borrowers = frames.borrowers
    decisions = frames.accounts.select("account_id", "borrower_id").with_columns(
        pl.lit("plan_offer").alias("treatment"),  # call + email for everyone
        pl.lit(0.5).alias("score"),
        pl.lit(10_000, dtype=pl.Int64).alias("arrears_minor"),
    )
    empty_history = frames.contact_history.clear()
    contacts, blocked = plan_contacts(
        decisions, borrowers, empty_history, day, PACKS, is_public_holiday
    )
    return contacts, blocked, borrowers


def state(row: dict) -> BorrowerState:
    return BorrowerState(row["borrower_id"], row["jurisdiction"], row["timezone"] or None)


@pytest.mark.parametrize("day", [date(2026, 11, 29), date(2026, 11, 30), date(2026, 3, 8)])
def test_planner_and_gate_agree_on_time_rules(day: date) -> None:
    contacts, blocked, borrowers = planned(day)
    info = {r["borrower_id"]: r for r in borrowers.iter_rows(named=True)}
    assert contacts.height > 0
    # one contact per (jurisdiction, zone, channel) is enough: the planner decides per combo
    reps = contacts.unique(subset=["jurisdiction", "borrower_timezone", "channel"], keep="first")
    for c in reps.iter_rows(named=True):
        b = state(info[c["borrower_id"]])
        start = datetime.fromisoformat(c["window_start"]).astimezone(UTC)
        end = datetime.fromisoformat(c["window_end"]).astimezone(UTC)
        for at in (start, end - timedelta(seconds=1)):
            d = evaluate(
                Attempt(b.borrower_id, c["account_id"], c["channel"], at),
                [],
                b,
                PACKS,
                is_public_holiday,
            )
            assert d.allowed, (c, at, d.rule_ids, d.reasons)
    time_blocked = blocked.filter(
        pl.col("rule_ids").str.split("|").list.eval(pl.element().is_in(list(TIME_RULES))).list.any()
    )
    reps = time_blocked.unique(
        subset=["jurisdiction", "borrower_timezone", "channel"], keep="first"
    )
    for c in reps.iter_rows(named=True):
        b = state(info[c["borrower_id"]])
        planner_rules = set(c["rule_ids"].split("|"))
        zone = ZoneInfo(candidate_zones(b.jurisdiction, b.timezone)[0])
        for hour in range(24):
            at = datetime(day.year, day.month, day.day, hour, 30, tzinfo=zone).astimezone(UTC)
            d = evaluate(
                Attempt(b.borrower_id, c["account_id"], c["channel"], at),
                [],
                b,
                PACKS,
                is_public_holiday,
            )
            assert not d.allowed, (c, at)
        # the rules that close the whole day are the ones the planner named
        noon = datetime(day.year, day.month, day.day, 12, 0, tzinfo=zone).astimezone(UTC)
        d = evaluate(
            Attempt(b.borrower_id, c["account_id"], c["channel"], noon),
            [],
            b,
            PACKS,
            is_public_holiday,
        )
        assert set(d.rule_ids) & planner_rules, (c, d.rule_ids)
