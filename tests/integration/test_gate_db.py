"""The gate on SQLite and PostgreSQL: reservations, history, outcomes, the audit chain and
tampering with it through SQL (which ``audit verify`` must catch)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from tests.gate_db import cap_violations, seed_borrowers
from tests.gate_packs import DAILY_CAP, ZONE, no_holidays, zz_pack

from arrears.adapters.clock import FixedClock
from arrears.adapters.db.engine import create_engine
from arrears.adapters.db.gate_repo import (
    SqlAuditLog,
    SqlGateUnitOfWork,
    history_as_of,
    load_borrower_state,
)
from arrears.adapters.db.migrate import downgrade_to_base, upgrade_to_head
from arrears.adapters.db.tables import UtcDateTime, contact_history
from arrears.domain.audit import (
    AUDIT_CHAINS,
    GENESIS_HASH,
    AuditHeadMissing,
    ChainReport,
    canonical_json,
    chain_of,
    entry_hash,
    verify_chain,
)
from arrears.domain.compliance.engine import Attempt, BorrowerState
from arrears.services.gate import ContactGate

NOW = datetime(2026, 3, 2, 1, 0, 0, 123456, tzinfo=UTC)  # 09:00 Shanghai
STATE = BorrowerState("B1", "ZZ", ZONE)


def gate_on(engine: Engine) -> ContactGate:
    return ContactGate(lambda: SqlGateUnitOfWork(engine), [zz_pack()], no_holidays, FixedClock(NOW))


def verify(engine: Engine) -> ChainReport:
    with engine.connect() as conn:
        log = SqlAuditLog(conn)
        return verify_chain(log.entries(), log.heads(), chains=AUDIT_CHAINS)


def tamper(engine: Engine, *statements: str) -> None:
    with engine.begin() as conn:
        pg = conn.dialect.name == "postgresql"
        if pg:  # an attacker with DDL rights first switches the guard off
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        for s in statements:
            conn.exec_driver_sql(s)
        if pg:
            conn.exec_driver_sql("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")


@pytest.fixture
def gated(ledger_engine: Engine) -> tuple[Engine, ContactGate]:
    seed_borrowers(ledger_engine, ["B1", "B2"])
    return ledger_engine, gate_on(ledger_engine)


def six_entries(gate: ContactGate) -> None:
    """Six audit entries: 4 decisions (3 allowed, 1 blocked), an outcome, a cancellation."""
    ids = [
        gate.attempt(Attempt("B1", "A1", "call", NOW + timedelta(minutes=i)), STATE)
        for i in range(4)
    ]
    assert [r.reservation_id is not None for r in ids] == [True, True, True, False]
    first, second = ids[0].reservation_id, ids[1].reservation_id
    assert first is not None and second is not None
    gate.record_outcome(first, "rpc", conversation=True)
    gate.cancel(second, "拨号器故障 (dialler fault)")


def test_gate_reserves_audits_and_verifies(gated: tuple[Engine, ContactGate]) -> None:
    engine, gate = gated
    six_entries(gate)
    report = verify(engine)
    assert report.ok, report.reason
    assert report.entries == 6 and report.head_seq == 6
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT id, status, outcome, conversation, decision_audit_seq "
                    "FROM contact_ledger ORDER BY id")
        ).all()  # fmt: skip
        kinds = conn.execute(sa.text("SELECT kind FROM audit_log ORDER BY seq")).scalars().all()
    assert [(r[1], r[2], bool(r[3]), r[4]) for r in rows] == [
        ("completed", "rpc", True, 1),
        ("cancelled", None, False, 2),
        ("reserved", None, False, 3),
    ]
    assert kinds == ["decision"] * 4 + ["outcome"] * 2
    # the cancelled reservation no longer counts: one more call fits today
    assert gate.attempt(
        Attempt("B1", "A1", "call", NOW + timedelta(minutes=9)), STATE
    ).decision.allowed


def test_history_reads_the_ledger_and_imported_contacts(gated: tuple[Engine, ContactGate]) -> None:
    engine, gate = gated
    with engine.begin() as conn:
        conn.execute(
            contact_history.insert(),
            [
                {"contact_id": f"C{i}", "borrower_id": "B1", "account_id": "A1",
                 "channel": "call", "direction": "outbound",
                 "started_at": NOW - timedelta(minutes=30 + i),
                 "outcome": "no_answer", "agent_id": "agency-x"}
                for i in range(DAILY_CAP - 1)
            ]
            + [{"contact_id": "IN", "borrower_id": "B1", "account_id": None, "channel": "call",
                "direction": "inbound", "started_at": NOW - timedelta(minutes=5),
                "outcome": "rpc", "agent_id": None}],
        )  # fmt: skip
    hist = gate.history("B1", NOW)
    assert [(h.agency_id, h.outcome) for h in hist] == [("agency-x", "no_answer")] * 2
    assert hist[0].at.tzinfo is not None
    first = gate.attempt(Attempt("B1", "A1", "call", NOW), STATE)
    second = gate.attempt(Attempt("B1", "A1", "call", NOW + timedelta(minutes=1)), STATE)
    assert first.decision.allowed and not second.decision.allowed
    assert second.decision.rule_ids == ("ZZ.DAILY",)
    with engine.connect() as conn:
        state = load_borrower_state(conn, "B1")
        assert state is not None and (state.jurisdiction, state.timezone) == ("ZZ", ZONE)
        assert load_borrower_state(conn, "nobody") is None
        # as of the first decision, only the imported contacts existed
        before = history_as_of(conn, "B1", NOW - timedelta(days=1), NOW + timedelta(days=1),
                               before_seq=first.audit_seq, as_of=NOW)  # fmt: skip
        after = history_as_of(conn, "B1", NOW - timedelta(days=1), NOW + timedelta(days=1),
                              before_seq=second.audit_seq, as_of=NOW)  # fmt: skip
    assert len(before) == 2 and len(after) == 3 and after[-1].outcome == "reserved"


def test_unit_of_work_rolls_back_unless_committed(ledger_engine: Engine) -> None:
    seed_borrowers(ledger_engine, ["B1"])
    with SqlGateUnitOfWork(ledger_engine) as uow:
        seq = uow.audit.append("decision", "B1", "{}", NOW)
        uow.contacts.reserve(Attempt("B1", None, "sms", NOW), NOW, seq)
    with ledger_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM contact_ledger")).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar() == 0
        assert SqlAuditLog(conn).heads()[chain_of("B1")] == (0, GENESIS_HASH)
    with SqlGateUnitOfWork(ledger_engine) as uow:
        seq = uow.audit.append("decision", "B1", "{}", NOW)
        uow.commit()
    # PostgreSQL's sequence does not roll back: the rolled-back entry leaves a gap there.
    assert seq == (2 if ledger_engine.dialect.name == "postgresql" else 1)
    assert verify(ledger_engine).ok


def test_verify_finds_an_altered_payload(gated: tuple[Engine, ContactGate]) -> None:
    engine, gate = gated
    six_entries(gate)
    tamper(engine, "UPDATE audit_log SET payload = replace(payload, 'true', 'false') WHERE seq = 2")
    report = verify(engine)
    assert (report.ok, report.first_bad_seq) == (False, 2)
    assert "hash does not match" in report.reason


def test_verify_finds_a_deleted_entry(gated: tuple[Engine, ContactGate]) -> None:
    engine, gate = gated
    six_entries(gate)
    tamper(engine, "DELETE FROM audit_log WHERE seq = 4")
    report = verify(engine)
    assert (report.ok, report.first_bad_seq) == (False, 5)  # the next entry of B1's chain
    assert "missing" in report.reason


def test_verify_finds_a_deleted_last_entry(gated: tuple[Engine, ContactGate]) -> None:
    engine, gate = gated
    six_entries(gate)
    tamper(engine, "DELETE FROM audit_log WHERE seq = 6")
    report = verify(engine)
    assert (report.ok, report.first_bad_seq) == (False, 6)


def test_verify_finds_a_chain_deleted_with_its_head(gated: tuple[Engine, ContactGate]) -> None:
    engine, gate = gated
    six_entries(gate)
    chain = chain_of("B1")
    tamper(engine, f"DELETE FROM audit_log WHERE chain = {chain}")
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_head WHERE chain = :c"), {"c": chain})
    report = verify(engine)
    assert not report.ok and f"chain {chain} has no head row" in report.reason
    # and the gate refuses to write to that chain, writing nothing
    with pytest.raises(AuditHeadMissing, match=f"audit chain {chain} has no head row"):
        gate.attempt(Attempt("B1", "A1", "sms", NOW), STATE)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM contact_ledger")).scalar() == 3


def test_verify_finds_swapped_entries(gated: tuple[Engine, ContactGate]) -> None:
    engine, gate = gated
    six_entries(gate)
    tamper(
        engine,
        "UPDATE audit_log SET seq = -2 WHERE seq = 2",
        "UPDATE audit_log SET seq = 2 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = -2",
    )
    report = verify(engine)
    assert (report.ok, report.first_bad_seq) == (False, 2)
    assert "prev_hash" in report.reason


@pytest.mark.postgres
@pytest.mark.xdist_group("pg")
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_postgres_refuses_update_delete_truncate_of_the_audit_log(
    gated: tuple[Engine, ContactGate],
) -> None:
    """PostgreSQL only: the trigger guard (on SQLite, verify is the only guard)."""
    engine, gate = gated
    assert engine.dialect.name == "postgresql"
    six_entries(gate)
    for stmt in (
        "UPDATE audit_log SET payload = '{}' WHERE seq = 1",
        "DELETE FROM audit_log WHERE seq = 1",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.exec_driver_sql(stmt)
    assert verify(engine).ok


def test_concurrent_writers_on_sqlite_and_postgres_keep_caps_and_chain(
    ledger_engine: Engine,
) -> None:
    """Small concurrency test (both backends): 4 threads, 40 attempts each, 3 borrowers."""
    ids = ["B1", "B2", "B3"]
    seed_borrowers(ledger_engine, ids)
    gate = gate_on(ledger_engine)
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for i in range(40):
                b = ids[(i + k) % 3]
                at = NOW + timedelta(hours=(i * 7 + k) % 30, minutes=k)
                gate.attempt(Attempt(b, "A1", "call", at), BorrowerState(b, "ZZ", ZONE))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert cap_violations(ledger_engine) == []
    report = verify(ledger_engine)
    assert report.ok and report.entries == 160
    with ledger_engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM contact_ledger")).scalar()
    assert n is not None and 0 < n < 160


def test_a_single_chain_log_upgrades_to_chains_and_still_verifies(db_url: str) -> None:
    """Migration 0006: entries written as one chain (before it) become chain 0 untouched;
    later entries go to their borrowers' chains; the whole log verifies; downgrading is
    refused once another chain holds entries."""
    from alembic import command

    from arrears.adapters.db.migrate import alembic_config

    command.upgrade(alembic_config(db_url), "0005")
    engine = create_engine(db_url)
    prev, legacy = GENESIS_HASH, []
    with engine.begin() as conn:  # three entries by the single-chain formula of 0002
        for seq in (1, 2, 3):
            payload = canonical_json({"legacy": seq})
            at = NOW + timedelta(seconds=seq)
            digest = entry_hash(prev, payload, seq, at)
            legacy.append(digest)
            conn.execute(
                sa.text(
                    "INSERT INTO audit_log (seq, at, kind, borrower_id, payload, prev_hash, hash)"
                    " VALUES (:s, :at, 'decision', 'B9', :p, :prev, :h)"
                ).bindparams(sa.bindparam("at", type_=UtcDateTime())),
                {"s": seq, "at": at, "p": payload, "prev": prev, "h": digest},
            )
            prev = digest
        conn.execute(
            sa.text("INSERT INTO audit_head (id, seq, hash, prev_hash) VALUES (1, 3, :h, :p)"),
            {"h": legacy[-1], "p": legacy[-2]},
        )
    upgrade_to_head(db_url)
    assert verify(engine).ok
    seed_borrowers(engine, ["B1", "B2"])
    gate = gate_on(engine)
    for b in ("B1", "B2", "B1"):
        gate.attempt(Attempt(b, "A1", "sms", NOW), BorrowerState(b, "ZZ", ZONE))
    report = verify(engine)
    assert report.ok and report.entries == 6
    assert report.heads[0] == (3, legacy[-1])  # the old chain, as it was
    assert set(report.heads) == {0, chain_of("B1"), chain_of("B2")}
    assert report.head_seq == 6  # numbering goes on after the old entries
    with pytest.raises(RuntimeError, match="chains other than 0"):
        downgrade_to_base(db_url)
    engine.dispose()


def test_downgrading_a_log_with_gaps_in_its_numbering_is_refused(ledger_engine: Engine) -> None:
    """Below 0006 the verifier wants seq 1, 2, 3 ... (PostgreSQL leaves gaps on rollback)."""
    from alembic import command

    from arrears.adapters.db.migrate import alembic_config

    url = ledger_engine.url.render_as_string(hide_password=False)
    log = [(1, GENESIS_HASH), (3, "")]
    with ledger_engine.begin() as conn:  # chain 0 only, entries 1 and 3 (2 rolled back)
        prev = GENESIS_HASH
        for seq, _ in log:
            digest = entry_hash(prev, "{}", seq, NOW)
            conn.execute(
                sa.text(
                    "INSERT INTO audit_log (seq, at, kind, borrower_id, payload, prev_hash, hash,"
                    " chain) VALUES (:s, :at, 'replay', NULL, '{}', :prev, :h, 0)"
                ).bindparams(sa.bindparam("at", type_=UtcDateTime())),
                {"s": seq, "at": NOW, "prev": prev, "h": digest},
            )
            prev = digest
        conn.execute(
            sa.text("UPDATE audit_head SET seq = 3, hash = :h WHERE chain = 0"), {"h": prev}
        )
    assert verify(ledger_engine).ok
    with pytest.raises(RuntimeError, match="gaps in its numbering"):
        command.downgrade(alembic_config(url), "0005")


@pytest.mark.postgres
@pytest.mark.xdist_group("pg")
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_chain_of_formula_in_sql_matches_python(ledger_engine: Engine) -> None:
    """The SQL form of chain_of (documented, used by the benchmark's pgbench script)."""
    ids = ["B000001", "B099999", "借款人-7", "x"]
    sql = (
        "SELECT ('x' || left(encode(sha256(convert_to(:b, 'UTF8')), 'hex'), 8))::bit(32)"
        "::bigint % 64"
    )
    with ledger_engine.connect() as conn:
        got = [conn.execute(sa.text(sql), {"b": b}).scalar_one() for b in ids]
    assert got == [chain_of(b) for b in ids]


def test_recording_duty_is_stored_with_the_reservation_and_the_recording_later(
    ledger_engine: Engine,
) -> None:
    """TW.RECORDING.RETENTION through the real adapter (on PostgreSQL its one-round-trip
    decision statement): keep-until set at reservation, the reference taken later, the
    register reads both."""
    from pathlib import Path

    from arrears.adapters.db.gate_repo import recording_rows
    from arrears.adapters.rulepacks import is_public_holiday, load_packs

    seed_borrowers(ledger_engine, ["T1"], jurisdiction="TW")
    packs = load_packs(Path(__file__).resolve().parents[2] / "rules")
    noon = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # 12:00 in Taipei
    gate = ContactGate(
        lambda: SqlGateUnitOfWork(ledger_engine), packs, is_public_holiday, FixedClock(noon)
    )
    tw = BorrowerState("T1", "TW", "Asia/Taipei")
    call = gate.attempt(Attempt("T1", "A1", "call", noon), tw).reservation_id
    sms = gate.attempt(Attempt("T1", "A1", "sms", noon), tw).reservation_id
    assert call is not None and sms is not None
    gate.record_outcome(call, "rpc", conversation=True)
    with ledger_engine.connect() as conn:
        (row,) = recording_rows(conn)  # the SMS has no duty
    assert (row["id"], row["keep_recording_until"], row["recording_ref"]) == (
        call,
        datetime(2027, 6, 1, 4, 0, tzinfo=UTC),
        None,
    )
    gate.attach_recording(call, "rec-0001")
    with ledger_engine.connect() as conn:
        (row,) = recording_rows(conn)
    assert row["recording_ref"] == "rec-0001"
    assert verify(ledger_engine).ok
