"""Rule packs: versioned, cited contact rules per jurisdiction, parsed from plain data.

A rule pack is data (``rules/<ID>.yaml`` in the repository); this module turns the parsed
mapping into typed rules and refuses a bad pack with the file, rule and field at fault.

Rule types understood by the first compliance check:

``contact_hours``
    params ``channels`` (list), ``start`` and ``end`` (``HH:MM`` local time of the borrower);
    a contact on those channels must start at or after ``start`` and end by ``end``.
``no_contact_days``
    params ``channels``, ``weekdays`` (``mon`` ... ``sun``) and ``public_holidays`` (bool):
    no contact on those channels on those local days.
``daily_call_cap``
    params ``max_calls`` (int >= 0) and ``counts`` (``attempts`` or ``connected``): at most that
    many calls per borrower per local calendar day, counted across every account, the lender and
    its agencies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from enum import StrEnum
from typing import Any

CHANNELS = ("call", "sms", "email", "wechat", "letter", "app_push", "visit")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RULE_TYPES = ("contact_hours", "no_contact_days", "daily_call_cap")
_JURISDICTION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3}){0,2}$")
_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


class RuleKind(StrEnum):
    """Legal force of a rule."""

    STATUTE = "statute"
    REGULATION = "regulation"
    NATIONAL_STANDARD = "national_standard"
    SELF_REGULATORY = "self_regulatory_guideline"
    HOUSE_POLICY = "house_policy"


class RulePackError(ValueError):
    """A rule pack that cannot be used.

    Attributes
    ----------
    origin : str
        File (or other origin) of the pack.
    rule_id : str
        Rule at fault, or ``""`` for the pack header.
    field : str
        Field at fault.
    reason : str
        What is wrong.
    """

    def __init__(self, origin: str, rule_id: str, field: str, reason: str) -> None:
        self.origin, self.rule_id, self.field, self.reason = origin, rule_id, field, reason
        where = f"rule {rule_id}, " if rule_id else ""
        super().__init__(f"{origin}: {where}field {field!r}: {reason}")


@dataclass(frozen=True, slots=True)
class Source:
    """Legal source of a rule: the instrument and the article or clause."""

    instrument: str
    provision: str
    url: str = ""

    def __str__(self) -> str:
        return f"{self.instrument}, {self.provision}"


@dataclass(frozen=True, slots=True)
class Rule:
    """One cited rule of a pack. ``params`` depend on ``type`` (see module docstring)."""

    id: str
    type: str
    kind: RuleKind
    description: str
    source: Source
    effective_from: date
    effective_to: date | None
    channels: tuple[str, ...] = ()
    start: time | None = None
    end: time | None = None  # time(0) with end_is_midnight means 24:00
    end_is_midnight: bool = False
    weekdays: tuple[int, ...] = ()  # 0 = Monday
    public_holidays: bool = False
    max_calls: int | None = None
    counts: str = "attempts"

    def in_force(self, on: date) -> bool:
        """True when the rule is in force on ``on`` (inclusive bounds)."""
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def applies_to_channel(self, channel: str) -> bool:
        """True when the rule covers ``channel``."""
        return channel in self.channels


@dataclass(frozen=True, slots=True)
class RulePack:
    """A versioned set of rules for one jurisdiction (or an overlay for a subdivision)."""

    id: str
    version: str
    applies_to: tuple[str, ...]
    description: str
    rules: tuple[Rule, ...]

    @property
    def ref(self) -> str:
        """``id@version``, the reference written into plans and audit records."""
        return f"{self.id}@{self.version}"

    def applies(self, jurisdiction: str) -> bool:
        """True when the pack covers ``jurisdiction`` (a pack for ``US`` covers ``US-NY-NYC``)."""
        return any(jurisdiction == j or jurisdiction.startswith(j + "-") for j in self.applies_to)


def _req(d: Mapping[str, Any], key: str, origin: str, rule_id: str) -> Any:
    if key not in d or d[key] in (None, ""):
        raise RulePackError(origin, rule_id, key, "is required")
    return d[key]


def _date(v: Any, origin: str, rule_id: str, field: str) -> date:
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v))
    except ValueError:
        raise RulePackError(origin, rule_id, field, f"not a YYYY-MM-DD date: {v!r}") from None


def _hhmm(v: Any, origin: str, rule_id: str, field: str) -> tuple[time, bool]:
    m = _HHMM.match(str(v))
    if not m:
        raise RulePackError(origin, rule_id, field, f"not a HH:MM time: {v!r}")
    h, mi = int(m.group(1)), int(m.group(2))
    if h == 24:
        if mi:
            raise RulePackError(origin, rule_id, field, f"not a HH:MM time: {v!r}")
        return time(0), True
    return time(h, mi), False


def _channels(v: Any, origin: str, rule_id: str) -> tuple[str, ...]:
    if not isinstance(v, Sequence) or isinstance(v, str) or not v:
        raise RulePackError(origin, rule_id, "channels", "must be a non-empty list")
    for c in v:
        if c not in CHANNELS:
            raise RulePackError(origin, rule_id, "channels", f"unknown channel {c!r}")
    return tuple(v)


def parse_rule(d: Mapping[str, Any], origin: str) -> Rule:
    """Parse one rule mapping.

    Raises
    ------
    RulePackError
        Naming the rule and field at fault.
    """
    if not isinstance(d, Mapping):
        raise RulePackError(origin, "", "rules", "each rule must be a mapping")
    rid = str(_req(d, "id", origin, "?"))
    rtype = str(_req(d, "type", origin, rid))
    if rtype not in RULE_TYPES:
        raise RulePackError(origin, rid, "type", f"unknown rule type {rtype!r}")
    try:
        kind = RuleKind(str(_req(d, "kind", origin, rid)))
    except ValueError:
        raise RulePackError(
            origin, rid, "kind", f"must be one of {[k.value for k in RuleKind]}"
        ) from None
    src = _req(d, "source", origin, rid)
    if not isinstance(src, Mapping):
        raise RulePackError(origin, rid, "source", "must give instrument and provision")
    source = Source(
        str(_req(src, "instrument", origin, rid)),
        str(_req(src, "provision", origin, rid)),
        str(src.get("url", "") or ""),
    )
    eff_from = _date(_req(d, "effective_from", origin, rid), origin, rid, "effective_from")
    eff_to = d.get("effective_to")
    eff_to_d = _date(eff_to, origin, rid, "effective_to") if eff_to else None
    if eff_to_d and eff_to_d < eff_from:
        raise RulePackError(origin, rid, "effective_to", "is before effective_from")
    params = d.get("params") or {}
    if not isinstance(params, Mapping):
        raise RulePackError(origin, rid, "params", "must be a mapping")
    base = dict(
        id=rid,
        type=rtype,
        kind=kind,
        description=str(_req(d, "description", origin, rid)),
        source=source,
        effective_from=eff_from,
        effective_to=eff_to_d,
    )
    if rtype == "contact_hours":
        start, s24 = _hhmm(_req(params, "start", origin, rid), origin, rid, "params.start")
        end, e24 = _hhmm(_req(params, "end", origin, rid), origin, rid, "params.end")
        if s24:
            raise RulePackError(origin, rid, "params.start", "cannot be 24:00")
        if not e24 and end <= start:
            raise RulePackError(origin, rid, "params.end", "must be after start (same day)")
        return Rule(
            **base,  # type: ignore[arg-type]
            channels=_channels(params.get("channels"), origin, rid),
            start=start,
            end=end,
            end_is_midnight=e24,
        )
    if rtype == "no_contact_days":
        days = params.get("weekdays") or []
        for wd in days:
            if wd not in WEEKDAYS:
                raise RulePackError(origin, rid, "params.weekdays", f"unknown weekday {wd!r}")
        return Rule(
            **base,  # type: ignore[arg-type]
            channels=_channels(params.get("channels"), origin, rid),
            weekdays=tuple(WEEKDAYS.index(w) for w in days),
            public_holidays=bool(params.get("public_holidays", False)),
        )
    max_calls = _req(params, "max_calls", origin, rid)
    if not isinstance(max_calls, int) or isinstance(max_calls, bool) or max_calls < 0:
        raise RulePackError(origin, rid, "params.max_calls", "must be a whole number >= 0")
    counts = str(params.get("counts", "attempts"))
    if counts not in ("attempts", "connected"):
        raise RulePackError(origin, rid, "params.counts", "must be attempts or connected")
    return Rule(
        **base,  # type: ignore[arg-type]
        channels=("call",),
        max_calls=max_calls,
        counts=counts,
    )


def parse_pack(d: Mapping[str, Any], origin: str) -> RulePack:
    """Parse a whole pack mapping (as loaded from YAML).

    Raises
    ------
    RulePackError
        For a missing or bad header field, a bad rule, or a rule id used twice.
    """
    if not isinstance(d, Mapping):
        raise RulePackError(origin, "", "", "a rule pack must be a mapping")
    pid = str(_req(d, "id", origin, ""))
    version = str(_req(d, "version", origin, ""))
    applies = _req(d, "applies_to", origin, "")
    if isinstance(applies, str) or not isinstance(applies, Sequence):
        raise RulePackError(origin, "", "applies_to", "must be a list of jurisdiction codes")
    for j in applies:
        if not _JURISDICTION.match(str(j)):
            raise RulePackError(origin, "", "applies_to", f"bad jurisdiction code {j!r}")
    raw_rules = _req(d, "rules", origin, "")
    if not isinstance(raw_rules, Sequence) or isinstance(raw_rules, str):
        raise RulePackError(origin, "", "rules", "must be a list")
    rules = tuple(parse_rule(r, origin) for r in raw_rules)
    seen: set[str] = set()
    for r in rules:
        if r.id in seen:
            raise RulePackError(origin, r.id, "id", "rule id used twice")
        if not r.id.startswith(pid + "."):
            raise RulePackError(origin, r.id, "id", f"rule ids of pack {pid} must start '{pid}.'")
        seen.add(r.id)
    return RulePack(
        pid, version, tuple(str(j) for j in applies), str(d.get("description", "")), rules
    )


def packs_for(jurisdiction: str, packs: Sequence[RulePack]) -> list[RulePack]:
    """Every pack that applies to ``jurisdiction``; all of them must allow a contact."""
    return [p for p in packs if p.applies(jurisdiction)]
