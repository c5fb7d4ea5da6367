"""TW.RECORDING.RETENTION and every record_keeping rule: the duty set at reservation, the
reference given with the outcome or attached later, and the register of what is missing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tests.fakes import FakeGateUnitOfWork, GateStore

from arrears.adapters.clock import FixedClock
from arrears.adapters.rulepacks import is_public_holiday, load_packs
from arrears.domain.compliance.engine import Attempt, BorrowerState
from arrears.domain.compliance.packs import parse_pack
from arrears.domain.compliance.records import (
    DutyRow,
    add_months,
    recording_duty,
    recording_register,
)
from arrears.services.gate import ContactGate, GateError

PACKS = load_packs(Path(__file__).resolve().parents[2] / "rules")
TAIPEI = ZoneInfo("Asia/Taipei")
NOON = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # 12:00 in Taipei, a Tuesday
TW = BorrowerState("B1", "TW", "Asia/Taipei")


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (datetime(2026, 8, 31, 9, 0, tzinfo=UTC), 6, datetime(2027, 2, 28, 9, 0, tzinfo=UTC)),
        (datetime(2027, 8, 31, 9, 0, tzinfo=UTC), 6, datetime(2028, 2, 29, 9, 0, tzinfo=UTC)),
        (datetime(2026, 12, 15, 0, 0, tzinfo=UTC), 1, datetime(2027, 1, 15, 0, 0, tzinfo=UTC)),
        (datetime(2026, 1, 31, 0, 0, tzinfo=UTC), 0, datetime(2026, 1, 31, 0, 0, tzinfo=UTC)),
        (datetime(2026, 5, 31, 0, 0, tzinfo=UTC), 18, datetime(2027, 11, 30, 0, 0, tzinfo=UTC)),
    ],
)
def test_add_months_clips_to_the_months_last_day(start, months, end):
    assert add_months(start, months) == end


def test_add_months_takes_the_later_instant_of_a_repeated_or_skipped_hour():
    ny = ZoneInfo("America/New_York")
    # 1 November 2026 01:30 happens twice in New York: keep until the second (06:30Z)
    got = add_months(datetime(2026, 5, 1, 1, 30, tzinfo=ny), 6)
    assert got.astimezone(UTC) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    # 14 March 2027 02:30 does not exist there: the later reading (07:30Z)
    got = add_months(datetime(2026, 9, 14, 2, 30, tzinfo=ny), 6)
    assert got.astimezone(UTC) == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)


def test_add_months_refuses_naive_and_negative():
    with pytest.raises(ValueError, match="timezone-aware"):
        add_months(datetime(2026, 1, 1), 1)
    with pytest.raises(ValueError, match=">= 0"):
        add_months(NOON, -1)


def test_TW_RECORDING_RETENTION_six_months_of_borrower_local_time():
    duty = recording_duty(Attempt("B1", "A1", "call", NOON), TW, PACKS)
    assert duty is not None and duty.rule_ids == ("TW.RECORDING.RETENTION",)
    assert duty.keep_until == datetime(2027, 6, 1, 4, 0, tzinfo=UTC)
    # 31 August 20:00 UTC is 1 September in Taipei: six months later is 1 March there
    late = datetime(2026, 8, 31, 20, 0, tzinfo=UTC)
    duty = recording_duty(Attempt("B1", "A1", "call", late), TW, PACKS)
    assert duty is not None
    assert duty.keep_until.astimezone(TAIPEI) == datetime(2027, 3, 1, 4, 0, tzinfo=TAIPEI)


@pytest.mark.parametrize(
    ("borrower", "channel"),
    [(TW, "sms"), (TW, "letter"), (BorrowerState("B1", "CN", "Asia/Shanghai"), "call")],
)
def test_no_duty_where_no_record_keeping_rule_lists_the_channel(borrower, channel):
    assert recording_duty(Attempt("B1", "A1", channel, NOON), borrower, PACKS) is None


def _pack(effective_from: date, months: int, channels: list[str] | None = None, where: str = "XX"):
    params: dict = {"months": months}
    if channels is not None:
        params["channels"] = channels
    return parse_pack(
        {
            "id": where,
            "version": "1",
            "applies_to": [where],
            "rules": [
                {
                    "id": f"{where}.KEEP",
                    "type": "record_keeping",
                    "kind": "regulation",
                    "description": "keep records",
                    "source": {"instrument": "test", "provision": "1"},
                    "effective_from": effective_from,
                    "params": params,
                }
            ],
        },
        "test",
    )


def test_a_rule_counts_only_once_in_force_and_every_channel_when_none_listed():
    xx = BorrowerState("B1", "XX", None)
    later = _pack(date(2027, 1, 1), 12)
    assert recording_duty(Attempt("B1", None, "call", NOON), xx, [later]) is None
    now = _pack(date(2020, 1, 1), 12)
    for channel in ("call", "sms", "visit"):  # no channels listed: all of them
        duty = recording_duty(Attempt("B1", None, channel, NOON), xx, [now])
        assert duty is not None and duty.keep_until == datetime(2027, 12, 1, 4, tzinfo=UTC)


def test_an_unknown_zone_keeps_the_latest_of_the_jurisdictions_zones():
    us_pack = _pack(date(2020, 1, 1), 6, where="US")
    arizonan = BorrowerState("B1", "US-AZ", None)  # Phoenix (no DST) or Denver (DST)
    duty = recording_duty(Attempt("B1", None, "call", NOON), arizonan, [us_pack])
    assert duty is not None

    def six_months_in(zone: str) -> datetime:
        return add_months(NOON.astimezone(ZoneInfo(zone)), 6).astimezone(UTC)

    # 21:00 on 30 November in both; six months later Denver keeps summer time, so the same
    # wall time comes an hour earlier there: Phoenix's instant is the later one
    assert duty.keep_until == six_months_in("America/Phoenix")
    assert duty.keep_until > six_months_in("America/Denver")


def _row(rid: int, status: str, outcome: str | None, ref: str | None, keep: datetime) -> DutyRow:
    return DutyRow(rid, "B1", "call", NOON, status, outcome, keep, ref)


def test_register_sorts_duties_into_met_missing_open_and_expired():
    keep = NOON + timedelta(days=182)
    rows = [
        _row(1, "completed", "rpc", "rec-1", keep),
        _row(2, "completed", "ptp", None, keep),  # reached, no recording: missing
        _row(3, "completed", "no_answer", None, keep),  # nobody reached: nothing to keep
        _row(4, "reserved", None, None, keep),  # not made yet
        _row(5, "cancelled", None, None, keep),
        _row(6, "completed", "connected", "rec-6", NOON + timedelta(days=1)),
    ]
    reg = recording_register(rows, NOON + timedelta(hours=12))
    assert (reg.duties, reg.reached, reg.recorded, reg.open) == (6, 3, 2, 1)
    assert [r.reservation_id for r in reg.missing] == [2]
    assert reg.overdue == [] and reg.expired == []
    # a month later: row 4 was never closed, so its recording may be missing too
    reg = recording_register(rows, NOON + timedelta(days=30))
    assert reg.open == 0 and [r.reservation_id for r in reg.overdue] == [4]
    assert [r.reservation_id for r in reg.expired] == [6]
    # before the contacts were made nothing is reached or missing yet
    reg = recording_register(rows, NOON - timedelta(hours=1))
    assert (reg.reached, reg.missing, reg.overdue, reg.open) == (0, [], [], 1)


def gate(store: GateStore) -> ContactGate:
    return ContactGate(
        lambda: FakeGateUnitOfWork(store), PACKS, is_public_holiday, FixedClock(NOON)
    )


def test_the_gate_sets_the_duty_and_takes_the_recording_with_the_outcome_or_later():
    store = GateStore()
    g = gate(store)
    rid = g.attempt(Attempt("B1", "A1", "call", NOON), TW).reservation_id
    assert rid is not None
    assert store.reservations[rid].keep_recording_until == datetime(2027, 6, 1, 4, tzinfo=UTC)
    sms = g.attempt(Attempt("B1", "A1", "sms", NOON), TW).reservation_id
    assert sms is not None and store.reservations[sms].keep_recording_until is None

    with pytest.raises(GateError, match="record its outcome first"):
        g.attach_recording(rid, "rec-1")
    g.record_outcome(rid, "rpc", conversation=True)
    with pytest.raises(GateError, match="1 to 200"):
        g.attach_recording(rid, "   ")
    seq = g.attach_recording(rid, " rec-1 ")
    assert store.reservations[rid].recording_ref == "rec-1"
    entry = store.audit[seq - 1]
    assert entry.kind == "outcome"
    assert json.loads(entry.payload)["recording_ref"] == "rec-1"
    with pytest.raises(GateError, match="never replaced"):
        g.attach_recording(rid, "rec-2")
    with pytest.raises(GateError, match="no reservation"):
        g.attach_recording(999, "rec-3")

    other = g.attempt(Attempt("B1", "A1", "call", NOON + timedelta(hours=1)), TW).reservation_id
    assert other is not None
    g.record_outcome(other, "connected", recording_ref="  rec-9 ")
    assert store.reservations[other].recording_ref == "rec-9"  # stored as checked: stripped
    with pytest.raises(GateError, match="1 to 200"):
        g.record_outcome(sms, "delivered", recording_ref="x" * 201)
    with pytest.raises(GateError, match="1 to 200"):
        g.record_outcome(sms, "delivered", recording_ref="   ")
