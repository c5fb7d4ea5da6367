"""The contact gate service on in-memory fakes: one unit of work per attempt, audit always."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from tests.fakes import FakeGateUnitOfWork, GateStore
from tests.gate_packs import DAILY_CAP, ZONE, no_holidays, zz_pack

from arrears.adapters.clock import FixedClock
from arrears.domain.audit import verify_chain
from arrears.domain.compliance.engine import Attempt, BorrowerState, PastContact
from arrears.domain.ports import Reservation
from arrears.services.gate import (
    ContactGate,
    GateError,
    attempt_from_dict,
    attempt_to_dict,
    borrower_from_dict,
    borrower_to_dict,
    is_unreachable,
)

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
B = BorrowerState("B1", "ZZ", ZONE)


def make_gate(store: GateStore, *, fail_on_append: bool = False) -> ContactGate:
    return ContactGate(
        lambda: FakeGateUnitOfWork(store, fail_on_append=fail_on_append),
        [zz_pack()],
        no_holidays,
        FixedClock(NOW),
    )


def call(at: datetime, borrower: str = "B1", channel: str = "call") -> Attempt:
    return Attempt(borrower, "A1", channel, at)


def test_allowed_attempt_is_reserved_and_audited_in_one_commit() -> None:
    store = GateStore()
    res = make_gate(store).attempt(call(NOW), B)
    assert res.decision.allowed and res.reservation_id == 1 and res.audit_seq == 1
    assert store.commits == 1 and store.locks == ["B1"]
    r = store.reservations[1]
    assert (r.status, r.decision_audit_seq, r.attempt_at) == ("reserved", 1, NOW)
    entry = store.audit[0]
    data = entry.data()
    assert entry.kind == "decision" and data["decision"]["allowed"] is True
    assert data["attempt"]["at"] == NOW.isoformat() and data["borrower"]["jurisdiction"] == "ZZ"


def test_blocked_attempt_is_audited_but_not_reserved() -> None:
    store = GateStore()
    night = NOW + timedelta(hours=14)  # 23:00 local
    res = make_gate(store).attempt(call(night), B)
    assert not res.decision.allowed and res.reservation_id is None
    assert res.decision.rule_ids == ("ZZ.HOURS",)
    assert store.reservations == {} and len(store.audit) == 1
    assert store.audit[0].data()["decision"]["rule_ids"] == ["ZZ.HOURS"]


def test_reservations_count_against_the_cap() -> None:
    store = GateStore()
    gate = make_gate(store)
    results = [gate.attempt(call(NOW + timedelta(minutes=i)), B) for i in range(DAILY_CAP + 2)]
    assert [r.decision.allowed for r in results] == [True] * DAILY_CAP + [False, False]
    assert results[-1].decision.rule_ids == ("ZZ.DAILY",)
    assert len(store.reservations) == DAILY_CAP
    assert len(store.audit) == DAILY_CAP + 2
    assert verify_chain(store.audit, {e.chain: (e.seq, e.hash) for e in store.audit}).ok


def test_cancelled_reservations_stop_counting() -> None:
    store = GateStore()
    gate = make_gate(store)
    ids = [gate.attempt(call(NOW + timedelta(minutes=i)), B).reservation_id for i in range(3)]
    assert not gate.attempt(call(NOW + timedelta(minutes=5)), B).decision.allowed
    assert ids[0] is not None
    gate.cancel(ids[0], "dialler down")
    assert gate.attempt(call(NOW + timedelta(minutes=6)), B).decision.allowed
    assert store.audit[-2].kind == "outcome"
    assert store.audit[-2].data()["reason"] == "dialler down"


def test_an_error_before_commit_leaves_nothing_behind() -> None:
    store = GateStore()
    with pytest.raises(RuntimeError, match="disk full"):
        make_gate(store, fail_on_append=True).attempt(call(NOW), B)
    assert store.commits == 0 and store.reservations == {} and store.audit == []


def test_mismatched_borrower_or_naive_time_is_refused() -> None:
    gate = make_gate(GateStore())
    with pytest.raises(GateError, match="borrower"):
        gate.attempt(call(NOW, borrower="B2"), B)
    with pytest.raises((GateError, ValueError)):
        gate.attempt(call(NOW.replace(tzinfo=None)), B)


def test_record_outcome_completes_and_audits_once() -> None:
    store = GateStore()
    gate = make_gate(store)
    rid = gate.attempt(call(NOW), B).reservation_id
    assert rid is not None
    seq = gate.record_outcome(rid, "rpc", conversation=True)
    assert seq == 2 and store.reservations[rid].status == "completed"
    assert store.reservations[rid].outcome == "rpc" and store.reservations[rid].conversation
    payload = json.loads(store.audit[-1].payload)
    assert payload["reservation_id"] == rid and payload["decision_audit_seq"] == 1
    with pytest.raises(GateError, match="completed, not reserved"):
        gate.record_outcome(rid, "ptp")
    with pytest.raises(GateError, match="unknown outcome"):
        gate.record_outcome(rid, "shouted")
    with pytest.raises(GateError, match="no reservation"):
        gate.record_outcome(999, "rpc")
    assert len(store.audit) == 2  # the refused requests wrote nothing
    other = gate.attempt(call(NOW + timedelta(minutes=5)), B).reservation_id
    assert other is not None
    for nobody in ("no_answer", "busy", "voicemail", "failed", "wrong_number"):
        with pytest.raises(GateError, match="cannot be a conversation"):
            gate.record_outcome(other, nobody, conversation=True)
    assert store.reservations[other].status == "reserved"


class RecordingChannel:
    name = "sms"

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    def send(self, reservation: Reservation, content: str) -> str:
        self.sent.append((reservation.id, content))
        return f"msg-{reservation.id}"


def test_channels_are_reached_only_with_an_open_reservation_for_them() -> None:
    store = GateStore()
    gate = make_gate(store)
    sms = RecordingChannel()
    sms_id = gate.attempt(call(NOW, channel="sms"), B).reservation_id
    call_id = gate.attempt(call(NOW), B).reservation_id
    assert sms_id is not None and call_id is not None
    assert gate.dispatch(sms_id, sms, "hello") == f"msg-{sms_id}"
    with pytest.raises(GateError, match="for channel call"):
        gate.dispatch(call_id, sms, "hello")
    with pytest.raises(GateError, match="no reservation"):
        gate.dispatch(12345, sms, "hello")
    gate.record_outcome(sms_id, "delivered")
    with pytest.raises(GateError, match="completed"):
        gate.dispatch(sms_id, sms, "again")
    assert sms.sent == [(sms_id, "hello")]


def test_payload_round_trip() -> None:
    a = Attempt("B1", None, "visit", NOW, party="third_party", purpose="locate", staff_count=2)
    assert attempt_from_dict(attempt_to_dict(a)) == a
    from datetime import time

    b = BorrowerState(
        "B1", "CN", None, frozenset({"vulnerable"}), frozenset({"sms"}), (time(7), time(23))
    )
    assert borrower_from_dict(borrower_to_dict(b)) == b


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ([], False),
        (["no_answer", "busy"], False),
        (["no_answer", "busy", "voicemail"], True),
        (["no_answer", "rpc", "no_answer", "busy"], False),
        (["rpc", "wrong_number"], True),
        (["no_answer", "no_answer", "no_answer", "rpc"], False),
    ],
)
def test_is_unreachable(outcomes: list[str], expected: bool) -> None:
    history = [
        PastContact(NOW + timedelta(hours=i), "call", "A1", o) for i, o in enumerate(outcomes)
    ]
    assert is_unreachable(history) is expected


def test_borrower_state_round_trips_through_the_audit_payload_with_per_channel_consent() -> None:
    from datetime import time

    b = BorrowerState(
        "B1", "CN", "Asia/Shanghai",
        consent_hours=(time(8), time(21)),
        consent_by_channel=(("sms", time(7), time(0)), ("call", time(9), time(17))),
    )  # fmt: skip
    d = borrower_to_dict(b)
    assert d["consent_by_channel"] == [["sms", "07:00", "00:00"], ["call", "09:00", "17:00"]]
    assert borrower_from_dict(json.loads(json.dumps(d))) == b
    # a state without per-channel hours keeps the payload of before (replay of old entries)
    assert "consent_by_channel" not in borrower_to_dict(BorrowerState("B1", "CN", None))


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ((("visit", "08:00", "22:00"),), "statutory hours"),
        ((("sms", "08:00", "22:00"), ("sms", "09:00", "21:00")), "given twice"),
        ((("fax", "08:00", "22:00"),), "not one of"),
        ((("sms", "22:00", "08:00"),), "start before"),
    ],
)
def test_bad_per_channel_consent_is_refused(entries, message) -> None:
    from datetime import time

    with pytest.raises(ValueError, match=message):
        BorrowerState(
            "B1", "CN", None,
            consent_by_channel=tuple(
                (c, time.fromisoformat(a), time.fromisoformat(b)) for c, a, b in entries
            ),
        )  # fmt: skip
