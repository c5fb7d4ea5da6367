"""Database helpers for the gate tests: seed borrowers, recount caps independently."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from arrears.adapters.db.tables import borrowers
from arrears.adapters.portfolio.schema import FLAG_COLUMNS
from tests.gate_packs import DAILY_CAP, HOURS, WEEK_CAP, ZONE


def seed_borrowers(engine: Engine, ids: list[str], jurisdiction: str = "ZZ") -> None:
    """Insert minimal borrower rows (no flags, zone Asia/Shanghai)."""
    rows = [
        {
            "borrower_id": b,
            "jurisdiction": jurisdiction,
            "timezone": ZONE,
            "opt_out_channels": None,
            **dict.fromkeys(FLAG_COLUMNS, False),
        }
        for b in ids
    ]
    with engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(borrowers.insert(), rows[i : i + 5000])


def cap_violations(engine: Engine) -> list[str]:
    """Every breach of the ZZ pack in the contact ledger, recounted from raw rows.

    Independent of the engine: plain SQL rows, local hours by zoneinfo, daily counts per local
    date, and a sliding 7 x 24 h window per borrower.
    """
    zone = ZoneInfo(ZONE)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT borrower_id, attempt_at FROM contact_ledger "
                "WHERE status <> 'cancelled' AND channel = 'call'"
            )
        ).all()
    by_borrower: dict[str, list[datetime]] = defaultdict(list)
    for b, at in rows:
        if isinstance(at, str):  # raw SQLite text
            at = datetime.fromisoformat(at).replace(tzinfo=ZoneInfo("UTC"))
        by_borrower[b].append(at)
    bad: list[str] = []
    for b, times in by_borrower.items():
        times.sort()
        local = [t.astimezone(zone) for t in times]
        for t in local:
            if not HOURS[0] <= t.hour < HOURS[1]:
                bad.append(f"{b}: call at {t} outside hours")
        for day, n in Counter(t.date() for t in local).items():
            if n > DAILY_CAP:
                bad.append(f"{b}: {n} calls on {day}")
        for i, t in enumerate(times):
            n = sum(1 for u in times[i:] if u - t < timedelta(days=7))
            if n > WEEK_CAP:
                bad.append(f"{b}: {n} calls in the 7 days from {t}")
    return bad
