"""Load a strategy file (YAML) into a domain :class:`~arrears.domain.strategy.Strategy`.

The format is documented for collections managers in ``docs/strategy.md``; in short::

    strategy: default-2026.2          # name written into every decision
    description: ...
    jurisdictions: [TW, CN]           # optional: where it is used (checked for channels)
    paths:                            # treatment paths, by name
      sms_reminder: {treatment: sms_reminder, channels: [sms], cadence_days: 3,
                     templates: [m1_sms], offers: []}
    segment_groups:                   # optional: segment lists shared by arms
      holds: [ {segment: deceased, flags: [deceased], path: hold, reason: ...} ]
    arms:
      - arm: champion
        share: 90                     # percent; shares add up to 100
        segments:                     # ordered, first match wins, last must match everyone
          - include: holds
          - segment: early
            buckets: [M1]             # any of; omitted = any bucket
            score_min: 0.0            # propensity to pay band [min, max)
            score_max: 0.7
            balance_min: 0            # arrears amount band [min, max), whole major units
            balance_max: 50000
            flags: [hardship]         # any of; omitted = no flag condition
            path: sms_reminder
            reason: early arrears, remind by SMS
    offers: {...}                     # optional offer settings (OfferPolicy)
    legal_limits: {...}               # optional caps (LegalLimits)

Every problem is reported with the file, the line, where (arm/segment/path) and the field:
unknown fields, unknown buckets/flags/channels/treatments/offer types, bad bands, a segment
that an earlier one makes unreachable, arm shares that do not add up to 100, a channel the
jurisdiction forbids (``forbidden_channels``: e.g. WeChat outside mainland China), a segment
testing a hold flag whose path plans contacts that hold always refuses
(:func:`arrears.domain.strategy.hold_conflict`), a ``no_action`` path with channels, and the
reserved segment name ``nothing_due`` (an account on which nothing is owed gets it instead of a
segment that would contact the borrower or make an offer).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from arrears.adapters.portfolio.schema import CHANNELS
from arrears.domain.delinquency import DEFAULT_BUCKETS
from arrears.domain.plans import (
    DEFAULT_LIMITS,
    DEFAULT_OFFER_POLICY,
    CapKind,
    LegalLimits,
    OfferPolicy,
    OfferType,
    PlanError,
    ProductCap,
    RateCap,
    SettlementBounds,
)
from arrears.domain.strategy import (
    NOTHING_DUE,
    STRATEGY_FLAGS,
    Arm,
    Segment,
    Strategy,
    Treatment,
    hold_conflict,
)

#: Channels forbidden per jurisdiction (``*``: every jurisdiction not listed). WeChat is a
#: mainland-China channel: nowhere else is it a lawful, verified collection channel here.
DEFAULT_FORBIDDEN_CHANNELS: dict[str, frozenset[str]] = {
    "CN": frozenset(),
    "*": frozenset({"wechat"}),
}

DEFAULT_STRATEGY_FILE = Path(__file__).resolve().parents[3] / "strategies" / "default.yaml"

_TOP = {
    "strategy",
    "description",
    "jurisdictions",
    "paths",
    "segment_groups",
    "arms",
    "offers",
    "legal_limits",
}
_PATH = {"treatment", "channels", "cadence_days", "templates", "offers"}
_SEGMENT = {
    "segment",
    "flags",
    "buckets",
    "score_min",
    "score_max",
    "balance_min",
    "balance_max",
    "path",
    "reason",
}
_ARM = {"arm", "share", "segments"}
_OFFERS = {
    "plan_annual_rate",
    "min_installments",
    "max_installments",
    "settlement_discount",
    "holiday_months",
    "term_extension_months",
    "allowed_fees",
    "promise_grace_days",
    "promise_max_days",
    "plan_grace_days",
    "max_replans",
}
_LIMITS = {"lpr_one_year", "caps"}
_CAP = {"jurisdiction", "product", "kind", "value", "source"}


@dataclass(frozen=True)
class StrategyProblem:
    """One problem in a strategy file: where it is and why it is refused."""

    file: str
    line: int
    where: str
    field: str
    reason: str

    def __str__(self) -> str:
        where = f", {self.where}" if self.where else ""
        field = f", field {self.field}" if self.field else ""
        return f"{self.file}, line {self.line}{where}{field}: {self.reason}"


class StrategyInvalid(ValueError):
    """A strategy file was refused; ``problems`` lists every problem found."""

    def __init__(self, problems: list[StrategyProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class _Map(dict[str, Any]):
    """A YAML mapping that remembers its line and the line of each key."""

    line: int = 0
    key_lines: dict[str, int]


class _Loader(yaml.SafeLoader):
    pass


def _construct_map(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    out = _Map({str(k): v for k, v in loader.construct_mapping(node, deep=True).items()})
    out.line = node.start_mark.line + 1
    out.key_lines = {
        str(k.value): k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)
    }
    return out


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)


class _Checker:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[StrategyProblem] = []

    def add(self, node: Any, where: str, field: str, reason: str) -> None:
        line = 0
        if isinstance(node, _Map):
            line = node.key_lines.get(field, node.line)
        self.problems.append(StrategyProblem(self.file, line, where, field, reason))

    def mapping(self, node: Any, where: str, allowed: set[str], required: Iterable[str]) -> bool:
        if not isinstance(node, _Map):
            self.problems.append(StrategyProblem(self.file, 0, where, "", "must be a mapping"))
            return False
        for k in node:
            if k not in allowed:
                self.add(
                    node, where, str(k), f"unknown field (allowed: {', '.join(sorted(allowed))})"
                )
        for k in required:
            if k not in node:
                self.add(node, where, k, "required field missing")
        return True

    def strings(
        self, node: _Map, where: str, field: str, choices: Collection[str] | None
    ) -> tuple[str, ...]:
        raw = node.get(field, [])
        if raw is None:
            return ()
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            self.add(node, where, field, "must be a list of names")
            return ()
        if choices is not None:
            for x in raw:
                if x not in choices:
                    self.add(
                        node, where, field, f"unknown value {x!r} (known: {', '.join(choices)})"
                    )
        return tuple(raw)

    def number(self, node: _Map, where: str, field: str, default: float) -> float:
        raw = node.get(field, default)
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            self.add(node, where, field, f"must be a number, got {raw!r}")
            return default
        return float(raw)

    def whole(
        self, node: _Map, where: str, field: str, default: int | None, minimum: int = 0
    ) -> int | None:
        raw = node.get(field, default)
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < minimum:
            self.add(node, where, field, f"must be a whole number >= {minimum}, got {raw!r}")
            return default
        return raw

    def decimal(self, node: _Map, where: str, field: str, default: Decimal) -> Decimal:
        raw = node.get(field)
        if raw is None:
            return default
        if isinstance(raw, bool | float):
            self.add(
                node, where, field, f'write rates as quoted decimal text ("0.24"), got {raw!r}'
            )
            return default
        try:
            value = Decimal(str(raw))
        except InvalidOperation:
            self.add(node, where, field, f"not a decimal number: {raw!r}")
            return default
        if not value.is_finite() or value < 0:
            self.add(node, where, field, f"must be a finite decimal >= 0, got {raw!r}")
            return default
        return value


def _jurisdiction_forbidden(
    jurisdiction: str, forbidden: Mapping[str, Collection[str]]
) -> Collection[str]:
    parts = jurisdiction.split("-")
    for k in range(len(parts), 0, -1):
        j = "-".join(parts[:k])
        if j in forbidden:
            return forbidden[j]
    return forbidden.get("*", ())


def forbidden_channel_problems(
    strategy: Strategy,
    jurisdictions: Iterable[str],
    forbidden: Mapping[str, Collection[str]] = DEFAULT_FORBIDDEN_CHANNELS,
    *,
    file: str = "",
) -> list[StrategyProblem]:
    """Segments whose treatment path uses a channel one of ``jurisdictions`` forbids.

    ``forbidden`` maps a jurisdiction (``CN``, ``US-NY``; a subdivision falls back to its
    country) to the channels it forbids; the key ``*`` applies to every jurisdiction not
    listed.
    """
    out = []
    for j in sorted(set(jurisdictions)):
        bad = _jurisdiction_forbidden(j, forbidden)
        for arm in strategy.arms:
            for seg in arm.segments:
                for ch in seg.path_channels:
                    if ch in bad:
                        out.append(
                            StrategyProblem(
                                file,
                                0,
                                f"arm {arm.name}, segment {seg.name}",
                                "channels",
                                f"channel {ch!r} is forbidden in jurisdiction {j}",
                            )
                        )
    return out


def parse_strategy(
    data: Any,
    file: str,
    *,
    forbidden_channels: Mapping[str, Collection[str]] = DEFAULT_FORBIDDEN_CHANNELS,
    jurisdictions: Iterable[str] = (),
    buckets: Collection[str] = DEFAULT_BUCKETS.names,
) -> Strategy:
    """Validate parsed YAML (with line marks, see :func:`load_strategy`) into a Strategy.

    Parameters
    ----------
    data : Any
        The document, as loaded by the line-marking loader.
    file : str
        Name used in messages.
    forbidden_channels : mapping of str to collection of str
        Channels each jurisdiction forbids (``*``: the default for unlisted ones).
    jurisdictions : iterable of str
        Jurisdictions the strategy will be applied to, in addition to those the file lists
        under ``jurisdictions`` (e.g. those present in the portfolio).
    buckets : collection of str
        Bucket names segments may use.

    Raises
    ------
    StrategyInvalid
        With every problem found (file, line, arm/segment/path, field, reason).
    """
    c = _Checker(file)
    if not c.mapping(data, "", _TOP, ("strategy", "paths", "arms")):
        raise StrategyInvalid(c.problems)
    name = data.get("strategy")
    if not isinstance(name, str) or not name.strip():
        c.add(data, "", "strategy", "must be a non-empty name")
        name = "?"
    description = str(data.get("description") or "")
    declared = c.strings(data, "", "jurisdictions", None)

    paths: dict[str, dict[str, Any]] = {}
    raw_paths = data.get("paths") or _Map()
    if not isinstance(raw_paths, _Map):
        c.add(data, "", "paths", "must be a mapping of path name to treatment path")
        raw_paths = _Map()
    for pname, p in raw_paths.items():
        where = f"path {pname}"
        if not c.mapping(p, where, _PATH, ("treatment",)):
            continue
        treatment = p.get("treatment")
        if treatment not in {t.value for t in Treatment}:
            c.add(
                p,
                where,
                "treatment",
                f"unknown treatment {treatment!r} (known: {', '.join(t.value for t in Treatment)})",
            )
            continue
        channels = c.strings(p, where, "channels", CHANNELS) if "channels" in p else None
        if treatment == Treatment.NO_ACTION and channels:
            c.add(
                p,
                where,
                "channels",
                "treatment no_action contacts nobody: a path with channels needs a contact "
                "treatment",
            )
        paths[str(pname)] = {
            "treatment": Treatment(treatment),
            "channels": channels,
            "cadence_days": c.whole(p, where, "cadence_days", 1, minimum=1) or 1,
            "templates": c.strings(p, where, "templates", None),
            "offer_types": tuple(
                OfferType(o)
                for o in c.strings(p, where, "offers", [o.value for o in OfferType])
                if o in {x.value for x in OfferType}
            ),
        }

    groups_raw = data.get("segment_groups") or _Map()
    if not isinstance(groups_raw, _Map):
        c.add(data, "", "segment_groups", "must be a mapping of group name to segment list")
        groups_raw = _Map()

    def segment(s: Any, where_arm: str) -> Segment | None:
        label = s.get("segment", "?") if isinstance(s, _Map) else "?"
        where = f"{where_arm}, segment {label}"
        if not c.mapping(s, where, _SEGMENT, ("segment", "path", "reason")):
            return None
        before = len(c.problems)
        flags = c.strings(s, where, "flags", STRATEGY_FLAGS)
        bks = c.strings(s, where, "buckets", list(buckets))
        smin = c.number(s, where, "score_min", 0.0)
        smax = c.number(s, where, "score_max", 1.000001)
        if not 0 <= smin < smax <= 1.000001:
            c.add(
                s,
                where,
                "score_min",
                f"score band must satisfy 0 <= min < max <= 1, got [{smin}, {smax})",
            )
        bmin = c.whole(s, where, "balance_min", None)
        bmax = c.whole(s, where, "balance_max", None)
        if bmin is not None and bmax is not None and bmin >= bmax:
            c.add(s, where, "balance_min", f"balance band is empty: [{bmin}, {bmax})")
        pname = s.get("path")
        path = paths.get(str(pname))
        if path is None:
            c.add(
                s, where, "path", f"unknown path {pname!r} (defined: {', '.join(paths) or 'none'})"
            )
        reason = s.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            c.add(s, where, "reason", "must say why, in words an agent understands")
        if str(label) == NOTHING_DUE.name:
            c.add(
                s,
                where,
                "segment",
                f"{NOTHING_DUE.name!r} is the built-in segment for accounts on which nothing is "
                "owed (applied before every strategy): choose another name",
            )
        if len(c.problems) > before or path is None:
            return None
        seg = Segment(
            str(label),
            path["treatment"],
            str(reason),
            flags=flags,
            buckets=bks,
            score_min=smin,
            score_max=smax if "score_max" in s else 1.000001,
            balance_min=bmin,
            balance_max=bmax,
            channels=path["channels"],
            cadence_days=path["cadence_days"],
            templates=path["templates"],
            offer_types=path["offer_types"],
        )
        conflict = hold_conflict(seg)
        if conflict is not None:
            c.add(s, where, "path", conflict)
            return None
        return seg

    arms: list[Arm] = []
    raw_arms = data.get("arms")
    if not isinstance(raw_arms, list) or not raw_arms:
        c.add(data, "", "arms", "must be a non-empty list of arms")
        raw_arms = []
    seen_arms: set[str] = set()
    for a in raw_arms:
        aname = a.get("arm", "?") if isinstance(a, _Map) else "?"
        where = f"arm {aname}"
        if not c.mapping(a, where, _ARM, ("arm", "share", "segments")):
            continue
        if aname in seen_arms:
            c.add(a, where, "arm", "arm name used twice")
        seen_arms.add(str(aname))
        share = c.whole(a, where, "share", 0, minimum=1) or 0
        entries = a.get("segments")
        if not isinstance(entries, list) or not entries:
            c.add(a, where, "segments", "must be a non-empty list")
            continue
        segs: list[Segment] = []
        lines: list[int] = []
        for e in entries:
            if isinstance(e, _Map) and "include" in e:
                if set(e) != {"include"}:
                    c.add(e, where, "include", "an include entry takes no other field")
                group = groups_raw.get(e["include"])
                if not isinstance(group, list):
                    c.add(e, where, "include", f"unknown segment group {e['include']!r}")
                    continue
                for g in group:
                    seg = segment(g, f"{where} (group {e['include']})")
                    if seg is not None:
                        segs.append(seg)
                        lines.append(g.line)
            else:
                seg = segment(e, where)
                if seg is not None:
                    segs.append(seg)
                    lines.append(e.line if isinstance(e, _Map) else 0)
        names: set[str] = set()
        for i, seg in enumerate(segs):
            if seg.name in names:
                c.problems.append(
                    StrategyProblem(
                        file,
                        lines[i],
                        f"{where}, segment {seg.name}",
                        "segment",
                        "segment name used twice in the arm",
                    )
                )
            names.add(seg.name)
            for earlier in segs[:i]:
                if earlier.covers(seg):
                    c.problems.append(
                        StrategyProblem(
                            file,
                            lines[i],
                            f"{where}, segment {seg.name}",
                            "segment",
                            f"unreachable: every account it matches is taken by the earlier "
                            f"segment {earlier.name} (first match wins)",
                        )
                    )
                    break
        if segs and not segs[-1].is_catch_all:
            c.problems.append(
                StrategyProblem(
                    file,
                    lines[-1],
                    f"{where}, segment {segs[-1].name}",
                    "segment",
                    "the last segment must match every account (no conditions)",
                )
            )
        arms.append(Arm(str(aname), share, tuple(segs)))
    total = sum(a.share_pct for a in arms)
    if arms and total != 100:
        c.add(data, "", "arms", f"arm shares add up to {total}, not 100")

    offers = _offers(c, data.get("offers"), data)
    limits = _limits(c, data.get("legal_limits"), data)

    if c.problems:
        raise StrategyInvalid(c.problems)
    try:
        strategy = Strategy(str(name), tuple(arms), offers, limits, description)
    except ValueError as exc:
        raise StrategyInvalid([StrategyProblem(file, 0, "", "", str(exc))]) from None
    bad = forbidden_channel_problems(
        strategy, {*declared, *jurisdictions}, forbidden_channels, file=file
    )
    if bad:
        raise StrategyInvalid(bad)
    return strategy


def _offers(c: _Checker, node: Any, parent: _Map) -> OfferPolicy:
    if node is None:
        return DEFAULT_OFFER_POLICY
    where = "offers"
    if not c.mapping(node, where, _OFFERS, ()):
        return DEFAULT_OFFER_POLICY
    d = DEFAULT_OFFER_POLICY
    bounds = d.settlement
    sd = node.get("settlement_discount")
    if sd is not None and c.mapping(
        sd, "offers.settlement_discount", {"min", "max"}, ("min", "max")
    ):
        lo = c.decimal(sd, "offers.settlement_discount", "min", bounds.min_discount)
        hi = c.decimal(sd, "offers.settlement_discount", "max", bounds.max_discount)
        try:
            bounds = SettlementBounds(lo, hi)
        except PlanError as exc:
            c.add(node, where, "settlement_discount", str(exc))
    try:
        return OfferPolicy(
            plan_annual_rate=c.decimal(node, where, "plan_annual_rate", d.plan_annual_rate),
            min_installments=c.whole(node, where, "min_installments", d.min_installments) or 2,
            max_installments=c.whole(node, where, "max_installments", d.max_installments) or 24,
            settlement=bounds,
            holiday_months=c.whole(node, where, "holiday_months", d.holiday_months) or 1,
            term_extension_months=c.whole(
                node, where, "term_extension_months", d.term_extension_months
            )
            or 1,
            allowed_fees=frozenset(c.strings(node, where, "allowed_fees", None)),
            promise_grace_days=c.whole(node, where, "promise_grace_days", d.promise_grace_days)
            or 0,
            plan_grace_days=c.whole(node, where, "plan_grace_days", d.plan_grace_days) or 0,
            max_replans=c.whole(node, where, "max_replans", d.max_replans) or 0,
            promise_max_days=c.whole(node, where, "promise_max_days", d.promise_max_days) or 0,
        )
    except PlanError as exc:
        c.add(node, where, "", str(exc))
        return DEFAULT_OFFER_POLICY


def _limits(c: _Checker, node: Any, parent: _Map) -> LegalLimits:
    if node is None:
        return DEFAULT_LIMITS
    where = "legal_limits"
    if not c.mapping(node, where, _LIMITS, ("lpr_one_year",)):
        return DEFAULT_LIMITS
    lpr = c.decimal(node, where, "lpr_one_year", DEFAULT_LIMITS.lpr_one_year)
    caps: list[ProductCap] = []
    raw = node.get("caps") or []
    if not isinstance(raw, list):
        c.add(node, where, "caps", "must be a list")
        raw = []
    for i, cap in enumerate(raw):
        w = f"legal_limits.caps[{i}]"
        if not c.mapping(cap, w, _CAP, ("jurisdiction", "product", "kind", "value")):
            continue
        kind = cap.get("kind")
        if kind not in {k.value for k in CapKind}:
            c.add(cap, w, "kind", f"unknown cap kind {kind!r} (lpr_multiple or fixed)")
            continue
        value = c.decimal(cap, w, "value", Decimal(0))
        if value <= 0:
            c.add(cap, w, "value", "must be > 0")
            continue
        if cap.get("product") not in ("loan", "card"):
            c.add(cap, w, "product", f"unknown product {cap.get('product')!r} (loan or card)")
            continue
        caps.append(
            ProductCap(
                str(cap["jurisdiction"]),
                str(cap["product"]),
                RateCap(CapKind(kind), value, str(cap.get("source") or "")),
            )
        )
    return LegalLimits(lpr, tuple(caps))


def load_strategy(
    path: Path,
    *,
    forbidden_channels: Mapping[str, Collection[str]] = DEFAULT_FORBIDDEN_CHANNELS,
    jurisdictions: Iterable[str] = (),
) -> Strategy:
    """Read and validate a strategy file.

    Raises
    ------
    StrategyInvalid
        For a missing or unreadable file, invalid YAML, or any problem in the strategy
        (see :func:`parse_strategy`).
    """
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StrategyInvalid(
            [StrategyProblem(name, 0, "", "", f"cannot read: {exc.strerror or exc}")]
        ) from None
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise StrategyInvalid(
            [StrategyProblem(name, line, "", "", f"not valid YAML: {exc}")]
        ) from None
    return parse_strategy(
        data, name, forbidden_channels=forbidden_channels, jurisdictions=jurisdictions
    )
