"""The gate after a crash: a worker killed (SIGKILL) mid-decision leaves nothing half-done.

On SQLite and PostgreSQL:

* a worker killed while it holds the borrower's lock (after reading the history, before
  deciding) must not keep the lock: the next attempt for that borrower goes through at once;
* a worker killed after writing its audit entry and reservation but before the commit leaves
  neither: the chain verifies and holds only committed entries;
* workers killed at random moments under load leave a ledger and an audit log that agree row
  for row (every reservation has its allowed decision entry, every allowed decision its one
  reservation), no cap broken, and a chain that verifies.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from tests.gate_db import cap_violations, seed_borrowers
from tests.gate_packs import ZONE, no_holidays, zz_pack

import arrears.services.gate as gate_module
from arrears.adapters.clock import SystemClock
from arrears.adapters.db.engine import create_engine
from arrears.adapters.db.gate_repo import SqlAuditLog, SqlGateUnitOfWork
from arrears.domain.audit import verify_chain
from arrears.domain.compliance.engine import Attempt, BorrowerState
from arrears.services.gate import ContactGate, GateResult

BORROWERS = [f"K{i}" for i in range(5)]
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai (ZZ allows 08-21)
FORK = multiprocessing.get_context("fork")

pytestmark = pytest.mark.parametrize(
    "db_url",
    ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres])],
    indirect=True,
)


def _gate(url: str) -> tuple[Engine, ContactGate]:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    gate = ContactGate(lambda: SqlGateUnitOfWork(engine), [zz_pack()], no_holidays, SystemClock())
    return engine, gate


def _call(b: str, minutes: int) -> tuple[Attempt, BorrowerState]:
    at = START + timedelta(minutes=minutes)
    return Attempt(b, "A1", "call", at), BorrowerState(b, "ZZ", ZONE)


def _stuck_worker(url: str, where: str, ready: Any) -> None:
    """Child: start one decision for K0 and hang at ``where`` until killed."""

    def hang(*_a: object, **_k: object) -> Any:
        ready.set()
        time.sleep(600)
        raise AssertionError("not killed")

    if where == "holding_lock":
        gate_module.evaluate = hang  # type: ignore[assignment]  # after lock + history read
    else:

        def write_then_hang(
            self: SqlGateUnitOfWork,
            attempt: Attempt,
            payload: str,
            at: datetime,
            *,
            reserve: bool,
            keep_recording_until: datetime | None = None,
        ) -> tuple[int, int | None]:
            seq = self.audit.append("decision", attempt.borrower_id, payload, at)
            self.contacts.reserve(attempt, at, seq)
            return hang()  # type: ignore[no-any-return]

        SqlGateUnitOfWork.commit_decision = write_then_hang  # type: ignore[method-assign]
    _, gate = _gate(url)
    gate.attempt(*_call("K0", 60))


def _kill(proc: Any) -> None:
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    assert proc.exitcode == -signal.SIGKILL


def _within(seconds: float, fn: Callable[[], GateResult]) -> GateResult:
    """Run ``fn`` in a thread; fail if it does not return in time (a lock left behind)."""
    box: list[Any] = []
    t = threading.Thread(target=lambda: box.append(_try(fn)), daemon=True)
    t.start()
    t.join(seconds)
    assert box, f"the next attempt did not finish within {seconds} s: a lock was left behind"
    if isinstance(box[0], BaseException):
        raise box[0]
    result: GateResult = box[0]
    return result


def _try(fn: Callable[[], GateResult]) -> GateResult | BaseException:
    try:
        return fn()
    except BaseException as exc:  # handed back to the test thread
        return exc


def _audit(engine: Engine) -> tuple[Any, list[Any]]:
    with engine.connect() as conn:
        log = SqlAuditLog(conn)
        report = verify_chain(log.entries(), log.heads())
        entries = list(log.entries())
    return report, entries


@pytest.mark.xdist_group("pg")
@pytest.mark.parametrize("where", ["holding_lock", "after_writes"])
def test_a_worker_killed_mid_decision_leaves_no_lock_and_no_trace(
    db_url: str, ledger_engine: Engine, where: str
) -> None:
    seed_borrowers(ledger_engine, BORROWERS)
    ready = FORK.Event()
    proc = FORK.Process(target=_stuck_worker, args=(db_url, where, ready))
    proc.start()
    try:
        assert ready.wait(30), "the worker never reached the point where it is killed"
    finally:
        _kill(proc)
    engine, gate = _gate(db_url)
    try:
        result = _within(20, lambda: gate.attempt(*_call("K0", 61)))
    finally:
        engine.dispose()
    assert result.decision.allowed and result.reservation_id is not None
    report, entries = _audit(ledger_engine)
    assert report.ok, report.reason
    assert [(e.kind, e.borrower_id) for e in entries] == [("decision", "K0")]
    with ledger_engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, decision_audit_seq FROM contact_ledger")).all()
    assert [tuple(r) for r in rows] == [(result.reservation_id, result.audit_seq)]


def _busy_worker(url: str, seed: int) -> None:
    """Child: gated calls at random borrowers and instants of one day, until killed."""
    _, gate = _gate(url)
    rng = random.Random(seed)
    while True:
        gate.attempt(*_call(rng.choice(BORROWERS), rng.randrange(13 * 60)))


@pytest.mark.xdist_group("pg")
def test_workers_killed_at_random_under_load_leave_ledger_and_log_in_agreement(
    db_url: str, ledger_engine: Engine
) -> None:
    seed_borrowers(ledger_engine, BORROWERS)
    rng = random.Random(7)
    for round_ in range(6):
        procs = [FORK.Process(target=_busy_worker, args=(db_url, 10 * round_ + k)) for k in (0, 1)]
        for p in procs:
            p.start()
        time.sleep(rng.uniform(0.4, 0.9))
        for p in procs:
            _kill(p)
    # the gate still works for every borrower (no lock left behind)
    engine, gate = _gate(db_url)
    try:
        for b in BORROWERS:
            _within(20, lambda b=b: gate.attempt(*_call(b, 5)))
    finally:
        engine.dispose()
    report, entries = _audit(ledger_engine)
    assert report.ok, report.reason
    decisions = {e.seq: json.loads(e.payload) for e in entries if e.kind == "decision"}
    assert len(decisions) > 2 * len(BORROWERS)  # the workers did decide before being killed
    with ledger_engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT borrower_id, channel, attempt_at, decision_audit_seq FROM contact_ledger"
            )
        ).all()
    allowed = {s for s, d in decisions.items() if d["decision"]["allowed"]}
    by_seq = {r.decision_audit_seq: r for r in rows}
    assert len(by_seq) == len(rows), "two reservations name one decision"
    assert set(by_seq) == allowed, "a reservation without its decision, or the reverse"
    for seq, r in by_seq.items():
        attempt = decisions[seq]["attempt"]
        at = (
            r.attempt_at
            if isinstance(r.attempt_at, datetime)
            else datetime.fromisoformat(r.attempt_at).replace(tzinfo=UTC)
        )
        assert (attempt["borrower_id"], attempt["channel"]) == (r.borrower_id, r.channel)
        assert datetime.fromisoformat(attempt["at"]) == at
    assert cap_violations(ledger_engine) == []
