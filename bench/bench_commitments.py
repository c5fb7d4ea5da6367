"""Benchmark: reviewing promises to pay and repayment plans (what `arrears daily` does first).

A generated portfolio is imported into a fresh ledger; one commitment is written per account
(odd accounts a promise, even accounts a 6-installment plan), then the review runs as of
2026-11-30 in two scenarios:

* ``unchanged``: everything is due after the review date and above what was paid, so nothing
  changes (the usual day: the review reads and evaluates every open commitment);
* ``all change``: everything fell due in October and November and the amounts are above what
  was paid, so every promise and plan is broken (writes a status and a history row each).

Figures go to ``docs/benchmarks.md`` ("Commitments review"). Usage::

    .venv/bin/python bench/bench_commitments.py [--accounts 20000] [--db-url sqlite|URL ...]

Each ``--db-url`` is an empty ledger (``sqlite``: a fresh SQLite file, the default); give it
twice to measure SQLite and PostgreSQL in one section.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import textwrap
import time
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_daily import machine, update_doc

from arrears.adapters.clock import SystemClock
from arrears.adapters.db.engine import create_engine
from arrears.adapters.db.tables import (
    accounts,
    commitment_events,
    plan_installments,
    promises,
    repayment_plans,
)
from arrears.adapters.portfolio.synthetic import generate_portfolio
from arrears.bootstrap import import_frames_into, review_for_daily
from arrears.domain.plans import DEFAULT_OFFER_POLICY, installment_schedule

AS_OF = date(2026, 11, 30)
BIG = 10**12  # minor units no generated account has paid: nothing is kept or completed


def seed_commitments(url: str, scenario: str) -> tuple[int, int]:
    """Replace the commitment tables by one commitment per account; return (promises, plans)."""
    engine = create_engine(url)
    now = datetime.now(UTC)
    due = date(2026, 11, 20) if scenario == "all change" else date(2026, 12, 20)
    first = date(2026, 10, 15) if scenario == "all change" else date(2026, 12, 15)
    sched = installment_schedule(BIG, 6, first)
    p_rows, l_rows, i_rows, e_rows = [], [], [], []
    try:
        with engine.begin() as conn:
            for t in (commitment_events, plan_installments, repayment_plans, promises):
                conn.execute(t.delete())
            accs = conn.execute(
                sa.select(accounts.c.account_id, accounts.c.currency).order_by(
                    accounts.c.account_id
                )
            ).all()
            for k, (a, cur) in enumerate(accs):
                made = date(2026, 10, 1)
                if k % 2:
                    p_rows.append(
                        {
                            "promise_id": f"P{k}",
                            "account_id": a,
                            "currency": cur,
                            "amount_minor": BIG,
                            "made_on": made,
                            "due_on": due,
                            "channel": None,
                            "status": "pending",
                            "recorded_at": now,
                        }
                    )
                    kind, cid, event, status = "promise", f"P{k}", "PromiseMade", "pending"
                else:
                    l_rows.append(
                        {
                            "plan_id": f"L{k}",
                            "account_id": a,
                            "currency": cur,
                            "agreed_on": made,
                            "status": "kept",
                            "replans": 0,
                            "replaces": None,
                            "recorded_at": now,
                        }
                    )
                    i_rows += [
                        {
                            "plan_id": f"L{k}",
                            "seq": p.seq,
                            "due_on": p.due_on,
                            "amount_minor": p.amount_minor,
                            "principal_minor": p.principal_minor,
                            "interest_minor": p.interest_minor,
                            "fees_minor": p.fees_minor,
                        }
                        for p in sched
                    ]
                    kind, cid, event, status = "plan", f"L{k}", "PlanAgreed", "kept"
                e_rows.append(
                    {
                        "kind": kind,
                        "commitment_id": cid,
                        "account_id": a,
                        "event": event,
                        "status": status,
                        "event_on": made,
                        "recorded_at": now,
                    }
                )
            for table, rows in (
                (promises, p_rows),
                (repayment_plans, l_rows),
                (plan_installments, i_rows),
                (commitment_events, e_rows),
            ):
                if rows:
                    conn.execute(table.insert(), rows)
    finally:
        engine.dispose()
    return len(p_rows), len(l_rows)


def review_once(url: str) -> tuple[float, int, int]:
    """Seconds for one review, accounts held (plan kept), history rows written."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            before = conn.execute(sa.select(sa.func.count()).select_from(commitment_events))
            n0 = int(before.scalar_one())
        t0 = time.perf_counter()
        active = review_for_daily(engine, AS_OF, DEFAULT_OFFER_POLICY, SystemClock())
        seconds = time.perf_counter() - t0
        with engine.connect() as conn:
            after = conn.execute(sa.select(sa.func.count()).select_from(commitment_events))
            n1 = int(after.scalar_one())
    finally:
        engine.dispose()
    return seconds, len(active), n1 - n0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=20_000)
    ap.add_argument(
        "--db-url",
        action="append",
        help="empty ledger URL, or sqlite for a fresh SQLite file (repeatable; default sqlite)",
    )
    args = ap.parse_args()
    load = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for given in args.db_url or ["sqlite"]:
            url = f"sqlite:///{tmp}/ledger.db" if given == "sqlite" else given
            frames = generate_portfolio(args.accounts, AS_OF, seed=7)
            import_frames_into(url, frames, f"{args.accounts:064x}", "bench", SystemClock())
            del frames
            backend = sa.engine.make_url(url).get_backend_name()
            for scenario in ("unchanged", "all change"):
                n_promises, n_plans = seed_commitments(url, scenario)
                seconds, held, written = review_once(url)
                print(
                    f"{scenario}: {n_promises:,} promises + {n_plans:,} plans reviewed in "
                    f"{seconds:.2f} s; {held:,} held, {written:,} history rows",
                    flush=True,
                )
                rows.append((scenario, n_promises, n_plans, seconds, held, written, backend))
    load = max(load, os.getloadavg()[0])
    intro = (
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()}; load average up to {load:.1f} "
        "(the machine was shared with other jobs, so the figures are upper bounds). "
        f"Generated portfolio of {args.accounts:,} accounts (seed 7), one open commitment per "
        "account (half promises, half 6-installment plans); `review_for_daily` (what "
        "`arrears daily` runs before planning: review as of 2026-11-30, store the changes and "
        "their history, return the accounts with a kept plan), one transaction. `unchanged`: "
        "nothing due yet; `all change`: every promise and plan broken."
    )
    section = (
        "## Commitments review (`bench/bench_commitments.py`)\n\n"
        + textwrap.fill(intro, 100)
        + "\n\n"
        "| scenario | backend | promises | plans | review (s) | plans kept | history rows |\n"
        "|---|---|---:|---:|---:|---:|---:|\n"
        + "".join(
            f"| {s} | {b} | {p:,} | {pl:,} | {sec:.2f} | {h:,} | {w:,} |\n"
            for s, p, pl, sec, h, w, b in rows
        )
        + "\nA ledger with no commitment adds two short queries to the daily run.\n"
    )
    update_doc(section, "## Commitments review")


if __name__ == "__main__":
    main()
