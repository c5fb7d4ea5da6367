"""The first compliance check: contact hours, no-contact days and the daily call cap.

The planner asks one question per (plan date, jurisdiction, time zone, channel): in which
interval of UTC time may a contact on that channel take place, and if none, which rules
forbid it? Every applicable pack must allow a contact, so the answer is the intersection of
what each pack's rules allow. When the borrower's time zone is unknown, the answer is the
intersection over every zone the jurisdiction spans (a contact must be lawful wherever the
borrower may be; 12 CFR 1006.6(b)(1)(i) reads the same way for US borrowers).

Local times are converted to UTC exactly, across daylight-saving changes: a window start that
falls in a repeated hour takes the later instant, a window end the earlier one, and a time
that does not exist (spring forward) moves to the first instant after the gap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from arrears.domain.compliance.packs import Rule, RulePack, packs_for

_ET, _CT, _MT, _PT = "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"


def _us_states() -> dict[str, tuple[str, ...]]:
    """Every US state, DC and the inhabited territories: the zones their people keep (a state
    split between zones lists each; tz database, zone.tab, and the states' county lines)."""
    zones: dict[str, tuple[str, ...]] = {}
    groups = {
        (_ET,): "CT DC DE GA MA MD ME NC NH NJ NY OH PA RI SC VA VT WV",
        (_CT,): "AR IA IL LA MN MO MS OK WI",
        (_MT,): "CO MT NM UT WY",
        (_PT,): "CA WA",
        (_ET, _CT): "AL FL IN KY MI TN",  # AL: Phenix City keeps Eastern time
        (_CT, _MT): "KS ND NE SD TX",
        (_PT, _MT): "ID NV OR",
    }
    for tz, states in groups.items():
        for st in states.split():
            zones[f"US-{st}"] = tz
    zones.update(
        {
            # the Navajo Nation keeps daylight saving time inside Arizona
            "US-AZ": ("America/Phoenix", _MT),
            "US-AK": ("America/Anchorage", "America/Adak"),
            "US-HI": ("Pacific/Honolulu",),
            "US-PR": ("America/Puerto_Rico",),
            "US-VI": ("America/St_Thomas",),
            "US-GU": ("Pacific/Guam",),
            "US-MP": ("Pacific/Saipan",),
            "US-AS": ("Pacific/Pago_Pago",),
        }
    )
    return zones


# Zones a borrower may be in when only the jurisdiction is known.
JURISDICTION_ZONES: dict[str, tuple[str, ...]] = {
    # Beijing time is the legal time in all of China; Xinjiang also keeps UTC+6 in daily life
    "CN": ("Asia/Shanghai", "Asia/Urumqi"),
    "TW": ("Asia/Taipei",),
    "HK": ("Asia/Hong_Kong",),
    "GB": ("Europe/London",),
    "IE": ("Europe/Dublin",),
    "US": (
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Phoenix",
        "America/Los_Angeles",
        "America/Anchorage",
        "America/Adak",
        "Pacific/Honolulu",
    ),  # the 50 states and DC: a territory has its own code (US-PR...); the import refuses
    # "US" with no zone, which could be anywhere from UTC-11 to UTC+10
    "US-NY-NYC": ("America/New_York",),
    **_us_states(),
}

#: A country's legal time, judged beside the borrower's own clock when that differs: a CN rule
#: of 22:00-08:00 must hold on Beijing time and on the Xinjiang clock a borrower keeps.
LEGAL_TIME: dict[str, str] = {"CN": "Asia/Shanghai"}

HolidayLookup = Callable[[str, date], bool]
"""``(jurisdiction, local_date) -> is a public holiday there``; supplied by the caller."""


def candidate_zones(jurisdiction: str, timezone: str | None) -> tuple[str, ...]:
    """Zones to respect for a borrower: the known zone (with the country's legal time where it
    has one the borrower's clock may differ from: :data:`LEGAL_TIME`), else every zone of the
    jurisdiction.

    Falls back from ``US-NY-NYC`` to ``US-NY`` to ``US``; an unknown jurisdiction with no
    zone gives ``("UTC",)`` (and the planner should treat that borrower with care).
    """
    if timezone:
        legal = LEGAL_TIME.get(jurisdiction.split("-")[0])
        return (timezone, legal) if legal and legal != timezone else (timezone,)
    code = jurisdiction
    while code:
        if code in JURISDICTION_ZONES:
            return JURISDICTION_ZONES[code]
        code = code.rpartition("-")[0]
    return ("UTC",)


@lru_cache(maxsize=1 << 16)
def local_to_utc(day: date, at: time, zone: ZoneInfo, *, side: str) -> datetime:
    """Convert a local wall time to a UTC instant, safely for window bounds (memoised: pure).

    Parameters
    ----------
    side : {"start", "end"}
        ``start`` takes the later of two possible instants (a repeated hour) and ``end`` the
        earlier, so a window never grows across a DST change. A wall time that does not exist
        is moved forward to the end of the gap.
    """
    candidates = []
    for fold in (0, 1):
        local = datetime.combine(day, at, tzinfo=zone).replace(fold=fold)
        utc = local.astimezone(UTC)
        # a non-existent wall time does not round-trip
        back = utc.astimezone(zone)
        if back.replace(tzinfo=None) == local.replace(tzinfo=None):
            candidates.append(utc)
    if not candidates:  # in a gap: the first instant after it, the moment the clocks change
        both = [
            datetime.combine(day, at, tzinfo=zone).replace(fold=f).astimezone(UTC) for f in (0, 1)
        ]
        lo, hi = min(both), max(both)
        before = lo.astimezone(zone).utcoffset()
        while hi - lo > timedelta(seconds=1):
            mid = lo + (hi - lo) / 2
            if mid.astimezone(zone).utcoffset() == before:
                lo = mid
            else:
                hi = mid
        return hi.replace(microsecond=0)
    return max(candidates) if side == "start" else min(candidates)


@dataclass(frozen=True, slots=True)
class WindowCheck:
    """What the rules allow for one channel on one local day.

    Attributes
    ----------
    start, end : datetime or None
        Allowed UTC interval ``[start, end)``; both None when no contact is allowed that day.
    blocking_rule_ids : tuple of str
        Rules that forbid the whole day (empty when a window is open).
    limiting_rule_ids : tuple of str
        Rules that narrowed the window (the hours rules in force).
    reasons : tuple of str
        Readable reason per blocking rule.
    pack_refs : tuple of str
        ``id@version`` of every pack applied.
    """

    start: datetime | None
    end: datetime | None
    blocking_rule_ids: tuple[str, ...]
    limiting_rule_ids: tuple[str, ...]
    reasons: tuple[str, ...]
    pack_refs: tuple[str, ...]

    @property
    def open(self) -> bool:
        """True when some contact time is allowed."""
        return self.start is not None and self.end is not None and self.start < self.end


def describe(rule: Rule) -> str:
    """One readable line: what the rule says and where it comes from."""
    return f"{rule.id}: {rule.description} ({rule.source})"


def _rules(packs: Sequence[RulePack], on: date, channel: str, rtype: str) -> list[Rule]:
    return [
        r
        for p in packs
        for r in p.rules
        if r.type == rtype and r.in_force(on) and r.applies_to_channel(channel)
    ]


def allowed_window(
    plan_date: date,
    jurisdiction: str,
    timezone: str | None,
    channel: str,
    packs: Sequence[RulePack],
    is_holiday: HolidayLookup,
    *,
    preselected: bool = False,
) -> WindowCheck:
    """Allowed UTC interval for a contact on ``channel`` on the borrower's local ``plan_date``.

    Parameters
    ----------
    plan_date : date
        The borrower's local calendar day.
    jurisdiction : str
        Borrower jurisdiction (selects the packs).
    timezone : str or None
        IANA zone, None when unknown (then every candidate zone must allow).
    channel : str
        One of the pack channels.
    packs : sequence of RulePack
        All loaded packs; those applying to ``jurisdiction`` are used.
    is_holiday : callable
        ``(jurisdiction, date) -> bool`` public-holiday lookup.
    preselected : bool, default False
        True when ``packs`` are already the packs that apply to this borrower (the engine's
        :func:`~arrears.domain.compliance.engine.applicable_packs`, which adds the packs of
        the lender's jurisdictions); False selects them with :func:`packs_for`.

    Returns
    -------
    WindowCheck
    """
    applicable = list(packs) if preselected else packs_for(jurisdiction, packs)
    refs = tuple(p.ref for p in applicable)
    blocking: list[Rule] = []
    for rule in _rules(applicable, plan_date, channel, "no_contact_days"):
        if plan_date.weekday() in rule.weekdays or (
            rule.public_holidays and is_holiday(jurisdiction, plan_date)
        ):
            blocking.append(rule)
    if blocking:
        return WindowCheck(
            None,
            None,
            tuple(r.id for r in blocking),
            (),
            tuple(describe(r) for r in blocking),
            refs,
        )
    hours = _rules(applicable, plan_date, channel, "contact_hours")
    zones = [ZoneInfo(z) for z in candidate_zones(jurisdiction, timezone)]
    start = datetime.combine(plan_date, time(0), tzinfo=UTC) - timedelta(days=2)
    end = start + timedelta(days=5)
    # the borrower's local day itself bounds the window in every candidate zone
    for zone in zones:
        start = max(start, local_to_utc(plan_date, time(0), zone, side="start"))
        end = min(end, local_to_utc(plan_date + timedelta(days=1), time(0), zone, side="end"))
    for rule in hours:
        assert rule.start is not None and rule.end is not None
        for zone in zones:
            s = local_to_utc(plan_date, rule.start, zone, side="start")
            e_day = plan_date + timedelta(days=1) if rule.end_is_midnight else plan_date
            e = local_to_utc(e_day, rule.end, zone, side="end")
            start, end = max(start, s), min(end, e)
    limiting = tuple(r.id for r in hours)
    if start >= end:
        return WindowCheck(
            None,
            None,
            limiting,
            limiting,
            tuple(
                f"no time of day satisfies every contact-hours rule in all candidate zones "
                f"{[z.key for z in zones]}: " + describe(r)
                for r in hours
            ),
            refs,
        )
    return WindowCheck(start, end, (), limiting, (), refs)


def daily_call_cap(
    plan_date: date, jurisdiction: str, packs: Sequence[RulePack]
) -> tuple[int | None, str, tuple[str, ...]]:
    """Strictest daily call cap for a borrower in ``jurisdiction`` on ``plan_date``.

    Returns
    -------
    cap : int or None
        Maximum calls that day (None when no pack caps calls).
    counts : str
        ``attempts`` or ``connected``: what the strictest cap counts.
    rule_ids : tuple of str
        The rules giving that cap.
    """
    rules = _rules(packs_for(jurisdiction, packs), plan_date, "call", "daily_call_cap")
    if not rules:
        return None, "attempts", ()
    cap = min(r.max_calls for r in rules if r.max_calls is not None)
    strict = [r for r in rules if r.max_calls == cap]
    counts = "attempts" if any(r.counts == "attempts" for r in strict) else "connected"
    return cap, counts, tuple(r.id for r in strict)
