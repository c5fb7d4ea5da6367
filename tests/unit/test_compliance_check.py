"""First compliance check: pack parsing, contact windows across zones and DST, call caps."""

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from arrears.adapters.rulepacks import is_public_holiday, load_packs
from arrears.domain.compliance.check import (
    allowed_window,
    candidate_zones,
    daily_call_cap,
    local_to_utc,
)
from arrears.domain.compliance.packs import RulePackError, parse_pack

RULES = Path(__file__).resolve().parents[2] / "rules"
PACKS = load_packs(RULES)


def no_holidays(_j, _d):
    return False


def test_every_shipped_rule_is_cited_and_dated():
    for pack in PACKS:
        assert pack.rules
        for rule in pack.rules:
            assert rule.source.instrument and rule.source.provision
            assert rule.id.startswith(pack.id + ".")


def test_tw_house_window_in_utc():
    w = allowed_window(date(2005, 9, 30), "TW", "Asia/Taipei", "sms", PACKS, no_holidays)
    assert w.open
    assert w.start == datetime(2005, 9, 30, 1, 0, tzinfo=UTC)
    assert w.end == datetime(2005, 9, 30, 13, 0, tzinfo=UTC)
    assert w.limiting_rule_ids == ("TW.HOURS.HOUSE",)
    # the global packs apply on top of the jurisdiction pack
    assert w.pack_refs == ("ALL@2026.3", "HOUSE@2026.2", "TW@2026.4")


def test_house_overlay_narrows_calls_everywhere():
    w = allowed_window(date(2005, 9, 30), "TW", "Asia/Taipei", "call", PACKS, no_holidays)
    assert w.start == datetime(2005, 9, 30, 1, 0, tzinfo=UTC)  # 09:00 +08:00 (TW.HOURS.HOUSE)
    assert w.end == datetime(2005, 9, 30, 12, 0, tzinfo=UTC)  # 20:00 +08:00 (HOUSE)
    assert set(w.limiting_rule_ids) == {"HOUSE.CALLS.EVENING", "TW.HOURS.HOUSE"}


def test_global_packs_alone_cover_nobody():
    # FR has no jurisdiction pack: the global packs do not make a contact lawful there
    w = allowed_window(date(2026, 6, 1), "FR", "Europe/Paris", "sms", PACKS, no_holidays)
    assert w.pack_refs == ()


def test_cn_night_rule():
    w = allowed_window(date(2026, 11, 30), "CN", "Asia/Shanghai", "sms", PACKS, no_holidays)
    assert w.start == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # 08:00 +08:00
    assert w.end == datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # 22:00 +08:00


def test_ie_no_calls_on_sunday_but_messages_allowed():
    sunday = date(2026, 11, 29)
    call = allowed_window(sunday, "IE", "Europe/Dublin", "call", PACKS, no_holidays)
    assert not call.open and call.blocking_rule_ids == ("IE.DAYS.S46",)
    assert "Consumer Credit Act 1995" in call.reasons[0]
    sms = allowed_window(sunday, "IE", "Europe/Dublin", "sms", PACKS, no_holidays)
    assert sms.open


def test_ie_public_holiday_blocks_calls():
    st_patricks = date(2026, 3, 17)  # a Tuesday
    w = allowed_window(st_patricks, "IE", "Europe/Dublin", "call", PACKS, is_public_holiday)
    assert not w.open and "IE.DAYS.S46" in w.blocking_rule_ids
    monday = allowed_window(
        date(2026, 3, 16), "IE", "Europe/Dublin", "call", PACKS, is_public_holiday
    )
    assert monday.open


def test_unknown_us_zone_needs_every_candidate_zone_to_allow():
    d = date(2026, 6, 10)
    w = allowed_window(d, "US", None, "call", PACKS, no_holidays)
    assert w.open
    for name in candidate_zones("US", None):
        z = ZoneInfo(name)
        assert w.start is not None and w.end is not None
        for instant in (w.start, w.end - timedelta(microseconds=1)):
            local = instant.astimezone(z)
            assert local.date() == d and time(8) <= local.time() < time(21)


def test_window_exact_across_spring_forward_and_fall_back():
    ny = "America/New_York"
    spring = allowed_window(date(2026, 3, 8), "US-NY", ny, "sms", PACKS, no_holidays)
    assert spring.start == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # 08:00 EDT
    autumn = allowed_window(date(2026, 11, 1), "US-NY", ny, "sms", PACKS, no_holidays)
    assert autumn.start == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)  # 08:00 EST
    assert autumn.end == datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 21:00 EST


def test_local_to_utc_gap_and_repeated_hour():
    z = ZoneInfo("America/New_York")
    # 02:30 does not exist on 8 Mar 2026: moves to the end of the gap (03:00 EDT = 07:00 UTC)
    for side in ("start", "end"):
        assert local_to_utc(date(2026, 3, 8), time(2, 30), z, side=side) == datetime(
            2026, 3, 8, 7, 0, tzinfo=UTC
        )
    # 01:30 happens twice on 1 Nov 2026: a start takes the later, an end the earlier
    assert local_to_utc(date(2026, 11, 1), time(1, 30), z, side="start") == datetime(
        2026, 11, 1, 6, 30, tzinfo=UTC
    )
    assert local_to_utc(date(2026, 11, 1), time(1, 30), z, side="end") == datetime(
        2026, 11, 1, 5, 30, tzinfo=UTC
    )


def test_no_pack_no_window():
    w = allowed_window(date(2026, 6, 1), "FR", "Europe/Paris", "call", PACKS, no_holidays)
    assert w.pack_refs == ()


def test_daily_call_caps_take_the_strictest_pack():
    assert daily_call_cap(date(2026, 6, 1), "CN", PACKS) == (
        3,
        "connected",
        ("CN.CALLS.DAILY_CAP",),
    )
    cap, counts, ids = daily_call_cap(date(2026, 6, 1), "US-MA", PACKS)
    assert cap == 1 and counts == "attempts"
    assert set(ids) == {"US.CALLS.DAILY_CAP", "US-MA.CALLS.DAILY_CAP"}
    # a rule not yet in force does not apply
    assert daily_call_cap(date(2020, 1, 1), "US-MA", PACKS) == (None, "attempts", ())


GOOD_RULE = {
    "id": "XX.HOURS",
    "type": "contact_hours",
    "kind": "house_policy",
    "description": "d",
    "source": {"instrument": "i", "provision": "p"},
    "effective_from": "2020-01-01",
    "params": {"channels": ["call"], "start": "09:00", "end": "21:00"},
}


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"source": None}, "source"),
        ({"kind": "law"}, "kind"),
        ({"type": "curfew"}, "type"),
        ({"params": {"channels": ["fax"], "start": "09:00", "end": "21:00"}}, "channels"),
        ({"params": {"channels": ["call"], "start": "9am", "end": "21:00"}}, "params.start"),
        ({"params": {"channels": ["call"], "start": "21:00", "end": "09:00"}}, "params.end"),
        ({"effective_from": "2020-13-01"}, "effective_from"),
        ({"id": "YY.HOURS"}, "id"),
    ],
)
def test_bad_pack_is_refused_naming_rule_and_field(patch, field):
    rule = {**GOOD_RULE, **patch}
    with pytest.raises(RulePackError) as err:
        parse_pack({"id": "XX", "version": "1", "applies_to": ["XX"], "rules": [rule]}, "xx.yaml")
    assert err.value.field == field
    assert err.value.origin == "xx.yaml"
    assert "xx.yaml" in str(err.value)


def test_duplicate_rule_id_refused():
    with pytest.raises(RulePackError, match="used twice"):
        parse_pack(
            {"id": "XX", "version": "1", "applies_to": ["XX"], "rules": [GOOD_RULE, GOOD_RULE]},
            "xx.yaml",
        )


def test_bad_yaml_file_refused(tmp_path):
    (tmp_path / "XX.yaml").write_text("id: XX\nrules: [\n")
    with pytest.raises(RulePackError, match="not valid YAML"):
        load_packs(tmp_path)
    with pytest.raises(RulePackError, match="not found"):
        load_packs(tmp_path / "missing")


def test_an_arizona_borrower_of_unknown_zone_is_also_on_navajo_nation_time():
    """The Navajo Nation keeps daylight saving time inside Arizona: in July, 20:30 in Phoenix
    is 21:30 there, after the 21:00 end of 12 CFR 1006.6(b)(1)(i)."""
    from arrears.domain.compliance.engine import Attempt, BorrowerState, evaluate

    packs = load_packs(Path(__file__).resolve().parents[2] / "rules")
    late = datetime(2026, 7, 2, 3, 30, tzinfo=UTC)  # 20:30 Phoenix, 21:30 Denver
    for zone, allowed in [(None, False), ("America/Phoenix", True)]:
        b = BorrowerState("B", "US-AZ", zone)
        dec = evaluate(Attempt("B", None, "sms", late), [], b, packs, is_public_holiday)
        assert dec.allowed is allowed
        if not allowed:
            assert "US.HOURS.INCONVENIENT" in dec.rule_ids
            # 08:00 in Phoenix, the later of the two zones' 08:00
            assert dec.next_allowed_at == datetime(2026, 7, 2, 15, 0, tzinfo=UTC)


def test_a_territory_borrower_of_unknown_zone_is_on_the_territorys_time():
    """Guam is UTC+10: 06:30 there is within the mainland's hours somewhere, not in Guam."""
    from arrears.domain.compliance.engine import Attempt, BorrowerState, evaluate

    packs = load_packs(Path(__file__).resolve().parents[2] / "rules")
    early = datetime(2026, 12, 1, 20, 30, tzinfo=UTC)  # 06:30 on 2 December in Guam
    dec = evaluate(
        Attempt("B", None, "sms", early), [], BorrowerState("B", "US-GU", None), packs,
        is_public_holiday,
    )  # fmt: skip
    assert not dec.allowed and "US.HOURS.INCONVENIENT" in dec.rule_ids
    assert dec.next_allowed_at == datetime(2026, 12, 1, 22, 0, tzinfo=UTC)  # 08:00 in Guam
