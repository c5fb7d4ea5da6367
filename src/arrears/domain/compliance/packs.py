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

Rule types added for the full engine (:mod:`arrears.domain.compliance.engine`):

``rolling_cap``
    params ``max`` (int >= 0), ``days`` (int >= 1), ``channels`` (default: all), ``counts``
    (``attempts``, ``connected``, ``conversations`` or ``unanswered``), ``per`` (``borrower``,
    ``account`` or ``number``) and ``period`` (``rolling``, the default: ``days`` x 24 hours or
    ``days`` local calendar days, whichever is longer; ``local_day``: ``days`` local calendar
    days only). An attempt is refused when ``max`` counted contacts already fall in its period.
``wait_after_conversation``
    params ``days`` (int >= 1), ``channels`` (default ``[call]``), ``per`` (``borrower`` or
    ``account``): no contact on those channels for ``days`` (24-hour days, and at least until
    the local midnight ending the ``days``-th calendar day counting the day of the conversation
    as the first) after a conversation about the debt on one of those channels.
``hold``
    params ``flags`` (borrower flags), ``allow_purposes`` (default none), ``until_flags``
    (default none; the hold lifts once any of them is set), ``channels`` (default all): while
    the borrower has one of ``flags``, only contacts for ``allow_purposes`` are allowed.
``channel_opt_out``
    params ``channels`` (default all): no contact on a channel the borrower opted out of.
``lawyer_only``
    params ``flags`` (default ``[represented]``), ``channels`` (default all): while flagged,
    only contacts with ``party: lawyer``.
``no_workplace``
    params ``flags`` (default ``[no_workplace_contact]``), ``channels`` (default all): no
    contact at the workplace while flagged.
``third_party``
    params ``allow_purposes`` (default ``[locate]``), ``require_unreachable`` (default true),
    ``channels`` (default all): a contact with ``party: third_party`` only for those purposes,
    and only once the borrower is unreachable when required. (What may be said is checked when
    a template is registered, by the content check.)
``parties_allowed``
    params ``parties``, ``channels`` (default all): only those parties may be contacted.
``visit_staff``
    params ``min_staff`` (int >= 1): a field visit needs at least that many staff.
``record_keeping``
    params ``months`` (int >= 1), ``channels``: an obligation (keep recordings or records that
    long), listed for people and audits, never a contact predicate.

``contact_hours`` also takes ``consent_overrides`` (bool, default false): when the borrower
agreed to other contact hours, those replace the rule's window.

A pack whose ``applies_to`` is ``["*"]`` is global (everywhere rules, a lender's house policy):
it applies to every borrower that some jurisdiction pack covers.
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
RULE_TYPES = (
    "contact_hours",
    "no_contact_days",
    "daily_call_cap",
    "rolling_cap",
    "wait_after_conversation",
    "hold",
    "channel_opt_out",
    "lawyer_only",
    "no_workplace",
    "third_party",
    "parties_allowed",
    "visit_staff",
    "record_keeping",
)
OBLIGATION_TYPES = ("record_keeping",)
"""Rule types that state an obligation and are never evaluated against a contact."""
BORROWER_FLAGS = (
    "cease_communication",
    "dispute_open",
    "deceased",
    "bankrupt",
    "represented",
    "vulnerable",
    "complaint_open",
    "hardship_pause",
    "no_workplace_contact",
    "validation_sent",
)
PARTIES = ("borrower", "lawyer", "third_party", "guarantor")
#: Why a contact is made. ``support``: hardship or forbearance outreach that offers help and
#: never asks for payment (the hardship review of a vulnerable borrower; ALL.HOLD.VULNERABLE
#: lets it through, no other hold does).
PURPOSES = ("collection", "locate", "validation_notice", "legal_notice", "support")
CAP_COUNTS = ("attempts", "connected", "conversations", "unanswered")
CAP_PER = ("borrower", "account", "number")
CAP_PERIODS = ("rolling", "local_day")
GLOBAL = "*"
#: A jurisdiction code: ISO 3166-1 alpha-2, then up to two ``-`` parts (US-NY-NYC).
JURISDICTION_CODE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3}){0,2}$")
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
    limit: int | None = None  # rolling_cap: the maximum counted contacts in the period
    days: int | None = None  # rolling_cap, wait_after_conversation
    period: str = "rolling"
    per: str = "borrower"
    flags: tuple[str, ...] = ()
    until_flags: tuple[str, ...] = ()
    allow_purposes: tuple[str, ...] = ()
    parties: tuple[str, ...] = ()
    require_unreachable: bool = True
    min_staff: int | None = None
    months: int | None = None
    consent_overrides: bool = False
    params: tuple[tuple[str, str], ...] = ()  # the pack's params as written, for display

    def in_force(self, on: date) -> bool:
        """True when the rule is in force on ``on`` (inclusive bounds)."""
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def applies_to_channel(self, channel: str) -> bool:
        """True when the rule covers ``channel``."""
        return channel in self.channels

    @property
    def is_obligation(self) -> bool:
        """True for an obligation (e.g. record keeping): listed, never a contact predicate."""
        return self.type in OBLIGATION_TYPES


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

    @property
    def is_global(self) -> bool:
        """True for a pack with ``applies_to: ["*"]`` (everywhere rules, house policy)."""
        return GLOBAL in self.applies_to

    def applies(self, jurisdiction: str) -> bool:
        """True when the pack covers ``jurisdiction`` (a pack for ``US`` covers ``US-NY-NYC``;
        a global pack covers every jurisdiction)."""
        return any(
            j == GLOBAL or jurisdiction == j or jurisdiction.startswith(j + "-")
            for j in self.applies_to
        )


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
        params=tuple((str(k), _show(v)) for k, v in params.items()),
    )
    known = _PARAMS[rtype]
    for key in params:
        if key not in known:
            raise RulePackError(
                origin, rid, f"params.{key}", f"unknown parameter for {rtype} (known: {known})"
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
            consent_overrides=_bool(params, "consent_overrides", False, origin, rid),
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
    if rtype == "daily_call_cap":
        max_calls = _int(params, "max_calls", 0, origin, rid)
        counts = str(params.get("counts", "attempts"))
        if counts not in ("attempts", "connected"):
            raise RulePackError(origin, rid, "params.counts", "must be attempts or connected")
        return Rule(
            **base,  # type: ignore[arg-type]
            channels=("call",),
            max_calls=max_calls,
            counts=counts,
        )
    if rtype == "rolling_cap":
        return Rule(
            **base,  # type: ignore[arg-type]
            channels=_channels_or_all(params, origin, rid),
            limit=_int(params, "max", 0, origin, rid),
            days=_int(params, "days", 1, origin, rid),
            counts=_choice(params, "counts", CAP_COUNTS, "attempts", origin, rid),
            per=_choice(params, "per", CAP_PER, "borrower", origin, rid),
            period=_choice(params, "period", CAP_PERIODS, "rolling", origin, rid),
        )
    if rtype == "wait_after_conversation":
        return Rule(
            **base,  # type: ignore[arg-type]
            channels=_channels(params.get("channels", ["call"]), origin, rid),
            days=_int(params, "days", 1, origin, rid),
            per=_choice(params, "per", ("borrower", "account"), "borrower", origin, rid),
        )
    if rtype == "hold":
        flags = _names(params.get("flags"), "flags", BORROWER_FLAGS, origin, rid, required=True)
        return Rule(
            **base,  # type: ignore[arg-type]
            channels=_channels_or_all(params, origin, rid),
            flags=flags,
            until_flags=_names(
                params.get("until_flags"), "until_flags", BORROWER_FLAGS, origin, rid
            ),
            allow_purposes=_names(
                params.get("allow_purposes"), "allow_purposes", PURPOSES, origin, rid
            ),
        )
    if rtype == "channel_opt_out":
        return Rule(**base, channels=_channels_or_all(params, origin, rid))  # type: ignore[arg-type]
    if rtype in ("lawyer_only", "no_workplace"):
        default = ["represented"] if rtype == "lawyer_only" else ["no_workplace_contact"]
        return Rule(
            **base,  # type: ignore[arg-type]
            channels=_channels_or_all(params, origin, rid),
            flags=_names(params.get("flags", default), "flags", BORROWER_FLAGS, origin, rid),
        )
    if rtype == "third_party":
        return Rule(
            **base,  # type: ignore[arg-type]
            channels=_channels_or_all(params, origin, rid),
            allow_purposes=_names(
                params.get("allow_purposes", ["locate"]), "allow_purposes", PURPOSES, origin, rid
            ),
            require_unreachable=_bool(params, "require_unreachable", True, origin, rid),
        )
    if rtype == "parties_allowed":
        return Rule(
            **base,  # type: ignore[arg-type]
            channels=_channels_or_all(params, origin, rid),
            parties=_names(params.get("parties"), "parties", PARTIES, origin, rid, required=True),
        )
    if rtype == "visit_staff":
        return Rule(
            **base,  # type: ignore[arg-type]
            channels=("visit",),
            min_staff=_int(params, "min_staff", 1, origin, rid),
        )
    # record_keeping: an obligation, listed but never evaluated against a contact
    return Rule(
        **base,  # type: ignore[arg-type]
        channels=_channels_or_all(params, origin, rid),
        months=_int(params, "months", 1, origin, rid),
    )


_PARAMS: dict[str, tuple[str, ...]] = {
    "contact_hours": ("channels", "start", "end", "consent_overrides"),
    "no_contact_days": ("channels", "weekdays", "public_holidays"),
    "daily_call_cap": ("max_calls", "counts"),
    "rolling_cap": ("max", "days", "channels", "counts", "per", "period"),
    "wait_after_conversation": ("days", "channels", "per"),
    "hold": ("flags", "until_flags", "allow_purposes", "channels"),
    "channel_opt_out": ("channels",),
    "lawyer_only": ("flags", "channels"),
    "no_workplace": ("flags", "channels"),
    "third_party": ("allow_purposes", "require_unreachable", "channels"),
    "parties_allowed": ("parties", "channels"),
    "visit_staff": ("min_staff",),
    "record_keeping": ("months", "channels"),
}


def _show(v: Any) -> str:
    if isinstance(v, Sequence) and not isinstance(v, str):
        return ", ".join(str(x) for x in v)
    return str(v)


def _int(params: Mapping[str, Any], key: str, low: int, origin: str, rid: str) -> int:
    if params.get(key) is None:
        raise RulePackError(origin, rid, f"params.{key}", "is required")
    v = params[key]
    if not isinstance(v, int) or isinstance(v, bool) or v < low:
        raise RulePackError(origin, rid, f"params.{key}", f"must be a whole number >= {low}")
    return v


def _bool(params: Mapping[str, Any], key: str, default: bool, origin: str, rid: str) -> bool:
    v = params.get(key, default)
    if not isinstance(v, bool):
        raise RulePackError(origin, rid, f"params.{key}", "must be true or false")
    return v


def _choice(
    params: Mapping[str, Any],
    key: str,
    allowed: tuple[str, ...],
    default: str,
    origin: str,
    rid: str,
) -> str:
    v = str(params.get(key, default))
    if v not in allowed:
        raise RulePackError(origin, rid, f"params.{key}", f"must be one of {list(allowed)}")
    return v


def _names(
    v: Any,
    key: str,
    allowed: tuple[str, ...],
    origin: str,
    rid: str,
    *,
    required: bool = False,
) -> tuple[str, ...]:
    if v is None:
        v = []
    if isinstance(v, str) or not isinstance(v, Sequence):
        raise RulePackError(origin, rid, f"params.{key}", "must be a list")
    if required and not v:
        raise RulePackError(origin, rid, f"params.{key}", "must be a non-empty list")
    for x in v:
        if x not in allowed:
            raise RulePackError(
                origin, rid, f"params.{key}", f"unknown value {x!r} (known: {list(allowed)})"
            )
    return tuple(str(x) for x in v)


def _channels_or_all(params: Mapping[str, Any], origin: str, rid: str) -> tuple[str, ...]:
    if "channels" not in params:
        return CHANNELS
    return _channels(params["channels"], origin, rid)


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
        if str(j) == GLOBAL:
            if len(applies) != 1:
                raise RulePackError(origin, "", "applies_to", '"*" must stand alone')
            continue
        if not JURISDICTION_CODE.match(str(j)):
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
    """Every pack that applies to ``jurisdiction``; all of them must allow a contact.

    Global packs (``applies_to: ["*"]``) are included only when at least one jurisdiction pack
    covers ``jurisdiction``: a borrower no jurisdiction pack covers gets no packs at all, and
    nothing is sent to them (global rules alone do not make a contact lawful).
    """
    specific = [p for p in packs if not p.is_global and p.applies(jurisdiction)]
    if not specific:
        return []
    ids = {id(p) for p in specific}
    return [p for p in packs if p.is_global or id(p) in ids]
