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

Contacts of one borrower are decided in priority order (the order of the input rows, ranked by
``_rank``). A contact planned earlier counts against the later ones as a reservation made at
the start of the local day: it counts for every cap (as an attempt, a connected call, an
unanswered call and a conversation, like any reservation) and starts every wait on its channel
for the whole day. That is what the gate will see once the earlier contact is reserved, and on
the safe side for the wait (the gate would start it only at the reserved instant).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from arrears.adapters.db.gate_repo import CONVERSATION_OUTCOMES
from arrears.adapters.portfolio.schema import OUTCOMES
from arrears.domain.compliance.check import (
    HolidayLookup,
    allowed_window,
    candidate_zones,
    describe,
    local_to_utc,
)
from arrears.domain.compliance.engine import (
    NO_RULE_PACK,
    STATIC_RULE_TYPES,
    TIME_RULE_TYPES,
    Attempt,
    BorrowerState,
    PastContact,
    applicable_packs,
    contact_rules,
    counts_toward,
    evaluate,
    static_block,
    wait_end,
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


def _combo(
    day: date,
    jurisdiction: str,
    timezone: str | None,
    channel: str,
    packs: Sequence[RulePack],
    is_holiday: HolidayLookup,
) -> _Combo:
    zones = [ZoneInfo(z) for z in candidate_zones(jurisdiction, timezone)]
    day_start = max(local_to_utc(day, time(0), z, side="start") for z in zones)
    day_end = min(local_to_utc(day + timedelta(days=1), time(0), z, side="end") for z in zones)
    check = allowed_window(day, jurisdiction, timezone, channel, packs, is_holiday)
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
    d = evaluate(
        Attempt("_", None, channel, first),
        [],
        BorrowerState("_", jurisdiction, timezone),
        packs,
        is_holiday,
    )
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


def _rules(jurisdiction: str, channel: str, packs: Sequence[RulePack], day: date) -> list[Rule]:
    """The engine's rule list for the channel, in force on ``day`` (order = report order)."""
    applicable = applicable_packs(BorrowerState("_", jurisdiction, None), packs)
    return [r for r in contact_rules(applicable, channel) if r.in_force(day)]


def _outcome_masks() -> dict[str, int]:
    """Imported outcome -> bit mask of the count bases it counts for (as the gate reads it)."""
    at = datetime(2000, 1, 1, tzinfo=UTC)
    out = {}
    for o in OUTCOMES:
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
) -> pl.DataFrame:
    """Decide every wanted contact of ``plan_date`` as the gate's engine would.

    Parameters
    ----------
    wanted : pl.DataFrame
        One row per contact: ``_cid`` (unique Int64), ``borrower_id``, ``account_id``,
        ``channel``, ``jurisdiction``, ``timezone`` (null when unknown) and ``_rank`` (Int64,
        0, 1, 2 ... per borrower: the order in which the borrower's contacts are decided).
        The attempt is the engine's default one: party ``borrower``, purpose ``collection``,
        by the lender, not at the workplace, one staff member, no number.
    borrowers : pl.DataFrame
        ``borrower_id``, the boolean flag columns present (any of
        :data:`~arrears.domain.compliance.packs.BORROWER_FLAGS`; absent or null = false) and
        optionally ``opt_out_channels`` (``|``-separated).
    contact_history : pl.DataFrame
        Normalised contact history: ``borrower_id, account_id, channel, direction,
        started_at`` (UTC), ``outcome``; outbound rows count, as in the gate (``rpc`` and
        ``ptp`` are conversations).
    plan_date : date
        The borrower-local day planned.
    packs : sequence of RulePack
        All loaded packs.
    is_holiday : callable
        ``(jurisdiction, local date) -> bool``.

    Returns
    -------
    pl.DataFrame
        ``wanted`` plus :data:`CHECK_COLUMNS`: ``_allowed``; for an allowed contact the UTC
        window ``_start_utc``/``_end_utc`` (every instant of it passes the engine) and its ISO
        text in the borrower's zone (UTC when unknown) ``window_start``/``window_end``; for a
        refused one ``rule_ids`` (``|``-joined, in the engine's order) and ``reason`` (``; ``
        joined): what the engine says at the first instant the contact could be made (the
        start of its window, or of the channel's planning window on a day the time rules
        close); ``rule_pack`` (``;``-joined ``id@version`` applied).

    Raises
    ------
    ValueError
        When a channel's planning window does not fall on the local day in every candidate
        zone of a jurisdiction (zones too far apart).
    """
    day = plan_date
    if wanted.height == 0:
        return wanted.with_columns(
            pl.lit(None, dtype=pl.Boolean).alias("_allowed"),
            pl.lit(None, dtype=_UTC_DT).alias("_start_utc"),
            pl.lit(None, dtype=_UTC_DT).alias("_end_utc"),
            *(pl.lit(None, dtype=pl.String).alias(c) for c in CHECK_COLUMNS[3:]),
        )
    # --- time rules per (jurisdiction, zone, channel) ----------------------------------------
    combos = [
        _combo(day, j, tz, ch, packs, is_holiday)
        for j, tz, ch in wanted.select("jurisdiction", "timezone", "channel").unique().iter_rows()
    ]
    windows = pl.DataFrame(
        {
            "jurisdiction": [c.jurisdiction for c in combos],
            "timezone": [c.timezone for c in combos],
            "channel": [c.channel for c in combos],
            "_open": [c.open for c in combos],
            "_ws": [c.start for c in combos],
            "_we": [c.end for c in combos],
            "_ws_text": [c.start and _local_text(c.start, c.timezone) for c in combos],
            "_we_text": [c.end and _local_text(c.end, c.timezone) for c in combos],
            "_t0": [c.first for c in combos],
            "_time_ids": [list(c.time_ids) for c in combos],
            "_time_reasons": [list(c.time_reasons) for c in combos],
            "rule_pack": [c.refs for c in combos],
            "_no_pack": [c.no_pack for c in combos],
        },
        schema_overrides={
            "jurisdiction": pl.String,
            "timezone": pl.String,
            "channel": pl.String,
            "_ws": _UTC_DT,
            "_we": _UTC_DT,
            "_ws_text": pl.String,
            "_we_text": pl.String,
            "_t0": _UTC_DT,
            "_time_ids": pl.List(pl.String),
            "_time_reasons": pl.List(pl.String),
            "rule_pack": pl.String,
            "_open": pl.Boolean,
            "_no_pack": pl.Boolean,
        },
    )
    flag_cols = [f for f in BORROWER_FLAGS if f in borrowers.columns]
    fmask = pl.lit(0, dtype=pl.Int64)
    for f in flag_cols:
        fmask = fmask + pl.col(f).fill_null(False).cast(pl.Int64) * _FLAG_BIT[f]
    opted = (
        pl.col("opt_out_channels").fill_null("")
        if "opt_out_channels" in borrowers.columns
        else pl.lit("")
    )
    binfo = borrowers.select("borrower_id", fmask.alias("_fmask"), opted.alias("_optstr"))
    df = (
        wanted.join(
            windows, on=["jurisdiction", "timezone", "channel"], how="left", nulls_equal=True
        )
        .join(binfo, on="borrower_id", how="left")
        .with_columns(
            pl.col("_fmask").fill_null(0),
            pl.col("_optstr")
            .fill_null("")
            .str.split("|")
            .list.contains(pl.col("channel"))
            .alias("_opt"),
        )
        .drop("_optstr")
    )

    # --- rules per (jurisdiction, channel), in the engine's order --------------------------
    jc = df.filter(~pl.col("_no_pack")).select("jurisdiction", "channel").unique().rows()
    rules = {(j, ch): _rules(j, ch, packs, day) for j, ch in jc}

    # static rules: once per distinct (jurisdiction, channel, flags, opted out of the channel)
    skeys = df.filter(~pl.col("_no_pack")).select("jurisdiction", "channel", "_fmask", "_opt")
    s_rows: dict[str, list] = {k: [] for k in ("jurisdiction", "channel", "_fmask", "_opt")}
    s_ids: list[list[str]] = []
    s_ords: list[list[int]] = []
    s_why: list[list[str]] = []
    at0 = datetime(2000, 1, 1, tzinfo=UTC)
    for j, ch, m, opt in skeys.unique().iter_rows():
        b = BorrowerState(
            "_",
            j,
            None,
            flags=frozenset(f for f, bit in _FLAG_BIT.items() if m & bit),
            opted_out=frozenset({ch}) if opt else frozenset(),
        )
        a = Attempt("_", None, ch, at0)
        ids, ords, whys = [], [], []
        for i, r in enumerate(rules[(j, ch)]):
            if r.type in STATIC_RULE_TYPES:
                why = static_block(r, a, b)
                if why is not None:
                    ids.append(r.id)
                    ords.append(i)
                    whys.append(f"{why}: {describe(r)}")
        for k, v in zip(
            ("jurisdiction", "channel", "_fmask", "_opt"), (j, ch, m, opt), strict=True
        ):
            s_rows[k].append(v)
        s_ids.append(ids)
        s_ords.append(ords)
        s_why.append(whys)
    static = pl.DataFrame(
        {**s_rows, "_s_ids": s_ids, "_s_ords": s_ords, "_s_why": s_why},
        schema={
            "jurisdiction": pl.String,
            "channel": pl.String,
            "_fmask": pl.Int64,
            "_opt": pl.Boolean,
            "_s_ids": pl.List(pl.String),
            "_s_ords": pl.List(pl.Int64),
            "_s_why": pl.List(pl.String),
        },
    )
    df = df.join(static, on=["jurisdiction", "channel", "_fmask", "_opt"], how="left").with_columns(
        (pl.col("_s_ids").list.len().fill_null(0) > 0).alias("_static")
    )

    # dynamic rules (caps, waits): one row per (jurisdiction, channel, rule)
    d_cols: dict[str, list] = {
        k: []
        for k in (
            "jurisdiction",
            "channel",
            "_rid",
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
    for (j, ch), rs in rules.items():
        for i, r in enumerate(rs):
            if r.type not in _DYNAMIC:
                continue
            pre, post = _dynamic_reason(r)
            wait = r.type == "wait_after_conversation"
            daily = r.type == "daily_call_cap"
            values = (
                j,
                ch,
                r.id,
                i,
                wait,
                (r.max_calls if daily else r.limit) if not wait else 0,
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
            "jurisdiction": pl.String,
            "channel": pl.String,
            "_rid": pl.String,
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
    zkeys = (
        df.filter(~pl.col("_no_pack"))
        .select("jurisdiction", "timezone")
        .unique()
        .join(dyn.select("jurisdiction", "_days").unique(), on="jurisdiction")
    )
    z_lo: list[datetime] = []
    z_hi: list[datetime] = []
    for j, tz, n in zkeys.iter_rows():
        zones = [ZoneInfo(z) for z in candidate_zones(j, tz)]
        spans = sorted(
            (_day_start(day - timedelta(days=n - 1), z), _day_start(day + timedelta(days=n), z))
            for z in zones
        )
        lo, hi = spans[0]
        for s, e in spans[1:]:
            if s > hi:
                raise ValueError(f"the zones of {j} are too far apart to count local days")
            hi = max(hi, e)
        z_lo.append(lo)
        z_hi.append(hi)
    zb = zkeys.with_columns(
        pl.Series("_lo", z_lo, dtype=_UTC_DT), pl.Series("_hi", z_hi, dtype=_UTC_DT)
    )

    # --- one row per (contact, dynamic rule) --------------------------------------------------
    cr = (
        df.select(
            "_cid",
            "borrower_id",
            "account_id",
            "jurisdiction",
            "timezone",
            "channel",
            "_rank",
            "_open",
            "_ws",
            "_we",
            "_t0",
        )
        .join(dyn, on=["jurisdiction", "channel"], how="inner")
        .join(zb, on=["jurisdiction", "timezone", "_days"], how="left", nulls_equal=True)
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
        .join(cr.select("borrower_id").unique(), on="borrower_id", how="semi")
    )
    crh = (
        cr.join(hist, on="borrower_id", how="inner")
        .filter(
            ((pl.col("_hch") & pl.col("_chmask")) != 0)
            & ((pl.col("_hmask") & pl.col("_cbit")) != 0)
            & (
                ~pl.col("_per_acct")
                | pl.col("_hacct").is_null()
                | (pl.col("_hacct") == pl.col("account_id"))
            )
        )
        .select("_cid", "_rid", "_wait", "_rolling", "_span", "_lo", "_hi", "_a", "_b", "_at")
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
    if waits.height:
        wkeys = waits.join(cr.select("_cid", "jurisdiction", "timezone").unique(), on="_cid")
        wkeys = wkeys.select("_at", "_span", "jurisdiction", "timezone").unique()
        ends = [
            wait_end(at, span.days, [ZoneInfo(z) for z in candidate_zones(j, tz)])
            for at, span, j, tz in wkeys.iter_rows()
        ]
        wkeys = wkeys.with_columns(pl.Series("_wend", ends, dtype=_UTC_DT))
        waits = (
            waits.join(cr.select("_cid", "jurisdiction", "timezone").unique(), on="_cid")
            .join(wkeys, on=["_at", "_span", "jurisdiction", "timezone"], nulls_equal=True)
            .filter(pl.col("_wend") > pl.col("_a"))
        )
    else:
        waits = waits.with_columns(pl.col("_at").alias("_wend"))
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
    first = df.select(
        "_cid",
        pl.when(pl.col("_open")).then(pl.col("_ws")).otherwise(pl.col("_t0")).alias("_t"),
        pl.lit(0, dtype=pl.Int64).alias("_seg"),
    )
    if cuts.height:
        # most contacts keep one segment; only the cut ones are sorted and numbered
        cut = (
            pl.concat([first.join(cuts, on="_cid", how="semi").drop("_seg"), cuts])
            .sort("_cid", "_t")
            .with_columns(pl.int_range(pl.len()).over("_cid").cast(pl.Int64).alias("_seg"))
        )
        seg = pl.concat([first.join(cuts, on="_cid", how="anti"), cut])
    else:
        seg = first

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
        .group_by("_cid", "_seg", "_rid")
        .agg(pl.len().cast(pl.Int64).alias("_n"))
    )
    whit = (
        waits.join(seg, on="_cid")
        .filter((pl.col("_at") <= pl.col("_t")) & (pl.col("_t") < pl.col("_wend")))
        .select("_cid", "_seg", "_rid")
        .unique()
        .with_columns(pl.lit(True).alias("_wh"))
    )
    ds = cr.select(
        "_cid",
        "borrower_id",
        "account_id",
        "_rank",
        "_rid",
        "_ord",
        "_wait",
        "_limit",
        "_per_acct",
        "_pre",
        "_post",
    )
    ds = (
        ds.join(seg.select("_cid", "_seg"), on="_cid")
        if cuts.height
        else ds.with_columns(pl.lit(0, dtype=pl.Int64).alias("_seg"))
    )
    ds = (
        ds.join(base, on=["_cid", "_seg", "_rid"], how="left")
        .join(whit, on=["_cid", "_seg", "_rid"], how="left")
        .with_columns(
            # blocked once the reservations made earlier that day reach _need
            pl.when(pl.col("_wait"))
            .then(pl.when(pl.col("_wh").fill_null(False)).then(0).otherwise(1))
            .otherwise(pl.col("_limit") - pl.col("_n").fill_null(0))
            .alias("_need"),
            pl.lit(0, dtype=pl.Int64).alias("_k"),
        )
        .drop("_wh", "_n")
    )

    # --- decide contacts in priority order; planned ones count against the later ones -------
    # Only borrowers with two contacts under one cap or wait need the contacts decided one
    # rank after the other; every other contact is decided at once (nothing reserved before).
    shared = (
        cr.group_by("borrower_id", "_rid")
        .agg(pl.len().alias("_m"))
        .filter(pl.col("_m") > 1)
        .select("borrower_id")
        .unique()
    )
    can = df.select(
        "_cid", "borrower_id", "_rank", (pl.col("_open") & ~pl.col("_static")).alias("_can")
    )
    dep_cids = can.join(shared, on="borrower_id", how="semi").select("_cid")

    def decide(hits: pl.DataFrame, segs: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Blocked flag per segment, and the contacts with a segment left open."""
        marked = segs.join(
            hits.select("_cid", "_seg").unique().with_columns(pl.lit(True).alias("_blk")),
            on=["_cid", "_seg"],
            how="left",
        ).with_columns(pl.col("_blk").fill_null(False) | ~pl.col("_can"))
        return marked, marked.filter(~pl.col("_blk")).select("_cid").unique()

    seg_can = seg.join(can.select("_cid", "_can"), on="_cid")
    free_hits = ds.join(dep_cids, on="_cid", how="anti").filter(pl.col("_need") <= 0)
    free_segs, free_ok = decide(free_hits, seg_can.join(dep_cids, on="_cid", how="anti"))
    hits_parts = [free_hits]
    marked_parts = [free_segs]
    ok_parts = [free_ok]
    if dep_cids.height:
        dep_ds = ds.join(dep_cids, on="_cid", how="semi")
        dep_segs = seg_can.join(dep_cids, on="_cid", how="semi").join(
            can.select("_cid", "_rank"), on="_cid"
        )
        ds_by_rank = dep_ds.partition_by("_rank", as_dict=True)
        seg_by_rank = dep_segs.partition_by("_rank", as_dict=True)
        keys = cr.join(dep_cids, on="_cid", how="semi").select(
            "_cid", "borrower_id", "account_id", "_rid"
        )
        reserved = keys.clear()
        for rank in sorted(k[0] for k in seg_by_rank):
            part = ds_by_rank.get((rank,), dep_ds.clear())
            if reserved.height:
                kb = reserved.group_by("borrower_id", "_rid").agg(pl.len().alias("_kb"))
                ka = reserved.group_by("borrower_id", "account_id", "_rid").agg(
                    pl.len().alias("_ka")
                )
                part = (
                    part.join(kb, on=["borrower_id", "_rid"], how="left")
                    .join(ka, on=["borrower_id", "account_id", "_rid"], how="left")
                    .with_columns(
                        pl.when(pl.col("_per_acct"))
                        .then(pl.col("_ka"))
                        .otherwise(pl.col("_kb"))
                        .fill_null(0)
                        .cast(pl.Int64)
                        .alias("_k")
                    )
                    .drop("_kb", "_ka")
                )
            hits = part.filter(pl.col("_k") >= pl.col("_need"))
            marked, ok = decide(hits, seg_by_rank[(rank,)].drop("_rank"))
            hits_parts.append(hits)
            marked_parts.append(marked)
            ok_parts.append(ok)
            if ok.height:
                reserved = pl.concat([reserved, keys.join(ok, on="_cid", how="semi")])
    allowed = pl.concat(ok_parts)
    marked = pl.concat(marked_parts)
    hits_all = pl.concat(hits_parts)

    # --- planned windows: the first stretch of segments no rule blocks -----------------------
    cut_ok = marked.join(cuts.select("_cid").unique(), on="_cid", how="semi").join(
        allowed, on="_cid", how="semi"
    )
    firsts = (
        cut_ok.filter(~pl.col("_blk"))
        .group_by("_cid")
        .agg(pl.col("_seg").min().alias("_f"), pl.col("_t").min().alias("_s"))
    )
    stops = (
        cut_ok.join(firsts, on="_cid")
        .filter(pl.col("_blk") & (pl.col("_seg") > pl.col("_f")))
        .group_by("_cid")
        .agg(pl.col("_t").min().alias("_e"))
    )
    df = (
        df.join(allowed.with_columns(pl.lit(True).alias("_allowed")), on="_cid", how="left")
        .join(firsts.drop("_f"), on="_cid", how="left")
        .join(stops, on="_cid", how="left")
        .with_columns(pl.col("_allowed").fill_null(False))
        .with_columns(
            pl.when(pl.col("_allowed")).then(pl.coalesce("_s", "_ws")).alias("_start_utc"),
            pl.when(pl.col("_allowed")).then(pl.coalesce("_e", "_we")).alias("_end_utc"),
        )
        .drop("_s", "_e")
    )

    # --- refused contacts: the engine's rule ids at their first instant ----------------------
    refused = df.filter(~pl.col("_allowed")).select(
        "_cid", "_no_pack", "_static", "_time_ids", "_time_reasons", "_s_ords", "_s_ids", "_s_why"
    )
    time_hits = (
        refused.select("_cid", "_time_ids", "_time_reasons")
        .explode("_time_ids", "_time_reasons")
        .filter(pl.col("_time_ids").is_not_null())
        .select(
            "_cid",
            (pl.int_range(pl.len()).over("_cid") - 1_000_000).cast(pl.Int64).alias("_ord"),
            pl.col("_time_ids").alias("_id"),
            pl.col("_time_reasons").alias("_why"),
        )
    )
    static_hits = (
        refused.filter(pl.col("_static") & ~pl.col("_no_pack"))
        .select("_cid", "_s_ords", "_s_ids", "_s_why")
        .explode("_s_ords", "_s_ids", "_s_why")
        .select(
            "_cid",
            pl.col("_s_ords").alias("_ord"),
            pl.col("_s_ids").alias("_id"),
            pl.col("_s_why").alias("_why"),
        )
    )
    dyn_hits = (
        hits_all.filter(pl.col("_seg") == 0)
        .join(refused, on="_cid", how="semi")
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
        pl.concat([time_hits, static_hits, dyn_hits])
        .sort("_cid", "_ord")
        .group_by("_cid", maintain_order=True)
        .agg(
            pl.col("_id").str.join("|").alias("rule_ids"),
            pl.col("_why").str.join("; ").alias("reason"),
        )
    )
    df = df.join(reasons, on="_cid", how="left").with_columns(
        pl.col("rule_ids").fill_null(""), pl.col("reason").fill_null("")
    )

    # --- window text in the borrower's zone (UTC when unknown) -------------------------------
    narrowed = df.filter(
        pl.col("_allowed")
        & ((pl.col("_start_utc") != pl.col("_ws")) | (pl.col("_end_utc") != pl.col("_we")))
    ).select("_cid", "timezone", "_start_utc", "_end_utc")
    show = [(cid, _local_text(s, tz), _local_text(e, tz)) for cid, tz, s, e in narrowed.iter_rows()]
    narrowed = pl.DataFrame(
        {
            "_cid": [r[0] for r in show],
            "_ns": [r[1] for r in show],
            "_ne": [r[2] for r in show],
        },
        schema={"_cid": pl.Int64, "_ns": pl.String, "_ne": pl.String},
    )
    df = df.join(narrowed, on="_cid", how="left").with_columns(
        pl.when(pl.col("_allowed")).then(pl.coalesce("_ns", "_ws_text")).alias("window_start"),
        pl.when(pl.col("_allowed")).then(pl.coalesce("_ne", "_we_text")).alias("window_end"),
    )
    return df.select(*wanted.columns, *CHECK_COLUMNS)


def _local_text(at: datetime, timezone: str | None) -> str:
    """ISO 8601 text of ``at`` in ``timezone`` (UTC when unknown)."""
    return at.astimezone(ZoneInfo(timezone) if timezone else UTC).isoformat()


__all__ = ["CHECK_COLUMNS", "check_contacts"]
