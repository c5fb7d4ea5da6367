"""CN pack: one test per rule id, happy and unhappy paths."""

from datetime import UTC, datetime, time, timedelta

from tests.rulekit import (
    assert_dispute_held_until_closed,
    attempt,
    borrower,
    decide,
    local,
    past,
)

SH = "Asia/Shanghai"
DAY = (2026, 6, 10)  # a Wednesday, no public holiday


def at(hh, mm=0, day=DAY):
    return local(SH, *day, hh, mm)


def test_CN_HOURS_NIGHT():
    b = borrower("CN")
    d = decide(attempt(at(22, 30), "sms"), b)
    assert not d.allowed and d.rule_ids == ("CN.HOURS.NIGHT",)
    assert d.next_allowed_at == datetime(2026, 6, 11, 0, 0, tzinfo=UTC)  # 08:00 +08:00
    assert decide(attempt(at(21, 59), "sms"), b).allowed
    early = decide(attempt(at(7, 59), "wechat"), b)
    assert early.rule_ids == ("CN.HOURS.NIGHT",)
    assert early.next_allowed_at == at(8, 0)
    # the borrower agreed to other hours: they replace the window of this rule
    agreed = borrower("CN", consent_hours=(time(7, 0), time(23, 0)))
    assert decide(attempt(at(22, 30), "sms"), agreed).allowed
    assert decide(attempt(at(7, 30), "sms"), agreed).allowed
    late = decide(attempt(at(23, 0), "sms"), agreed)
    assert late.rule_ids == ("CN.HOURS.NIGHT",) and "agreed" in late.reasons[0]
    assert late.next_allowed_at == local(SH, 2026, 6, 11, 7, 0)
    # consent does not lift the lender's stricter house curfew on calls
    assert decide(attempt(at(22, 30), "call"), agreed).rule_ids == ("HOUSE.CALLS.EVENING",)
    # only the borrower agreed: a third party (locate) keeps the statutory window ...
    unreachable = borrower("CN", consent_hours=(time(7, 0), time(23, 0)), unreachable=True)
    third = attempt(at(22, 30), "sms", party="third_party", purpose="locate")
    assert decide(third, unreachable).rule_ids == ("CN.HOURS.NIGHT",)
    assert "(hours the borrower agreed to)" not in decide(third, unreachable).reasons[0]
    # ... and so does a field visit, even with two staff
    visit = attempt(at(22, 30), "visit", staff_count=2)
    assert "CN.HOURS.NIGHT" in decide(visit, agreed).rule_ids
    # consent given for one channel covers that channel only; its own entry wins over the
    # hours for every channel
    per = borrower(
        "CN",
        consent_hours=(time(8, 0), time(21, 0)),
        consent_by_channel=(("sms", time(7, 0), time(23, 0)),),
    )
    assert decide(attempt(at(22, 30), "sms"), per).allowed
    assert decide(attempt(at(22, 30), "wechat"), per).rule_ids == ("CN.HOURS.NIGHT",)
    assert decide(attempt(at(21, 30), "wechat"), per).rule_ids == ("CN.HOURS.NIGHT",)
    assert decide(attempt(at(20, 30), "wechat"), per).allowed
    only_sms = borrower("CN", consent_by_channel=(("sms", time(7, 0), time(23, 0)),))
    assert decide(attempt(at(21, 30), "wechat"), only_sms).allowed  # CN's own 08-22
    assert decide(attempt(at(22, 30), "email"), only_sms).rule_ids == ("CN.HOURS.NIGHT",)


def test_CN_CALLS_DAILY_CAP():
    b = borrower("CN")
    # 3 connected calls today, by the lender and two agencies, on two accounts
    hist = [
        past(at(9), outcome="connected"),
        past(at(10), outcome="rpc", agency_id="agency-1", account="A2"),
        past(at(11), outcome="ptp", agency_id="agency-2"),
    ]
    d = decide(attempt(at(15)), b, hist)
    assert not d.allowed and d.rule_ids == ("CN.CALLS.DAILY_CAP",)
    assert d.next_allowed_at == local(SH, 2026, 6, 11, 8, 0)
    # unanswered calls do not count towards the connected-call cap
    assert decide(attempt(at(15)), b, [*hist[:2], past(at(11), outcome="no_answer")]).allowed
    # a reservation whose outcome is pending counts (it may connect)
    assert not decide(attempt(at(15)), b, [*hist[:2], past(at(11), outcome="reserved")]).allowed
    # yesterday's calls do not count
    yesterday = [past(c.at - timedelta(days=1), outcome="connected") for c in hist]
    assert decide(attempt(at(15)), b, yesterday).allowed


def test_CN_CALLS_UNANSWERED_PER_NUMBER():
    b = borrower("CN")
    hist = [past(at(9, 10 * k), outcome="no_answer", number="+8613800000001") for k in range(6)]
    d = decide(attempt(at(15), number="+8613800000001"), b, hist)
    assert not d.allowed and d.rule_ids == ("CN.CALLS.UNANSWERED_PER_NUMBER",)
    assert d.next_allowed_at == local(SH, 2026, 6, 11, 8, 0)
    assert decide(attempt(at(15), number="+8613800000002"), b, hist).allowed
    assert decide(attempt(at(15), number="+8613800000001"), b, hist[:5]).allowed
    # an attempt whose number is unknown counts every number
    assert not decide(attempt(at(15)), b, hist).allowed


def test_CN_PARTIES_BORROWER_ONLY():
    b = borrower("CN")
    d = decide(attempt(at(15), party="guarantor"), b)
    assert not d.allowed and d.rule_ids == ("CN.PARTIES.BORROWER_ONLY",)
    assert d.next_allowed_at is None
    assert decide(attempt(at(15)), b).allowed


def test_CN_THIRD_PARTY_LOCATE_ONLY():
    reachable = borrower("CN")
    unreachable = borrower("CN", unreachable=True)
    third = attempt(at(15), party="third_party", purpose="locate")
    d = decide(third, reachable)
    assert not d.allowed
    assert set(d.rule_ids) == {"CN.THIRD_PARTY.LOCATE_ONLY", "ALL.THIRD_PARTY.LOCATE_ONLY"}
    assert decide(third, unreachable).allowed
    collect = decide(attempt(at(15), party="third_party"), unreachable)
    assert "CN.THIRD_PARTY.LOCATE_ONLY" in collect.rule_ids


def test_CN_VISIT_TWO_STAFF():
    b = borrower("CN")
    d = decide(attempt(at(15), "visit"), b)
    assert not d.allowed and d.rule_ids == ("CN.VISIT.TWO_STAFF",)
    assert decide(attempt(at(15), "visit", staff_count=2), b).allowed
    # and the visit falls inside the allowed hours
    night = decide(attempt(at(22, 30), "visit", staff_count=2), b)
    assert night.rule_ids == ("CN.HOURS.NIGHT",)


def test_CN_DISPUTE_HOLD():
    assert_dispute_held_until_closed("CN", "CN.DISPUTE.HOLD")


def test_CN_HOURS_NIGHT_on_beijing_time_and_the_xinjiang_clock():
    """Beijing time is China's legal time; a borrower keeping Xinjiang's clock (UTC+6) must be
    inside 08:00-22:00 on both."""
    xj = borrower("CN", "Asia/Urumqi")
    assert decide(attempt(at(23, 30), "sms"), xj).rule_ids == ("CN.HOURS.NIGHT",)  # 21:30 there
    assert decide(attempt(at(9, 0), "sms"), xj).rule_ids == ("CN.HOURS.NIGHT",)  # 07:00 there
    assert decide(attempt(at(12, 0), "sms"), xj).allowed
    unknown = decide(attempt(at(9, 0), "sms"), borrower("CN", None))  # could be in Xinjiang
    assert unknown.rule_ids == ("CN.HOURS.NIGHT",)
