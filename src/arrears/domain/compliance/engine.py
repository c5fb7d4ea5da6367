"""The compliance engine: may this one contact attempt be made now, and if not, why and when?

:func:`evaluate` is a pure function of the attempt, the borrower's contact history (everything
the lender and all its agencies did, so caps count across agencies), the borrower's state and
the rule packs. It reads no clock and does no I/O; the gate service calls it inside the unit
of work that reserves the contact, the daily planner's checks use the same rule code.

Every applicable pack must allow a contact (:func:`applicable_packs`: the packs of the
borrower's jurisdiction and its overlays, the packs of the lender's jurisdictions, and the
global packs such as ``ALL`` and a lender's ``HOUSE`` policy). Contact hours and no-contact
days are decided by :func:`arrears.domain.compliance.check.allowed_window` (the very function
the planner uses), so the planner and the gate cannot disagree about a window.

Counting (caps, waits) follows these rules, all on the conservative side:

* a history entry whose outcome is ``reserved`` (outcome not yet recorded) counts as an
  attempt, a connected call, an unanswered attempt and a conversation;
* an entry without ``account_id`` or ``number`` counts for every account or number;
* an attempt without ``account_id`` or ``number`` counts every entry;
* a period of ``N`` days covers the ``N`` local calendar days that count the contact's day as
  the first (in every candidate zone when the zone is unknown) and, for ``rolling`` caps, also
  ``N`` x 24 hours from the contact: whichever is longer;
* history entries later than the attempt count towards caps too (they may be reservations);
  only past conversations start a wait.

``next_allowed_at`` is exact: it is found by re-evaluating the attempt at every instant where
a block can lift (window openings of every local day in every candidate zone, local
midnights, expiry of every counted contact, end of every wait), in time order, up to 60 days.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from arrears.domain.compliance.check import (
    HolidayLookup,
    WindowCheck,
    allowed_window,
    candidate_zones,
    describe,
    local_to_utc,
)
from arrears.domain.compliance.packs import (
    BORROWER_FLAGS,
    CHANNELS,
    PARTIES,
    PURPOSES,
    Rule,
    RulePack,
)

RESERVED = "reserved"
CONTACT_OUTCOMES = (
    "connected",
    "rpc",
    "ptp",
    "no_answer",
    "busy",
    "voicemail",
    "wrong_number",
    "refused",
    "delivered",
    "failed",
    RESERVED,
)
"""Outcomes of a past contact: those of the portfolio format plus ``reserved`` (pending)."""
CONNECTED_OUTCOMES = frozenset({"connected", "rpc", "ptp"})
UNANSWERED_OUTCOMES = frozenset({"no_answer", "busy", "voicemail", "failed"})
NO_RULE_PACK = "NO_RULE_PACK"
"""Pseudo rule id of a decision for a borrower no jurisdiction pack covers."""
HORIZON = timedelta(days=60)
"""How far ahead :func:`evaluate` looks for ``next_allowed_at``."""


def _aware(value: datetime, cls: str, field: str) -> None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{cls}.{field}: must be a timezone-aware datetime, got {value!r}")


def _one_of(value: str, allowed: Iterable[str], cls: str, field: str) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{cls}.{field}: {value!r} is not one of {list(allowed)}")


@dataclass(frozen=True, slots=True)
class Attempt:
    """One contact the lender (or an agency) wants to make.

    Attributes
    ----------
    borrower_id : str
    account_id : str or None
        The debt it is about; None when it is about the borrower as a whole.
    channel : str
        ``call``, ``sms``, ``email``, ``wechat``, ``letter``, ``app_push`` or ``visit``.
    at : datetime
        Timezone-aware start of the contact (compared as a UTC instant).
    party : str
        Who is contacted: ``borrower``, ``lawyer`` (the borrower's), ``third_party`` or
        ``guarantor``.
    purpose : str
        ``collection``, ``locate`` (third party, find the borrower), ``validation_notice`` or
        ``legal_notice``.
    agency_id : str
        ``lender`` or the id of the agency making it.
    to_workplace : bool
        The contact reaches the borrower at their place of work.
    staff_count : int
        Staff on a field visit (>= 1).
    number : str or None
        Dialled number, for per-number caps.

    Raises
    ------
    ValueError
        For a naive ``at`` or an unknown channel, party or purpose (naming the field).
    """

    borrower_id: str
    account_id: str | None
    channel: str
    at: datetime
    party: str = "borrower"
    purpose: str = "collection"
    agency_id: str = "lender"
    to_workplace: bool = False
    staff_count: int = 1
    number: str | None = None

    def __post_init__(self) -> None:
        _aware(self.at, "Attempt", "at")
        _one_of(self.channel, CHANNELS, "Attempt", "channel")
        _one_of(self.party, PARTIES, "Attempt", "party")
        _one_of(self.purpose, PURPOSES, "Attempt", "purpose")
        if self.staff_count < 1:
            raise ValueError(f"Attempt.staff_count: must be >= 1, got {self.staff_count}")


@dataclass(frozen=True, slots=True)
class PastContact:
    """A contact already made (or reserved) for the borrower, by the lender or any agency.

    Attributes
    ----------
    at : datetime
        Timezone-aware start.
    channel : str
    account_id : str or None
    outcome : str
        One of :data:`CONTACT_OUTCOMES` (``reserved`` while the outcome is not recorded).
    party, agency_id, number
        As in :class:`Attempt`.
    conversation : bool
        A conversation about the debt took place (e.g. a telephone conversation).

    Raises
    ------
    ValueError
        For a naive ``at`` or an unknown channel or outcome.
    """

    at: datetime
    channel: str
    account_id: str | None
    outcome: str
    party: str = "borrower"
    agency_id: str = "lender"
    number: str | None = None
    conversation: bool = False

    def __post_init__(self) -> None:
        _aware(self.at, "PastContact", "at")
        _one_of(self.channel, CHANNELS, "PastContact", "channel")
        _one_of(self.outcome, CONTACT_OUTCOMES, "PastContact", "outcome")
        _one_of(self.party, PARTIES, "PastContact", "party")


@dataclass(frozen=True, slots=True)
class BorrowerState:
    """What the rules need to know about the borrower at the time of the attempt.

    Attributes
    ----------
    borrower_id : str
    jurisdiction : str
        ``CN``, ``US-MA``, ``US-NY-NYC``, ``GB``, ``IE``, ``TW`` ...: selects the packs.
    timezone : str or None
        IANA zone; None when unknown: then every zone of the jurisdiction must allow.
    flags : frozenset of str
        Status flags (:data:`~arrears.domain.compliance.packs.BORROWER_FLAGS`).
    opted_out : frozenset of str
        Channels the borrower asked not to be used.
    consent_hours : (time, time) or None
        Local hours the borrower agreed to, for every channel (start < end; an end of 00:00 is
        midnight). They replace the window of rules marked ``consent_overrides`` (CN).
    consent_by_channel : tuple of (channel, time, time)
        Hours agreed for one channel; they replace ``consent_hours`` for that channel (see
        :meth:`consent_for`). Never ``visit`` (a field visit keeps the statutory hours).
    unreachable : bool
        Number invalid or 3 consecutive failed attempts: locate-only third-party contact may
        be allowed.
    lender_jurisdictions : tuple of str
        Jurisdictions whose packs also apply because of where the lender (or agency) is.

    Raises
    ------
    ValueError
        For an unknown time zone, flag, channel or bad consent hours (naming the field).
    """

    borrower_id: str
    jurisdiction: str
    timezone: str | None
    flags: frozenset[str] = frozenset()
    opted_out: frozenset[str] = frozenset()
    consent_hours: tuple[time, time] | None = None
    unreachable: bool = False
    lender_jurisdictions: tuple[str, ...] = ()
    consent_by_channel: tuple[tuple[str, time, time], ...] = ()

    def __post_init__(self) -> None:
        if self.timezone:
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"BorrowerState.timezone: unknown IANA time zone {self.timezone!r}"
                ) from None
        for f in self.flags:
            _one_of(str(f), BORROWER_FLAGS, "BorrowerState", "flags")
        for c in self.opted_out:
            _one_of(str(c), CHANNELS, "BorrowerState", "opted_out")
        if self.consent_hours is not None:
            start, end = self.consent_hours
            if end != time(0) and end <= start:
                raise ValueError(
                    "BorrowerState.consent_hours: start must be before end (00:00 = midnight)"
                )
        seen: set[str] = set()
        for channel, start, end in self.consent_by_channel:
            _one_of(channel, CHANNELS, "BorrowerState", "consent_by_channel")
            if channel == "visit" or channel in seen:
                raise ValueError(
                    f"BorrowerState.consent_by_channel: {channel!r} "
                    + ("keeps the statutory hours" if channel == "visit" else "given twice")
                )
            seen.add(channel)
            if end != time(0) and end <= start:
                raise ValueError(
                    f"BorrowerState.consent_by_channel: {channel} hours must start before "
                    "they end (00:00 = midnight)"
                )

    def consent_for(self, channel: str) -> tuple[time, time] | None:
        """The hours the borrower agreed to for ``channel`` (:func:`consent_window`)."""
        return consent_window(self.consent_hours, self.consent_by_channel, channel)


def consent_window(
    every: tuple[time, time] | None,
    by_channel: Sequence[tuple[str, time, time]],
    channel: str,
) -> tuple[time, time] | None:
    """Agreed hours for ``channel``: its own entry in ``by_channel``, else ``every`` (None: no
    consent)."""
    for c, start, end in by_channel:
        if c == channel:
            return start, end
    return every


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer for one attempt.

    Attributes
    ----------
    allowed : bool
    rule_ids : tuple of str
        Every rule that blocked (empty when allowed; ``NO_RULE_PACK`` when no pack covers
        the borrower's jurisdiction).
    reasons : tuple of str
        One readable reason per blocking rule, with its source.
    next_allowed_at : datetime or None
        Earliest UTC instant >= ``attempt.at`` at which the same attempt would pass (the
        attempt's own time when allowed); None when never (a hold, an opt-out...) or not
        within :data:`HORIZON`.
    pack_refs : tuple of str
        ``id@version`` of every pack applied.
    """

    allowed: bool
    rule_ids: tuple[str, ...]
    reasons: tuple[str, ...]
    next_allowed_at: datetime | None
    pack_refs: tuple[str, ...]


class _Same:
    """Cache key part compared by identity; it holds its objects, so ids cannot be reused."""

    __slots__ = ("_hash", "objs")

    def __init__(self, objs: tuple[object, ...]) -> None:
        self.objs = objs
        self._hash = hash(tuple(map(id, objs)))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        # tuple equality tries identity first: the same objects compare equal at once
        return isinstance(other, _Same) and self.objs == other.objs


# allowed_window is pure: its answers are memoised per (packs, holiday lookup, borrower
# jurisdiction and zone, channel, day), the packs and lookup compared by identity.
_WINDOWS: dict[tuple[object, ...], WindowCheck] = {}
_RULES: dict[tuple[object, ...], list[Rule]] = {}
_APPLICABLE: dict[tuple[object, ...], list[RulePack]] = {}
_WINDOWS_MAX = 200_000


def applicable_packs(borrower: BorrowerState, packs: Sequence[RulePack]) -> list[RulePack]:
    """The packs that apply to ``borrower``, in the order given.

    Those of the borrower's jurisdiction (a ``US`` pack covers ``US-MA``), those of the
    ``lender_jurisdictions``, and the global packs (``applies_to: ["*"]``). When no
    jurisdiction pack covers the borrower's own jurisdiction the list is empty: global rules
    alone never make a contact lawful.

    Returns
    -------
    list of RulePack
    """
    key = (_Same(tuple(packs)), borrower.jurisdiction, borrower.lender_jurisdictions)
    found = _APPLICABLE.get(key)
    if found is None:
        own = [p for p in packs if not p.is_global and p.applies(borrower.jurisdiction)]
        found = (
            [
                p
                for p in packs
                if p.is_global
                or p.applies(borrower.jurisdiction)
                or any(p.applies(j) for j in borrower.lender_jurisdictions)
            ]
            if own
            else []
        )
        if len(_APPLICABLE) >= 4096:
            _APPLICABLE.clear()
        _APPLICABLE[key] = found
    return list(found)


TIME_RULE_TYPES = frozenset({"contact_hours", "no_contact_days"})
"""Rule types decided by :func:`~arrears.domain.compliance.check.allowed_window`."""
STATIC_RULE_TYPES = frozenset(
    {
        "hold",
        "channel_opt_out",
        "lawyer_only",
        "no_workplace",
        "third_party",
        "parties_allowed",
        "visit_staff",
    }
)
"""Rule types that depend only on the attempt and the borrower state (not on time or history)."""
_STATIC = STATIC_RULE_TYPES


def contact_rules(packs: Sequence[RulePack], channel: str) -> list[Rule]:
    """The rules :func:`evaluate` checks besides hours and days, in the order it reports them.

    Parameters
    ----------
    packs : sequence of RulePack
        The packs that apply to the borrower (:func:`applicable_packs`), in that order.
    channel : str

    Returns
    -------
    list of Rule
        Every rule of ``packs`` covering ``channel`` that is neither an obligation nor a
        time rule (:data:`TIME_RULE_TYPES`), pack order then rule order; not filtered by
        :meth:`Rule.in_force`. Memoised per pack set (by identity); do not modify it.
    """
    key = (_Same(tuple(packs)), channel)
    rules = _RULES.get(key)
    if rules is None:
        rules = [
            r
            for p in packs
            for r in p.rules
            if not r.is_obligation
            and r.type not in TIME_RULE_TYPES
            and r.applies_to_channel(channel)
        ]
        if len(_RULES) >= 4096:
            _RULES.clear()
        _RULES[key] = rules
    return rules


def static_block(rule: Rule, attempt: Attempt, borrower: BorrowerState) -> str | None:
    """Why ``rule`` (of a type in :data:`STATIC_RULE_TYPES`) blocks ``attempt``, or None.

    These rules read only the attempt (party, purpose, channel, workplace, staff) and the
    borrower state (flags, opt-outs, reachability), never the time or the history. The rule's
    channels and ``in_force`` are the caller's concern.

    Raises
    ------
    ValueError
        For a rule of another type.
    """
    if rule.type == "hold":
        held = sorted(set(rule.flags) & borrower.flags)
        # a support contact (help offered, no payment asked) is a letter or an e-mail: on any
        # other channel a hold treats it as collection
        purpose_allowed = attempt.purpose in rule.allow_purposes and (
            attempt.purpose != "support" or attempt.channel in SUPPORT_CHANNELS
        )
        if not held or set(rule.until_flags) & borrower.flags or purpose_allowed:
            return None
        until = f" until {' or '.join(rule.until_flags)}" if rule.until_flags else ""
        support_by = " or ".join(SUPPORT_CHANNELS)
        if attempt.purpose == "support" and "support" in rule.allow_purposes:
            return (
                f"hold for {', '.join(held)}{until}: support by {attempt.channel} not allowed "
                f"(support goes by {support_by} only)"
            )
        allowed = ", ".join(
            f"support (by {support_by})" if p == "support" else p for p in rule.allow_purposes
        )
        return (
            f"hold for {', '.join(held)}{until}: {attempt.purpose} not allowed "
            f"(allowed: {allowed or 'nothing'})"
        )
    if rule.type == "channel_opt_out":
        return (
            f"the borrower opted out of {attempt.channel}"
            if attempt.channel in borrower.opted_out
            else None
        )
    if rule.type == "lawyer_only":
        if attempt.party != "lawyer" and set(rule.flags) & borrower.flags:
            return f"the borrower is represented: contact the lawyer only, not {attempt.party}"
        return None
    if rule.type == "no_workplace":
        if attempt.to_workplace and set(rule.flags) & borrower.flags:
            return "no contact at the borrower's workplace"
        return None
    if rule.type == "third_party":
        if attempt.party != "third_party":
            return None
        if attempt.purpose not in rule.allow_purposes:
            return f"a third party may be contacted only to {', '.join(rule.allow_purposes)}"
        if rule.require_unreachable and not borrower.unreachable:
            return "a third party may be contacted only once the borrower is unreachable"
        return None
    if rule.type == "parties_allowed":
        if attempt.party not in rule.parties:
            return f"{attempt.party} may not be contacted (only {', '.join(rule.parties)})"
        return None
    if rule.type == "visit_staff":
        assert rule.min_staff is not None
        if attempt.staff_count < rule.min_staff:
            return f"a field visit needs {rule.min_staff} staff, {attempt.staff_count} planned"
        return None
    raise ValueError(f"rule {rule.id}: type {rule.type} is not a static rule type")


def wait_end(at: datetime, days: int, zones: Sequence[ZoneInfo]) -> datetime:
    """End (exclusive, UTC) of a ``wait_after_conversation`` of ``days`` after a contact at ``at``.

    ``days`` x 24 hours, and at least until the local midnight that ends the ``days``-th
    calendar day counting the contact's own day as the first, in every zone of ``zones``.
    """
    end = at + timedelta(days=days)
    for z in zones:
        local_day = at.astimezone(z).date() + timedelta(days=days)
        end = max(end, local_to_utc(local_day, time(0), z, side="start"))
    return end


_Block = tuple[str, str, bool]  # rule id, reason, permanent (cannot lift with time)


#: Channels a ``support`` contact may use: a hold that allows support allows it only there.
SUPPORT_CHANNELS = ("letter", "email")


def consent_applies(party: str, channel: str) -> bool:
    """Whether a borrower's consent hours cover a contact: only the borrower agreed to them
    (not a third party, a guarantor or a lawyer), and a field visit keeps the statutory hours
    (CN: visits "fall inside the allowed hours", GB/T 45251-2025)."""
    return party == "borrower" and channel != "visit"


def with_consent_hours(packs: list[RulePack], consent: tuple[time, time] | None) -> list[RulePack]:
    """``packs`` with the window of every hours rule marked ``consent_overrides`` replaced by
    the borrower's ``consent`` hours (local start, end; end ``time(0)`` = midnight); the packs
    unchanged when ``consent`` is None. Source: CN rules allow contact outside 08:00-22:00
    only where the borrower agreed to other times (GB/T 45251-2025; CBA guideline 2026)."""
    if consent is None:
        return packs
    start, end = consent
    out = []
    for p in packs:
        if not any(r.consent_overrides for r in p.rules):
            out.append(p)
            continue
        rules = tuple(
            dataclasses.replace(r, start=start, end=end, end_is_midnight=end == time(0))
            if r.type == "contact_hours" and r.consent_overrides
            else r
            for r in p.rules
        )
        out.append(dataclasses.replace(p, rules=rules))
    return out


def counts_toward(p: PastContact, counts: str) -> bool:
    """True when the past contact ``p`` counts for a cap that counts ``counts``.

    ``counts`` is ``attempts``, ``connected``, ``conversations`` or ``unanswered`` (see
    :mod:`arrears.domain.compliance.packs`); a ``reserved`` entry counts for every basis.
    """
    if p.outcome == RESERVED or counts == "attempts":
        return True
    if counts == "connected":
        return p.outcome in CONNECTED_OUTCOMES or p.conversation
    if counts == "conversations":
        return p.conversation
    return p.outcome in UNANSWERED_OUTCOMES


class _Context:
    """Everything fixed for one evaluation; ``blocks(t)`` evaluates the attempt at ``t``."""

    def __init__(
        self,
        attempt: Attempt,
        history: Sequence[PastContact],
        borrower: BorrowerState,
        packs: list[RulePack],
        is_holiday: HolidayLookup,
    ) -> None:
        self.attempt = attempt
        self.borrower = borrower
        self.is_holiday = is_holiday
        self.zone_names = candidate_zones(borrower.jurisdiction, borrower.timezone)
        self.zones = [ZoneInfo(z) for z in self.zone_names]
        consent = (
            borrower.consent_for(attempt.channel)
            if consent_applies(attempt.party, attempt.channel)
            else None
        )
        self.window_packs = with_consent_hours(packs, consent)
        self._window_key = (
            _Same((*self.window_packs, is_holiday)),
            borrower.jurisdiction,
            borrower.timezone,
            attempt.channel,
        )
        self.rules = contact_rules(packs, attempt.channel)
        self.history = sorted(history, key=lambda p: p.at)
        # each contact's local calendar date in every candidate zone, computed once if needed
        self._dates: dict[int, tuple[date, ...]] = {}
        self._t_dates: tuple[datetime, tuple[date, ...]] | None = None
        self._windows: dict[date, WindowCheck] = {}
        self._hours_rules: dict[date, list[Rule]] = {}

    # -- hours and days: allowed_window, exactly as the planner ------------------------------
    def window(self, day: date) -> WindowCheck:
        w = self._windows.get(day)
        if w is None:
            key = (*self._window_key, day)
            w = _WINDOWS.get(key)
            if w is None:
                w = allowed_window(
                    day,
                    self.borrower.jurisdiction,
                    self.borrower.timezone,
                    self.attempt.channel,
                    self.window_packs,
                    self.is_holiday,
                    preselected=True,
                )
                if len(_WINDOWS) >= _WINDOWS_MAX:
                    _WINDOWS.clear()
                _WINDOWS[key] = w
            self._windows[day] = w
        return w

    def _hours_rule_blocks(self, rule: Rule, day: date, t: datetime) -> bool:
        assert rule.start is not None and rule.end is not None
        end_day = day + timedelta(days=1) if rule.end_is_midnight else day
        for z in self.zones:
            s = local_to_utc(day, rule.start, z, side="start")
            e = local_to_utc(end_day, rule.end, z, side="end")
            if not s <= t < e:
                return True
        return False

    def hours_blocks(self, t: datetime, out: list[_Block], *, quick: bool = False) -> None:
        days = sorted({t.astimezone(z).date() for z in self.zones})
        for day in days:
            w = self.window(day)
            if w.blocking_rule_ids:
                out.extend(
                    (rid, why, False)
                    for rid, why in zip(w.blocking_rule_ids, w.reasons, strict=True)
                )
                continue
            if not w.limiting_rule_ids:
                continue  # no hours rule for this channel: any time of the day
            assert w.start is not None and w.end is not None
            if w.start <= t < w.end:
                continue
            if quick:  # only "blocked or not" is wanted
                out.append((w.limiting_rule_ids[0], "", False))
                return
            rules = [
                r
                for p in self.window_packs
                for r in p.rules
                if r.id in w.limiting_rule_ids and r.type == "contact_hours"
            ]
            culprits = [r for r in rules if self._hours_rule_blocks(r, day, t)] or rules
            z0 = self.zones[0]
            for r in culprits:
                assert r.start is not None and r.end is not None
                consent = " (hours the borrower agreed to)" if self._consented(r) else ""
                out.append(
                    (
                        r.id,
                        f"outside the allowed hours {r.start:%H:%M}-"
                        f"{'24:00' if r.end_is_midnight else format(r.end, '%H:%M')}{consent} "
                        f"local time ({t.astimezone(z0):%Y-%m-%d %H:%M} {z0.key}"
                        + (
                            f", every zone of {list(self.zone_names)}"
                            if len(self.zones) > 1
                            else ""
                        )
                        + f"): {describe(r)}",
                        False,
                    )
                )

    def _consented(self, rule: Rule) -> bool:
        return (
            self.borrower.consent_for(self.attempt.channel) is not None
            and rule.consent_overrides
            and consent_applies(self.attempt.party, self.attempt.channel)
        )

    # -- counting helpers --------------------------------------------------------------------
    def _same_debt(self, p: PastContact, per: str) -> bool:
        if per == "account":
            a, b = self.attempt.account_id, p.account_id
            return a is None or b is None or a == b
        if per == "number":
            a, b = self.attempt.number, p.number
            return a is None or b is None or a == b
        return True

    def _local_dates(self, t: datetime) -> tuple[date, ...]:
        if self._t_dates is None or self._t_dates[0] != t:
            self._t_dates = (t, tuple(t.astimezone(z).date() for z in self.zones))
        return self._t_dates[1]

    def _in_period(self, p: PastContact, t: datetime, days: int, rolling: bool) -> bool:
        if rolling and abs(t - p.at) < timedelta(days=days):
            return True
        mine = self._local_dates(t)
        theirs = self._dates.get(id(p))
        if theirs is None:
            theirs = self._dates[id(p)] = tuple(p.at.astimezone(z).date() for z in self.zones)
        return any(abs((a - b).days) < days for a, b in zip(mine, theirs, strict=True))

    def _wait_end(self, p: PastContact, days: int) -> datetime:
        return wait_end(p.at, days, self.zones)

    # -- the whole check at one instant ------------------------------------------------------
    def blocks(self, t: datetime, *, first_only: bool = False) -> list[_Block]:
        out: list[_Block] = []
        self.hours_blocks(t, out, quick=first_only)
        if out and first_only:
            return out
        on = t.astimezone(self.zones[0]).date()
        for r in self.rules:
            if not r.in_force(on):
                continue
            permanent = r.effective_to is None
            why = self._rule_block(r, t)
            if why is None:
                continue
            out.append((r.id, f"{why}: {describe(r)}", permanent and r.type in _STATIC))
            if first_only:
                return out
        return out

    def _rule_block(self, r: Rule, t: datetime) -> str | None:
        a, b = self.attempt, self.borrower
        rt = r.type
        if rt in STATIC_RULE_TYPES:
            return static_block(r, a, b)
        if rt == "daily_call_cap":
            assert r.max_calls is not None
            n = sum(
                1
                for p in self.history
                if p.channel == "call"
                and counts_toward(p, r.counts)
                and self._in_period(p, t, 1, rolling=False)
            )
            if n >= r.max_calls:
                return (
                    f"daily call cap reached: {n} calls ({r.counts}) that local day, "
                    f"cap {r.max_calls}"
                )
            return None
        if rt == "rolling_cap":
            assert r.limit is not None and r.days is not None
            n = sum(
                1
                for p in self.history
                if p.channel in r.channels
                and counts_toward(p, r.counts)
                and self._same_debt(p, r.per)
                and self._in_period(p, t, r.days, rolling=r.period == "rolling")
            )
            if n >= r.limit:
                return (
                    f"cap reached: {n} {r.counts} on {'/'.join(r.channels)} within {r.days} "
                    f"day(s) per {r.per}, cap {r.limit}"
                )
            return None
        if rt == "wait_after_conversation":
            assert r.days is not None
            for p in reversed(self.history):
                if (
                    p.at <= t
                    and p.channel in r.channels
                    and (p.conversation or p.outcome == RESERVED)
                    and self._same_debt(p, r.per)
                    and t < self._wait_end(p, r.days)
                ):
                    what = "conversation" if p.conversation else "reserved contact"
                    return (
                        f"{r.days}-day wait after a {what} on {p.channel} at "
                        f"{p.at.astimezone(UTC):%Y-%m-%d %H:%M}Z"
                    )
            return None
        raise AssertionError(f"rule type {rt} is not evaluated")  # pragma: no cover

    # -- next_allowed_at ---------------------------------------------------------------------
    def lift_instants(self) -> list[datetime]:
        """Instants, from the history, where a cap or a wait can lift."""
        out: set[datetime] = set()
        for r in self.rules:
            if r.type == "rolling_cap" and r.period == "rolling" and r.days:
                span = timedelta(days=r.days)
                out.update(p.at + span for p in self.history if p.channel in r.channels)
            elif r.type == "wait_after_conversation" and r.days:
                out.update(
                    self._wait_end(p, r.days)
                    for p in self.history
                    if p.channel in r.channels and (p.conversation or p.outcome == RESERVED)
                )
        return sorted(out)

    def next_allowed(self) -> datetime | None:
        start = self.attempt.at
        horizon = start + HORIZON
        lifts = self.lift_instants()
        lo, step = start, timedelta(days=2)
        while lo < horizon:
            hi = min(lo + step, horizon)
            cands: set[datetime] = {x for x in lifts if lo < x <= hi}
            day = lo.astimezone(UTC).date() - timedelta(days=2)
            last = hi.astimezone(UTC).date() + timedelta(days=2)
            while day <= last:
                for z in self.zones:
                    cands.add(local_to_utc(day, time(0), z, side="start"))
                w = self.window(day)
                if w.start is not None:
                    cands.add(w.start)
                day += timedelta(days=1)
            for c in sorted(x for x in cands if lo < x <= hi):
                if not self.blocks(c, first_only=True):
                    return c.astimezone(UTC)
            lo, step = hi, timedelta(days=7)
        return None


def evaluate(
    attempt: Attempt,
    history: Sequence[PastContact],
    borrower: BorrowerState,
    packs: Sequence[RulePack],
    is_holiday: HolidayLookup,
) -> Decision:
    """Decide whether ``attempt`` may be made, which rules block it, and when it could be.

    Parameters
    ----------
    attempt : Attempt
        The contact wanted, at ``attempt.at``.
    history : sequence of PastContact
        The borrower's contacts made or reserved by the lender and every agency (any order).
    borrower : BorrowerState
        Jurisdiction, zone, flags, opt-outs, consent hours, reachability.
    packs : sequence of RulePack
        All loaded packs; :func:`applicable_packs` selects those that apply.
    is_holiday : callable
        ``(jurisdiction, local_date) -> bool`` public-holiday lookup for the borrower's region.

    Returns
    -------
    Decision
        ``allowed`` only when every applicable pack allows it; otherwise every blocking rule
        id with a reason, and ``next_allowed_at`` (see :class:`Decision`).

    Raises
    ------
    ValueError
        When ``attempt.borrower_id`` is not ``borrower.borrower_id``.
    """
    if attempt.borrower_id != borrower.borrower_id:
        raise ValueError(
            f"attempt is for borrower {attempt.borrower_id!r}, state for {borrower.borrower_id!r}"
        )
    applicable = applicable_packs(borrower, packs)
    refs = tuple(p.ref for p in applicable)
    if not applicable:
        return Decision(
            False,
            (NO_RULE_PACK,),
            (
                f"no rule pack covers jurisdiction {borrower.jurisdiction!r}: "
                "nothing is sent without rules",
            ),
            None,
            refs,
        )
    at = attempt.at.astimezone(UTC)
    if attempt.at.tzinfo is not UTC:
        attempt = dataclasses.replace(attempt, at=at)
    ctx = _Context(attempt, history, borrower, applicable, is_holiday)
    found = ctx.blocks(at)
    if not found:
        return Decision(True, (), (), at, refs)
    ids: list[str] = []
    reasons: list[str] = []
    for rid, why, _ in found:
        if rid not in ids:
            ids.append(rid)
            reasons.append(why)
    nxt = None if any(perm for _, _, perm in found) else ctx.next_allowed()
    return Decision(False, tuple(ids), tuple(reasons), nxt, refs)


__all__ = [
    "CONNECTED_OUTCOMES",
    "CONTACT_OUTCOMES",
    "HORIZON",
    "NO_RULE_PACK",
    "STATIC_RULE_TYPES",
    "TIME_RULE_TYPES",
    "UNANSWERED_OUTCOMES",
    "Attempt",
    "BorrowerState",
    "Decision",
    "HolidayLookup",
    "PastContact",
    "applicable_packs",
    "contact_rules",
    "counts_toward",
    "evaluate",
    "static_block",
    "wait_end",
]
