"""The daily planner's compliance check: every rule kind of the engine, vectorised.

:func:`check_contacts` decides the contacts planned for one local day in one pass of Polars
joins and expressions, and gives the same answers as
:func:`arrears.domain.compliance.engine.evaluate` (the gate's engine) would, rule for rule
(``tests/property/test_planner_gate_agree.py`` holds it to that). What it reuses of the engine
rather than re-implementing:

* windows and no-contact days: :func:`~arrears.domain.compliance.check.allowed_window` per
  (jurisdiction, time zone, channel); for a contact the time rules refuse all day, the time
  rule ids and reasons come from ``evaluate`` itself at the contact's first instant;
* which rules apply, in which order: :func:`~arrears.domain.compliance.engine.applicable_packs`
  and :func:`~arrears.domain.compliance.engine.contact_rules`;
* holds, opt-outs, lawyer-only, workplace, third-party, parties and staff rules:
  :func:`~arrears.domain.compliance.engine.static_block`, once per distinct (jurisdiction,
  channel, flags, opted out of the channel);
* what a past contact counts as: :func:`~arrears.domain.compliance.engine.counts_toward`, once
  per outcome; the end of a wait: :func:`~arrears.domain.compliance.engine.wait_end`.

Caps (``daily_call_cap``, ``rolling_cap``) and waits (``wait_after_conversation``) are counted
in Polars over the imported contact history exactly as the engine counts them: a past contact
is counted at instant ``t`` when it falls on one of the ``days`` local calendar days around the
contact's day (in some candidate zone) or, for ``rolling`` caps, within ``days`` x 24 hours of
``t``; a wait blocks from the conversation to its :func:`wait_end`. Every contact's window is
cut at each instant where a count or a wait can change (a past contact leaving the rolling
period, a wait ending); the contact is planned in the first stretch of its window where no rule
blocks, and refused when none is left.

Contacts of one borrower are decided in priority order (their ``_rank``, 0 first). A contact
planned earlier counts against the later ones as a reservation made at the start of the local
day: it counts for every cap (as an attempt, a connected call, an unanswered call and a
conversation, like any reservation) and starts every wait on its channel for the whole day.
That is what the gate will see once the earlier contact is reserved, and on the safe side for
the wait (the gate would start it only at the reserved instant).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from arrears.adapters.db.gate_repo import CONVERSATION_OUTCOMES
from arrears.adapters.portfolio.schema import OUTCOMES, parse_consent
from arrears.domain.compliance.check import (
    HolidayLookup,
    allowed_window,
    candidate_zones,
    describe,
    local_to_utc,
)
from arrears.domain.compliance.engine import (
    NO_RULE_PACK,
    RESERVED,
    STATIC_RULE_TYPES,
    TIME_RULE_TYPES,
    Attempt,
    BorrowerState,
    PastContact,
    applicable_packs,
    consent_applies,
    consent_window,
    contact_rules,
    counts_toward,
    evaluate,
    static_block,
    wait_end,
    with_consent_hours,
)
from arrears.domain.compliance.packs import BORROWER_FLAGS, CAP_COUNTS, CHANNELS, Rule, RulePack
from arrears.domain.strategy import CHANNEL_WINDOWS

_DYNAMIC = ("daily_call_cap", "rolling_cap", "wait_after_conversation")
_BASIS_BIT = {c: 1 << i for i, c in enumerate(CAP_COUNTS)}
_CHANNEL_BIT = {c: 1 << i for i, c in enumerate(CHANNELS)}
_FLAG_BIT = {f: 1 << i for i, f in enumerate(BORROWER_FLAGS)}
_US = timedelta(microseconds=1)
_UTC_DT = pl.Datetime("us", "UTC")

CHECK_COLUMNS = [
    "_allowed",
    "_start_utc",
    "_end_utc",
    "window_start",
    "window_end",
    "rule_ids",
    "reason",
    "rule_pack",
]
"""Columns :func:`check_contacts` adds to its input."""


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    """First instant whose local date in ``zone`` is ``day`` (earlier instant if ambiguous)."""
    return local_to_utc(day, time(0), zone, side="end")


@dataclass(frozen=True, slots=True)
class _Combo:
    """Time rules for one (jurisdiction, time zone, channel) on the plan date."""

    jurisdiction: str
    timezone: str | None
    channel: str
    open: bool
    start: datetime | None  # the window: allowed hours within the channel's planning window
    end: datetime | None
    first: datetime  # the first instant the contact could be made (judged there when refused)
    time_ids: tuple[str, ...]
    time_reasons: tuple[str, ...]
    refs: str
    no_pack: bool


def _consent_for(cell: str | None, channel: str) -> tuple[time, time] | None:
    """The hours a ``consent_hours`` cell gives ``channel`` (as BorrowerState.consent_for)."""
    return consent_window(*parse_consent(cell), channel)


def _combo(
    day: date,
    jurisdiction: str,
    timezone: str | None,
    channel: str,
    packs: Sequence[RulePack],
    is_holiday: HolidayLookup,
    lender: tuple[str, ...] = (),
    consent: tuple[time, time] | None = None,
) -> _Combo:
    zones = [ZoneInfo(z) for z in candidate_zones(jurisdiction, timezone)]
    day_start = max(local_to_utc(day, time(0), z, side="start") for z in zones)
    day_end = min(local_to_utc(day + timedelta(days=1), time(0), z, side="end") for z in zones)
    if not consent_applies("borrower", channel):  # a visit keeps the statutory hours
        consent = None
    state = BorrowerState(
        "_", jurisdiction, timezone, consent_hours=consent, lender_jurisdictions=lender
    )
    check = allowed_window(
        day,
        jurisdiction,
        timezone,
        channel,
        with_consent_hours(applicable_packs(state, packs), consent),
        is_holiday,
        preselected=True,
    )
    if not check.pack_refs:
        return _Combo(
            jurisdiction,
            timezone,
            channel,
            False,
            None,
            None,
            day_start,
            (NO_RULE_PACK,),
            (f"no rule pack covers jurisdiction {jurisdiction!r}: nothing is sent without rules",),
            "",
            True,
        )
    refs = ";".join(check.pack_refs)
    lo, hi = (time.fromisoformat(x) for x in CHANNEL_WINDOWS[channel])
    plan_start = max(local_to_utc(day, lo, z, side="start") for z in zones)
    plan_end = min(local_to_utc(day, hi, z, side="end") for z in zones)
    if check.open:
        assert check.start is not None and check.end is not None
        start, end = max(check.start, plan_start), min(check.end, plan_end)
        if start < end:
            return _Combo(
                jurisdiction, timezone, channel, True, start, end, start, (), (), refs, False
            )
    first = max(plan_start, day_start)
    if first >= day_end:
        raise ValueError(
            f"the {channel} planning window {lo:%H:%M}-{hi:%H:%M} of {day} does not fall on "
            f"that local day in every zone of {jurisdiction} {[z.key for z in zones]}"
        )
    # what the engine says at that instant, for the time rules (a borrower with nothing else)
    d = evaluate(Attempt("_", None, channel, first), [], state, packs, is_holiday)
    time_rules = {r.id for p in packs for r in p.rules if r.type in TIME_RULE_TYPES}
    found = [(i, why) for i, why in zip(d.rule_ids, d.reasons, strict=True) if i in time_rules]
    if not found:  # the channel's planning window lies outside the allowed hours
        return _Combo(
            jurisdiction,
            timezone,
            channel,
            False,
            None,
            None,
            first,
            check.limiting_rule_ids,
            tuple(
                "the planning window for this channel lies outside the allowed contact hours"
                for _ in check.limiting_rule_ids
            ),
            refs,
            False,
        )
    return _Combo(
        jurisdiction,
        timezone,
        channel,
        False,
        None,
        None,
        first,
        tuple(i for i, _ in found),
        tuple(w for _, w in found),
        refs,
        False,
    )


def _rules(
    jurisdiction: str,
    channel: str,
    packs: Sequence[RulePack],
    day: date,
    lender: tuple[str, ...] = (),
) -> list[Rule]:
    """The engine's rule list for the channel, in force on ``day`` (order = report order)."""
    state = BorrowerState("_", jurisdiction, None, lender_jurisdictions=lender)
    applicable = applicable_packs(state, packs)
    return [r for r in contact_rules(applicable, channel) if r.in_force(day)]


def _outcome_masks() -> dict[str, int]:
    """History outcome -> bit mask of the count bases it counts for (as the gate reads it):
    every imported outcome, and ``reserved`` (a gate reservation not completed yet)."""
    at = datetime(2000, 1, 1, tzinfo=UTC)
    out = {}
    for o in (*OUTCOMES, RESERVED):
        p = PastContact(at, "call", None, o, conversation=o in CONVERSATION_OUTCOMES)
        out[o] = sum(bit for basis, bit in _BASIS_BIT.items() if counts_toward(p, basis))
    return out


def _dynamic_reason(r: Rule) -> tuple[str, str]:
    """(text before the count, text after it) of the reason a cap or wait rule gives."""
    if r.type == "daily_call_cap":
        return "daily call cap reached: ", (
            f" calls ({r.counts}) that local day, cap {r.max_calls}: {describe(r)}"
        )
    if r.type == "rolling_cap":
        return "cap reached: ", (
            f" {r.counts} on {'/'.join(r.channels)} within {r.days} day(s) per {r.per}, "
            f"cap {r.limit}: {describe(r)}"
        )
    return (
        f"{r.days}-day wait after a conversation (or a contact reserved earlier) on "
        f"{'/'.join(r.channels)}: {describe(r)}",
        "",
    )


def check_contacts(
    wanted: pl.DataFrame,
    borrowers: pl.DataFrame,
    contact_history: pl.DataFrame,
    plan_date: date,
    packs: Sequence[RulePack],
    is_holiday: HolidayLookup,
    lender_jurisdictions: tuple[str, ...] = (),
) -> pl.DataFrame:
    """Decide every wanted contact of ``plan_date`` as the gate's engine would.

    Parameters
    ----------
    wanted : pl.DataFrame
        One row per contact: ``borrower_id``, ``account_id``, ``channel`` and ``_rank``
        (Int64, 0, 1, 2 ... per borrower: the order in which the borrower's contacts are
        decided); the rows of one borrower next to each other; optionally ``purpose`` (one of
        :data:`~arrears.domain.compliance.packs.PURPOSES`, default ``collection``). The
        attempt is otherwise the engine's default one: party ``borrower``, by the lender, not
        at the workplace, one staff member, no number.
    borrowers : pl.DataFrame
        ``borrower_id``, ``jurisdiction``, ``timezone`` (null when unknown), the boolean flag
        columns present (any of :data:`~arrears.domain.compliance.packs.BORROWER_FLAGS`;
        absent or null = false) and optionally ``opt_out_channels`` (``|``-separated).
    contact_history : pl.DataFrame
        Normalised contact history: ``borrower_id, account_id, channel, direction,
        started_at`` (UTC), ``outcome``; outbound rows count, as in the gate (``rpc`` and
        ``ptp`` are conversations; ``reserved``, a gate reservation not completed yet,
        counts for every cap and starts the waits, as in the gate).
    plan_date : date
        The borrower-local day planned.
    packs : sequence of RulePack
        All loaded packs.
    is_holiday : callable
        ``(jurisdiction, local date) -> bool``.
    lender_jurisdictions : tuple of str
        Where the lender is regulated: their packs apply to every borrower on top of the
        borrower's own, as :func:`~arrears.domain.compliance.engine.applicable_packs` adds them.

    Returns
    -------
    pl.DataFrame
        ``wanted`` plus the borrower's ``jurisdiction`` and ``timezone`` and
        :data:`CHECK_COLUMNS`: ``_allowed``; for an allowed contact the UTC
        window ``_start_utc``/``_end_utc`` (every instant of it passes the engine) and its ISO
        text in the borrower's zone (UTC when unknown) ``window_start``/``window_end``; for a
        refused one ``rule_ids`` (``|``-joined, in the engine's order) and ``reason`` (``; ``
        joined): what the engine says at the first instant the contact could be made (the
        start of its window, or of the channel's planning window on a day the time rules
        close); ``rule_pack`` (``;``-joined ``id@version`` applied).

    Raises
    ------
    ValueError
        When the rows of a borrower are not together, or a channel's planning window does
        not fall on the local day in every candidate zone of a jurisdiction (zones too far
        apart).
    """
    day = plan_date
    columns = wanted.columns
    if wanted.height == 0:
        return wanted.join(
            borrowers.select("borrower_id", "jurisdiction", "timezone"), on="borrower_id"
        ).with_columns(
            pl.lit(None, dtype=pl.Boolean).alias("_allowed"),
            pl.lit(None, dtype=_UTC_DT).alias("_start_utc"),
            pl.lit(None, dtype=_UTC_DT).alias("_end_utc"),
            *(pl.lit(None, dtype=pl.String).alias(c) for c in CHECK_COLUMNS[3:]),
        )
    # --- the borrower: jurisdiction, zone, flags and opt-outs (bit masks) ------------------
    # borrowers as integers (the rows of one borrower are next to each other, rank 0 first)
    wanted = wanted.with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_cid"),
        pl.col("borrower_id").rle_id().cast(pl.Int64).alias("_bix"),
    )
    bmap = wanted.filter(pl.col("_rank") == 0).select("borrower_id", "_bix")
    if bmap.height != wanted.get_column("_bix").max() + 1:  # type: ignore[operator]
        raise ValueError(
            "check_contacts: the rows of each borrower must be together, ranked from 0"
        )
    flag_cols = [f for f in BORROWER_FLAGS if f in borrowers.columns]
    fmask = pl.lit(0, dtype=pl.Int64)
    for f in flag_cols:
        fmask = fmask + pl.col(f).fill_null(False).cast(pl.Int64) * _FLAG_BIT[f]
    consent_col = (
        pl.col("consent_hours").replace("", None)
        if "consent_hours" in borrowers.columns
        else pl.lit(None, dtype=pl.String).alias("consent_hours")
    )
    binfo = bmap.join(
        borrowers.select(
            "borrower_id", "jurisdiction", "timezone", consent_col, fmask.alias("_fmask")
        ),
        on="borrower_id",
        how="left",
        maintain_order="left",
    )
    if "opt_out_channels" in borrowers.columns:
        # computed only where the list is not empty
        listed = pl.col("opt_out_channels").fill_null("") != ""
        opt = pl.concat_str(pl.lit("|"), pl.col("opt_out_channels"), pl.lit("|"))
        omask = pl.lit(0, dtype=pl.Int64)
        for ch, bit in _CHANNEL_BIT.items():
            omask = omask + opt.str.contains(f"|{ch}|", literal=True).cast(pl.Int64) * bit
        opted = borrowers.filter(listed).select("borrower_id", omask.alias("_omask"))
        binfo = binfo.join(opted, on="borrower_id", how="left", maintain_order="left")
    else:
        binfo = binfo.with_columns(pl.lit(None, dtype=pl.Int64).alias("_omask"))
    # a place: jurisdiction, zone and the hours the borrower agreed to (they move the window)
    places = binfo.select("jurisdiction", "timezone", "consent_hours").unique().rows()
    jz_ids: dict[tuple[str, str | None, str | None], int] = {p: i for i, p in enumerate(places)}
    jz_frame = pl.DataFrame(
        {
            "jurisdiction": [p[0] for p in places],
            "timezone": [p[1] for p in places],
            "consent_hours": [p[2] for p in places],
            "_jz": list(range(len(places))),
        },
        schema={
            "jurisdiction": pl.String,
            "timezone": pl.String,
            "consent_hours": pl.String,
            "_jz": pl.Int64,
        },
    )
    binfo = binfo.join(
        jz_frame,
        on=["jurisdiction", "timezone", "consent_hours"],
        how="left",
        nulls_equal=True,
        maintain_order="left",
    )
    chans = sorted(wanted.get_column("channel").unique().to_list())
    ch_ids = {c: i for i, c in enumerate(chans)}

    # --- time rules per (jurisdiction, zone, channel) ----------------------------------------
    combos = [
        _combo(day, j, tz, ch, packs, is_holiday, lender_jurisdictions, _consent_for(consent, ch))
        for (j, tz, consent) in places
        for ch in chans
    ]
    jc_ids: dict[tuple[str, str], int] = {}
    for c in combos:
        jc_ids.setdefault((c.jurisdiction, c.channel), len(jc_ids))
    windows = pl.DataFrame(
        {
            "_jc": [jc_ids[(c.jurisdiction, c.channel)] for c in combos],
            "_chbit": [_CHANNEL_BIT[c.channel] for c in combos],
            "_open": [c.open for c in combos],
            "_no_pack": [c.no_pack for c in combos],
            "_ws": [c.start for c in combos],
            "_we": [c.end for c in combos],
            "_t0": [c.first for c in combos],
            "_ws_text": [c.start and _local_text(c.start, c.timezone) for c in combos],
            "_we_text": [c.end and _local_text(c.end, c.timezone) for c in combos],
            "rule_pack": [c.refs for c in combos],
        },
        schema={
            "_jc": pl.Int64,
            "_chbit": pl.Int64,
            "_open": pl.Boolean,
            "_no_pack": pl.Boolean,
            "_ws": _UTC_DT,
            "_we": _UTC_DT,
            "_t0": _UTC_DT,
            "_ws_text": pl.String,
            "_we_text": pl.String,
            "rule_pack": pl.String,
        },
    )
    # each contact takes its borrower's row of binfo (by _bix) and its combination's row of
    # windows (by _combo = place x channel), gathered rather than joined
    bix = wanted.get_column("_bix")
    df = wanted.with_columns(
        *(binfo.get_column(c).gather(bix) for c in ("jurisdiction", "timezone", "_jz")),
        binfo.get_column("_fmask").gather(bix).fill_null(0),
        binfo.get_column("_omask").gather(bix).fill_null(0),
    ).with_columns(
        (
            pl.col("_jz") * len(chans)
            + pl.col("channel").replace_strict(ch_ids, return_dtype=pl.Int64)
        ).alias("_combo")
    )
    combo = df.get_column("_combo")
    df = df.with_columns(
        *(windows.get_column(c).gather(combo) for c in windows.columns)
    ).with_columns(((pl.col("_omask") & pl.col("_chbit")) != 0).alias("_opt"))

    # --- rules per (jurisdiction, channel), in the engine's order --------------------------
    rules = {jc: _rules(j, ch, packs, day, lender_jurisdictions) for (j, ch), jc in jc_ids.items()}
    # static rules: once per distinct (jurisdiction, channel, flags, opted out of the channel)
    if "purpose" not in df.columns:
        df = df.with_columns(pl.lit("collection").alias("purpose"))
    skeys = (
        df.filter(~pl.col("_no_pack")).select("_jc", "_fmask", "_opt", "purpose").unique().rows()
    )
    static_hits: list[tuple[int, int, str, str]] = []  # (static key, order, rule id, reason)
    s_static: list[bool] = []
    at0 = datetime(2000, 1, 1, tzinfo=UTC)
    jc_names = {v: k for k, v in jc_ids.items()}
    for n, (jc, m, opt, purpose) in enumerate(skeys):
        j, ch = jc_names[jc]
        b = BorrowerState(
            "_",
            j,
            None,
            flags=frozenset(f for f, bit in _FLAG_BIT.items() if m & bit),
            opted_out=frozenset({ch}) if opt else frozenset(),
            lender_jurisdictions=lender_jurisdictions,
        )
        a = Attempt("_", None, ch, at0, purpose=purpose)
        hit = False
        for i, r in enumerate(rules[jc]):
            if r.type in STATIC_RULE_TYPES:
                why = static_block(r, a, b)
                if why is not None:
                    static_hits.append((n, i, r.id, f"{why}: {describe(r)}"))
                    hit = True
        s_static.append(hit)
    static = pl.DataFrame(
        {
            "_jc": [k[0] for k in skeys],
            "_fmask": [k[1] for k in skeys],
            "_opt": [k[2] for k in skeys],
            "purpose": [k[3] for k in skeys],
            "_skey": list(range(len(skeys))),
            "_static": s_static,
        },
        schema={
            "_jc": pl.Int64,
            "_fmask": pl.Int64,
            "_opt": pl.Boolean,
            "purpose": pl.String,
            "_skey": pl.Int64,
            "_static": pl.Boolean,
        },
    )
    df = (
        df.join(static, on=["_jc", "_fmask", "_opt", "purpose"], how="left", maintain_order="left")
        .with_columns(pl.col("_static").fill_null(False))
        .with_columns((pl.col("_open") & ~pl.col("_static")).alias("_can"))
    )

    # dynamic rules (caps, waits): one row per (jurisdiction and channel, rule)
    d_cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "_jc",
            "_rid",
            "_rk",
            "_ord",
            "_wait",
            "_limit",
            "_days",
            "_rolling",
            "_per_acct",
            "_chmask",
            "_cbit",
            "_pre",
            "_post",
        )
    }
    rule_code: dict[str, int] = {}
    for jc, rs in rules.items():
        for i, r in enumerate(rs):
            if r.type not in _DYNAMIC:
                continue
            pre, post = _dynamic_reason(r)
            wait = r.type == "wait_after_conversation"
            daily = r.type == "daily_call_cap"
            values = (
                jc,
                r.id,
                rule_code.setdefault(r.id, len(rule_code)),
                i,
                wait,
                0 if wait else (r.max_calls if daily else r.limit),
                1 if daily else r.days,
                r.type == "rolling_cap" and r.period == "rolling",
                r.per == "account",
                sum(_CHANNEL_BIT[c] for c in r.channels),
                _BASIS_BIT["conversations" if wait else r.counts],
                pre,
                post,
            )
            for k, v in zip(d_cols, values, strict=True):
                d_cols[k].append(v)
    dyn = pl.DataFrame(
        d_cols,
        schema={
            "_jc": pl.Int64,
            "_rid": pl.String,
            "_rk": pl.Int64,
            "_ord": pl.Int64,
            "_wait": pl.Boolean,
            "_limit": pl.Int64,
            "_days": pl.Int64,
            "_rolling": pl.Boolean,
            "_per_acct": pl.Boolean,
            "_chmask": pl.Int64,
            "_cbit": pl.Int64,
            "_pre": pl.String,
            "_post": pl.String,
        },
    )
    # calendar periods: the N local days around the plan date, in some candidate zone
    zones_of = {
        jz: [ZoneInfo(z) for z in candidate_zones(j, tz)] for (j, tz, _c), jz in jz_ids.items()
    }
    days_of_j: dict[str, set[int]] = {}
    for jc, rs in rules.items():
        days_of_j.setdefault(jc_names[jc][0], set()).update(
            1 if r.type == "daily_call_cap" else int(r.days or 1) for r in rs if r.type in _DYNAMIC
        )
    zb_rows: list[tuple[int, int, datetime, datetime]] = []
    for (j, _tz, _c), jz in jz_ids.items():
        for n in sorted(days_of_j.get(j, ())):
            spans = sorted(
                (
                    _day_start(day - timedelta(days=n - 1), z),
                    _day_start(day + timedelta(days=n), z),
                )
                for z in zones_of[jz]
            )
            lo, hi = spans[0]
            for s, e in spans[1:]:
                if s > hi:
                    raise ValueError(f"the zones of {j} are too far apart to count local days")
                hi = max(hi, e)
            zb_rows.append((jz, n, lo, hi))
    zb = pl.DataFrame(
        zb_rows,
        schema={"_jz": pl.Int64, "_days": pl.Int64, "_lo": _UTC_DT, "_hi": _UTC_DT},
        orient="row",
    )

    # --- one row per (contact, dynamic rule) --------------------------------------------------
    cr = (
        df.select(
            "_cid",
            "_bix",
            "account_id",
            "_jc",
            "_jz",
            "_rank",
            "_open",
            "_ws",
            "_we",
            "_t0",
        )
        .join(dyn, on="_jc", how="inner")
        .join(zb, on=["_jz", "_days"], how="left")
        .with_columns(
            pl.duration(days=pl.col("_days")).alias("_span"),
            # the instants judged: the window [_a, _b), or the first instant of a closed day
            pl.when(pl.col("_open")).then(pl.col("_ws")).otherwise(pl.col("_t0")).alias("_a"),
            pl.when(pl.col("_open")).then(pl.col("_we")).otherwise(pl.col("_t0") + _US).alias("_b"),
        )
    )

    # --- history rows that can count for each (contact, rule) ---------------------------------
    masks = _outcome_masks()
    hist = (
        contact_history.filter(pl.col("direction") == "outbound")
        .select(
            "borrower_id",
            pl.col("account_id").alias("_hacct"),
            pl.col("channel").replace_strict(_CHANNEL_BIT, return_dtype=pl.Int64).alias("_hch"),
            pl.col("started_at").cast(_UTC_DT).alias("_at"),
            pl.col("outcome").replace_strict(masks, return_dtype=pl.Int64).alias("_hmask"),
        )
        .join(bmap, on="borrower_id", how="inner")
        .drop("borrower_id")
    )
    crh = (
        cr.join(hist, on="_bix", how="inner")
        .filter(
            ((pl.col("_hch") & pl.col("_chmask")) != 0)
            & ((pl.col("_hmask") & pl.col("_cbit")) != 0)
            & (
                ~pl.col("_per_acct")
                | pl.col("_hacct").is_null()
                | (pl.col("_hacct") == pl.col("account_id"))
            )
        )
        .select("_cid", "_jz", "_rk", "_wait", "_rolling", "_span", "_lo", "_hi", "_a", "_b", "_at")
    )
    caps = crh.filter(~pl.col("_wait")).with_columns(
        ((pl.col("_at") >= pl.col("_lo")) & (pl.col("_at") < pl.col("_hi"))).alias("_cal")
    )
    caps = caps.filter(
        pl.col("_cal")
        | (
            pl.col("_rolling")
            & (pl.col("_at") > pl.col("_a") - pl.col("_span"))
            & (pl.col("_at") < pl.col("_b") + pl.col("_span"))
        )
    )
    # a past contact outside the calendar days leaves (or enters) the rolling period mid-window
    cap_bp = caps.filter(~pl.col("_cal")).select(
        "_cid",
        pl.when(pl.col("_at") < pl.col("_lo"))
        .then(pl.col("_at") + pl.col("_span"))
        .otherwise(pl.col("_at") - pl.col("_span") + _US)
        .alias("_t"),
    )
    waits = crh.filter(
        pl.col("_wait")
        & (pl.col("_at") < pl.col("_b"))
        & (pl.col("_at") + pl.col("_span") + pl.duration(days=2) > pl.col("_a"))
    )
    wkeys = waits.select("_at", "_span", "_jz").unique()
    ends = [wait_end(at, span.days, zones_of[jz]) for at, span, jz in wkeys.iter_rows()]
    wkeys = wkeys.with_columns(pl.Series("_wend", ends, dtype=_UTC_DT))
    waits = waits.join(wkeys, on=["_at", "_span", "_jz"]).filter(pl.col("_wend") > pl.col("_a"))
    wait_bp = pl.concat(
        [waits.select("_cid", pl.col("_at").alias("_t")), waits.select("_cid", _t="_wend")]
    )

    # --- segments: each contact's window cut where a count or a wait changes -----------------
    cuts = (
        pl.concat([cap_bp, wait_bp])
        .join(df.filter(pl.col("_open")).select("_cid", "_ws", "_we"), on="_cid")
        .filter((pl.col("_t") > pl.col("_ws")) & (pl.col("_t") < pl.col("_we")))
        .select("_cid", "_t")
        .unique()
    )
    cut_cids = cuts.get_column("_cid").unique()
    first = df.select(
        "_cid",
        pl.when(pl.col("_open")).then(pl.col("_ws")).otherwise(pl.col("_t0")).alias("_t"),
        pl.lit(0, dtype=pl.Int64).alias("_seg"),
    )
    # most contacts keep one segment; only the cut ones are sorted and numbered
    cut = (
        pl.concat([first.filter(pl.col("_cid").is_in(cut_cids.implode())).drop("_seg"), cuts])
        .sort("_cid", "_t")
        .with_columns(pl.int_range(pl.len()).over("_cid").cast(pl.Int64).alias("_seg"))
    )
    seg = pl.concat([first.filter(~pl.col("_cid").is_in(cut_cids.implode())), cut])

    # --- counts at the start of every segment ------------------------------------------------
    base = (
        caps.join(seg, on="_cid")
        .filter(
            pl.col("_cal")
            | (
                (pl.col("_t") - pl.col("_at") < pl.col("_span"))
                & (pl.col("_at") - pl.col("_t") < pl.col("_span"))
            )
        )
        .group_by("_cid", "_seg", "_rk")
        .agg(pl.len().cast(pl.Int64).alias("_n"))
    )
    whit = (
        waits.join(seg, on="_cid")
        .filter((pl.col("_at") <= pl.col("_t")) & (pl.col("_t") < pl.col("_wend")))
        .select("_cid", "_seg", "_rk")
        .unique()
        .with_columns(pl.lit(True).alias("_wh"))
    )
    ds_cols = [
        "_cid",
        "_bix",
        "account_id",
        "_rank",
        "_rid",
        "_rk",
        "_ord",
        "_wait",
        "_limit",
        "_per_acct",
        "_pre",
        "_post",
    ]
    # Rows that need counting: a contact with history under the rule, or one that contacts
    # planned before it could push to the cap (its rank reaches the cap). Any other row can
    # block only through a cap of 0.
    touched = pl.concat(
        [
            crh.get_column("_cid"),
            cr.filter(
                (pl.col("_rank") > 0) & (pl.col("_wait") | (pl.col("_limit") <= pl.col("_rank")))
            ).get_column("_cid"),
        ]
    ).unique()
    plain_hits = (
        cr.filter(
            ~pl.col("_cid").is_in(touched.implode()) & ~pl.col("_wait") & (pl.col("_limit") <= 0)
        )
        .select(ds_cols)
        .with_columns(
            pl.lit(0, dtype=pl.Int64).alias("_seg"),
            pl.col("_limit").alias("_need"),
            pl.lit(0, dtype=pl.Int64).alias("_kmax"),
        )
    )
    ds = cr.filter(pl.col("_cid").is_in(touched.implode())).select(ds_cols)
    ds = pl.concat(
        [
            ds.filter(~pl.col("_cid").is_in(cut_cids.implode())).with_columns(
                pl.lit(0, dtype=pl.Int64).alias("_seg")
            ),
            ds.filter(pl.col("_cid").is_in(cut_cids.implode())).join(
                cut.select("_cid", "_seg"), on="_cid"
            ),
        ]
    )
    ds = (
        ds.join(base, on=["_cid", "_seg", "_rk"], how="left")
        .join(whit, on=["_cid", "_seg", "_rk"], how="left")
        .with_columns(
            # blocked once the reservations made earlier that day reach _need
            pl.when(pl.col("_wait"))
            .then(pl.when(pl.col("_wh").fill_null(False)).then(0).otherwise(1))
            .otherwise(pl.col("_limit") - pl.col("_n").fill_null(0))
            .alias("_need"),
        )
        .select(*ds_cols, "_seg", "_need")
    )
    # _kmax: how many of the borrower's contacts decided before fall under the same rule (and
    # account, for a per-account rule), the most reservations the rule can see; at most the
    # contact's rank, so it is counted only where the rank could reach _need
    close = ds.filter((pl.col("_need") > 0) & (pl.col("_need") <= pl.col("_rank")))
    shared = cr.filter(pl.col("_bix").is_in(close.get_column("_bix").unique().implode())).select(
        "_cid", "_bix", "account_id", "_rank", "_rk", "_per_acct"
    )
    kmax = (
        _position(shared, ["_bix", "_rk"], "_kb")
        .join(
            _position(shared, ["_bix", "account_id", "_rk"], "_ka").select("_cid", "_rk", "_ka"),
            on=["_cid", "_rk"],
        )
        .select(
            "_cid",
            "_rk",
            pl.when(pl.col("_per_acct"))
            .then(pl.col("_ka"))
            .otherwise(pl.col("_kb"))
            .alias("_kmax"),
        )
    )
    ds = ds.join(kmax, on=["_cid", "_rk"], how="left").with_columns(pl.col("_kmax").fill_null(0))

    # --- decide ------------------------------------------------------------------------------
    # A contact whose every rule blocks (_need <= 0) or cannot block (_need > _kmax) whatever
    # was planned before it is decided at once; the others, in priority order.
    ordered = (
        ds.filter((pl.col("_need") > 0) & (pl.col("_need") <= pl.col("_kmax")))
        .get_column("_cid")
        .unique()
    )
    seg_can = seg.filter(
        pl.col("_cid").is_in(cut_cids.implode()) | pl.col("_cid").is_in(ordered.implode())
    ).join(df.select("_cid", "_can", "_rank"), on="_cid")

    def mark(segs: pl.DataFrame, hits: pl.DataFrame) -> pl.DataFrame:
        """Segments with ``_blk``: a rule blocks there, or the contact cannot be made at all."""
        blocked = hits.select("_cid", "_seg").unique().with_columns(pl.lit(True).alias("_blk"))
        return segs.join(blocked, on=["_cid", "_seg"], how="left").with_columns(
            pl.col("_blk").fill_null(False) | ~pl.col("_can")
        )

    once = ~pl.col("_cid").is_in(ordered.implode())
    hits_parts = [pl.concat([ds.filter(once & (pl.col("_need") <= 0)), plain_hits])]
    marked_parts = [
        mark(seg_can.filter(once & pl.col("_cid").is_in(cut_cids.implode())), hits_parts[0])
    ]
    # a contact decided as a whole is refused when a rule blocks its only segment
    whole_refused = (
        hits_parts[0].filter(~pl.col("_cid").is_in(cut_cids.implode())).get_column("_cid").unique()
    )
    if ordered.len():
        owners = df.filter(pl.col("_cid").is_in(ordered.implode())).select("_cid", "_bix")
        borrowers_ = owners.get_column("_bix")
        keys_ = cr.filter(pl.col("_bix").is_in(borrowers_.implode())).select(
            "_cid", "_bix", "account_id", "_rank", "_rk"
        )
        cut_ok = marked_parts[0].filter(~pl.col("_blk")).get_column("_cid")
        decided_ok = (
            df.filter(pl.col("_bix").is_in(borrowers_.implode()))
            .filter(
                once
                & pl.col("_can")
                & ~pl.col("_cid").is_in(whole_refused.implode())
                & (
                    ~pl.col("_cid").is_in(cut_cids.implode())
                    | pl.col("_cid").is_in(cut_ok.implode())
                )
            )
            .get_column("_cid")
        )
        todo = ds.filter(pl.col("_cid").is_in(ordered.implode()))
        todo_segs = seg_can.filter(pl.col("_cid").is_in(ordered.implode())).sort("_cid", "_seg")
        # the only contact of its borrower to decide in order: what was planned before it is
        # known already, so it is decided at once against those reservations
        alone = owners.filter(pl.len().over("_bix") == 1).get_column("_cid")
        single = todo.filter(pl.col("_cid").is_in(alone.implode()))
        planned = keys_.filter(pl.col("_cid").is_in(decided_ok.implode())).select(
            "_bix", pl.col("account_id").alias("_pacct"), pl.col("_rank").alias("_prank"), "_rk"
        )
        k_single = (
            single.select("_cid", "_seg", "_bix", "account_id", "_rank", "_rk", "_per_acct")
            .join(planned, on=["_bix", "_rk"])
            .filter(
                (pl.col("_prank") < pl.col("_rank"))
                & (~pl.col("_per_acct") | (pl.col("_pacct") == pl.col("account_id")))
            )
            .group_by("_cid", "_seg", "_rk")
            .agg(pl.len().cast(pl.Int64).alias("_k"))
        )
        hits = (
            single.join(k_single, on=["_cid", "_seg", "_rk"], how="left")
            .filter(pl.col("_k").fill_null(0) >= pl.col("_need"))
            .drop("_k")
        )
        hits_parts.append(hits)
        marked_parts.append(
            mark(
                todo_segs.filter(pl.col("_cid").is_in(alone.implode())).drop("_blk", strict=False),
                hits,
            )
        )
        # chains (a borrower with several): one rank after the other, in plain Python
        chained = ~pl.col("_cid").is_in(alone.implode())
        todo = todo.filter(chained)
        todo_segs = todo_segs.filter(chained)
        if todo.height:
            hit_rows, blk = _decide_in_order(
                keys_.filter(pl.col("_bix").is_in(todo.get_column("_bix").implode())),
                decided_ok,
                todo.select("_cid", "_seg", "_rk", "_need", "_per_acct"),
                todo_segs.select("_cid", "_seg", "_can"),
            )
            hits_parts.append(todo[hit_rows])
            marked_parts.append(
                todo_segs.drop("_blk", strict=False).with_columns(
                    pl.Series("_blk", blk, dtype=pl.Boolean)
                )
            )
    marked = pl.concat(marked_parts)
    hits_all = pl.concat(hits_parts)
    seg_ok = marked.filter(~pl.col("_blk")).get_column("_cid")
    seg_refused = marked.filter(~pl.col("_cid").is_in(seg_ok.implode())).get_column("_cid")
    df = df.with_columns(
        (
            pl.col("_can")
            & ~pl.col("_cid").is_in(whole_refused.implode())
            & ~pl.col("_cid").is_in(seg_refused.implode())
        ).alias("_allowed")
    )

    # --- planned windows: the first stretch of segments no rule blocks -----------------------
    cut_marked = marked.filter(pl.col("_cid").is_in(cut_cids.implode()))
    firsts = (
        cut_marked.filter(~pl.col("_blk"))
        .group_by("_cid")
        .agg(pl.col("_seg").min().alias("_f"), pl.col("_t").min().alias("_s"))
    )
    stops = (
        cut_marked.join(firsts, on="_cid")
        .filter(pl.col("_blk") & (pl.col("_seg") > pl.col("_f")))
        .group_by("_cid")
        .agg(pl.col("_t").min().alias("_e"))
    )
    narrowed = (
        firsts.join(stops, on="_cid", how="left")
        .join(df.select("_cid", "timezone", "_ws", "_we"), on="_cid")
        .with_columns(pl.coalesce("_e", "_we").alias("_e"))
        .filter((pl.col("_s") != pl.col("_ws")) | (pl.col("_e") != pl.col("_we")))
        .select("_cid", "timezone", "_s", "_e")
    )
    texts = [(_local_text(s, tz), _local_text(e, tz)) for _, tz, s, e in narrowed.iter_rows()]
    narrowed = narrowed.select(
        "_cid",
        "_s",
        "_e",
        pl.Series("_ns", [t[0] for t in texts], dtype=pl.String),
        pl.Series("_ne", [t[1] for t in texts], dtype=pl.String),
    )

    # --- refused contacts: the engine's rule ids at their first instant ----------------------
    refused = df.filter(~pl.col("_allowed")).select("_cid", "_combo", "_skey", "_static")
    time_list = pl.DataFrame(
        [
            (n, i - 1_000_000, rid, why)
            for n, c in enumerate(combos)
            for i, (rid, why) in enumerate(zip(c.time_ids, c.time_reasons, strict=True))
        ],
        schema={"_combo": pl.Int64, "_ord": pl.Int64, "_id": pl.String, "_why": pl.String},
        orient="row",
    )
    static_list = pl.DataFrame(
        static_hits,
        schema={"_skey": pl.Int64, "_ord": pl.Int64, "_id": pl.String, "_why": pl.String},
        orient="row",
    )
    dyn_hits = hits_all.filter(
        (pl.col("_seg") == 0) & pl.col("_cid").is_in(refused.get_column("_cid").implode())
    )
    # the count a cap reason shows includes the contacts planned before (reserved)
    later = dyn_hits.filter(pl.col("_rank") > 0).get_column("_bix").unique()
    planned_keys = (
        cr.filter(pl.col("_bix").is_in(later.implode())).filter(
            ~pl.col("_cid").is_in(refused.get_column("_cid").implode())
        )
    ).select("_bix", pl.col("account_id").alias("_pacct"), pl.col("_rank").alias("_prank"), "_rk")
    k_seen = (
        dyn_hits.select("_cid", "_bix", "account_id", "_rank", "_rk", "_per_acct")
        .join(planned_keys, on=["_bix", "_rk"])
        .filter(
            (pl.col("_prank") < pl.col("_rank"))
            & (~pl.col("_per_acct") | (pl.col("_pacct") == pl.col("account_id")))
        )
        .group_by("_cid", "_rk")
        .agg(pl.len().cast(pl.Int64).alias("_k"))
    )
    dyn_hits = (
        dyn_hits.join(k_seen, on=["_cid", "_rk"], how="left")
        .with_columns(pl.col("_k").fill_null(0))
        .select(
            "_cid",
            "_ord",
            pl.col("_rid").alias("_id"),
            pl.when(pl.col("_wait"))
            .then(pl.col("_pre"))
            .otherwise(
                pl.concat_str(
                    pl.col("_pre"),
                    (pl.col("_limit") - pl.col("_need") + pl.col("_k")).cast(pl.String),
                    pl.col("_post"),
                )
            )
            .alias("_why"),
        )
    )
    reasons = (
        pl.concat(
            [
                refused.join(time_list, on="_combo").select("_cid", "_ord", "_id", "_why"),
                refused.filter(pl.col("_static"))
                .join(static_list, on="_skey")
                .select("_cid", "_ord", "_id", "_why"),
                dyn_hits,
            ]
        )
        .sort("_cid", "_ord")
        .group_by("_cid", maintain_order=True)
        .agg(
            pl.col("_id").str.join("|").alias("rule_ids"),
            pl.col("_why").str.join("; ").alias("reason"),
        )
    )

    # --- everything decided above, in place -------------------------------------------------
    # (_cid is the row number of df: scattered into place rather than joined)
    n = df.height
    df = df.with_columns(
        _spread(n, narrowed, "_s", _UTC_DT),
        _spread(n, narrowed, "_e", _UTC_DT),
        _spread(n, narrowed, "_ns", pl.String),
        _spread(n, narrowed, "_ne", pl.String),
        _spread(n, reasons, "rule_ids", pl.String),
        _spread(n, reasons, "reason", pl.String),
    ).with_columns(
        pl.when(pl.col("_allowed")).then(pl.coalesce("_s", "_ws")).alias("_start_utc"),
        pl.when(pl.col("_allowed")).then(pl.coalesce("_e", "_we")).alias("_end_utc"),
        pl.when(pl.col("_allowed")).then(pl.coalesce("_ns", "_ws_text")).alias("window_start"),
        pl.when(pl.col("_allowed")).then(pl.coalesce("_ne", "_we_text")).alias("window_end"),
        pl.col("rule_ids").fill_null(""),
        pl.col("reason").fill_null(""),
    )
    return df.select(*columns, "jurisdiction", "timezone", *CHECK_COLUMNS)


def _decide_in_order(
    keys: pl.DataFrame, decided_ok: pl.Series, todo: pl.DataFrame, segs: pl.DataFrame
) -> tuple[list[int], list[bool]]:
    """Decide the contacts of ``todo`` one rank after the other (a small set: plain Python).

    ``keys``: ``_cid, _bix, account_id, _rank, _rk`` of every (contact, rule) of the borrowers
    concerned; ``decided_ok``: contacts already planned; ``todo``: ``_cid, _seg, _rk, _need,
    _per_acct`` (a row blocks its segment once the reservations before it reach ``_need``);
    ``segs``: ``_cid, _seg, _can`` sorted. Returns the indices of the ``todo`` rows that
    block, and ``_blk`` for each row of ``segs``.
    """
    rules_of: dict[int, list[tuple[int, str | None, int]]] = {}
    for cid, bix, acct, _rank, rk in keys.iter_rows():
        rules_of.setdefault(cid, []).append((bix, acct, rk))
    rank_of = dict(
        zip(keys.get_column("_cid").to_list(), keys.get_column("_rank").to_list(), strict=True)
    )
    by_borrower: dict[tuple[int, int], list[int]] = {}
    by_account: dict[tuple[int, str | None, int], list[int]] = {}

    def reserve(cid: int) -> None:
        for bix, acct, rk in rules_of.get(cid, ()):
            by_borrower.setdefault((bix, rk), []).append(rank_of[cid])
            by_account.setdefault((bix, acct, rk), []).append(rank_of[cid])

    for cid in decided_ok.to_list():
        reserve(cid)
    acct_of = {cid: rules[0][1] for cid, rules in rules_of.items()}
    bix_of = {cid: rules[0][0] for cid, rules in rules_of.items()}
    rows: dict[int, list[tuple[int, int, int, int, bool]]] = {}
    for i, (cid, seg, rk, need, per_acct) in enumerate(todo.iter_rows()):
        rows.setdefault(cid, []).append((i, seg, rk, need, per_acct))
    seg_rows: dict[int, list[tuple[int, int, bool]]] = {}
    for j, (cid, seg, can) in enumerate(segs.iter_rows()):
        seg_rows.setdefault(cid, []).append((j, seg, can))
    hit_rows: list[int] = []
    blk = [False] * segs.height
    for cid in sorted(seg_rows, key=lambda c: rank_of[c]):
        rank, bix, acct = rank_of[cid], bix_of[cid], acct_of[cid]
        blocked: set[int] = set()
        for i, seg, rk, need, per_acct in rows.get(cid, ()):
            seen = (
                by_account.get((bix, acct, rk), []) if per_acct else by_borrower.get((bix, rk), [])
            )
            if sum(1 for r in seen if r < rank) >= need:
                hit_rows.append(i)
                blocked.add(seg)
        ok = False
        for j, seg, can in seg_rows[cid]:
            blk[j] = not can or seg in blocked
            ok = ok or not blk[j]
        if ok:
            reserve(cid)
    return hit_rows, blk


def _position(frame: pl.DataFrame, keys: list[str], name: str) -> pl.DataFrame:
    """``frame`` plus ``name``: each row's place (0, 1, ...) by ``_rank`` within ``keys``."""
    frame = frame.sort(*keys, "_rank")
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    new = pl.any_horizontal(*((pl.col(k) != pl.col(k).shift(1)).fill_null(True) for k in keys))
    return frame.with_columns((row - pl.when(new).then(row).forward_fill()).alias(name))


def _spread(
    n: int, frame: pl.DataFrame, column: str, dtype: pl.DataType | type[pl.DataType]
) -> pl.Series:
    """``frame[column]`` placed at rows ``frame["_cid"]`` of an ``n``-row column of nulls."""
    out = pl.Series(column, [None], dtype=dtype).extend_constant(None, n - 1)
    if frame.height:
        out.scatter(frame.get_column("_cid"), frame.get_column(column))
    return out


def _local_text(at: datetime, timezone: str | None) -> str:
    """ISO 8601 text of ``at`` in ``timezone`` (UTC when unknown)."""
    return at.astimezone(ZoneInfo(timezone) if timezone else UTC).isoformat()


__all__ = ["CHECK_COLUMNS", "check_contacts"]
