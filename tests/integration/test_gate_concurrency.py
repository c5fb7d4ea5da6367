"""16 workers making gated attempts (1,000 each at full size) on 50 borrowers, on PostgreSQL.

Each worker is its own process with its own connection. Attempt times are spread over four
days, so most attempts hit a cap and the borrower lock is what keeps the caps: without it,
two workers reading the same history at once would both reserve the last free slot.
Afterwards the contact ledger is recounted independently (``tests.gate_db.cap_violations``)
and the audit chain must verify, with one entry per attempt.
"""

from __future__ import annotations

import multiprocessing
import os
import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool
from tests.gate_db import cap_violations, seed_borrowers
from tests.gate_packs import ZONE, no_holidays, zz_pack

from arrears.adapters.clock import SystemClock
from arrears.adapters.db.engine import create_engine
from arrears.adapters.db.gate_repo import SqlAuditLog, SqlGateUnitOfWork
from arrears.adapters.db.migrate import upgrade_to_head
from arrears.domain.audit import verify_chain
from arrears.domain.compliance.engine import Attempt, BorrowerState
from arrears.services.gate import ContactGate

WORKERS = 16
#: Attempts per worker: the issue's full size (about 40 s on this 2-core machine with each
#: worker holding one connection); ARREARS_GATE_ATTEMPTS overrides it for a quicker local run.
ATTEMPTS = int(os.environ.get("ARREARS_GATE_ATTEMPTS", "1000"))
BORROWERS = [f"B{i:02d}" for i in range(50)]
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
SPAN_MINUTES = 4 * 24 * 60


def _worker(args: tuple[str, int]) -> tuple[int, int]:
    url, seed = args
    # one connection per worker, kept across attempts, as a gate service process holds it
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        gate = ContactGate(
            lambda: SqlGateUnitOfWork(engine), [zz_pack()], no_holidays, SystemClock()
        )
        rng = random.Random(seed)
        allowed = 0
        for _ in range(ATTEMPTS):
            b = rng.choice(BORROWERS)
            at = START + timedelta(minutes=rng.randrange(SPAN_MINUTES))
            res = gate.attempt(Attempt(b, "A1", "call", at), BorrowerState(b, "ZZ", ZONE))
            allowed += res.reservation_id is not None
        return allowed, ATTEMPTS
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.xdist_group("pg")
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_16_concurrent_workers_never_break_a_cap(db_url: str) -> None:
    upgrade_to_head(db_url)
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        seed_borrowers(engine, BORROWERS)
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(WORKERS) as pool:
            results = pool.map(_worker, [(db_url, k) for k in range(WORKERS)])
        allowed = sum(a for a, _ in results)
        assert sum(n for _, n in results) == WORKERS * ATTEMPTS
        assert cap_violations(engine) == []
        with engine.connect() as conn:
            reserved = conn.execute(sa.text("SELECT count(*) FROM contact_ledger")).scalar()
            log = SqlAuditLog(conn)
            report = verify_chain(log.entries(), log.heads())
        assert report.ok, report.reason
        assert report.entries == WORKERS * ATTEMPTS
        assert reserved == allowed
        # the caps bind: 50 borrowers cannot take more than 5 calls in any 7 days each
        assert 0 < allowed <= 50 * 5
        if WORKERS * ATTEMPTS >= 1000:
            assert allowed < WORKERS * ATTEMPTS / 2
    finally:
        engine.dispose()
