"""Treatment choice and the day's contact plan, vectorised, checked by the compliance rules.

Stages used by the daily run:

* :func:`choose_treatments` applies a :class:`~arrears.domain.strategy.Strategy` to every
  account in arrears (first matching segment of the account's arm wins).
* :func:`plan_contacts` expands treatments into planned contacts per channel, places each in
  the channel's local window, and checks it with the same rule code the live gate uses
  (:mod:`arrears.domain.compliance.check`): contact hours and no-contact days per
  (jurisdiction, time zone, channel), then the daily call cap per borrower, counting calls
  already made that local day in the contact history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from arrears.adapters.portfolio.schema import FLAG_COLUMNS
from arrears.domain.compliance.check import (
    HolidayLookup,
    allowed_window,
    candidate_zones,
    daily_call_cap,
    local_to_utc,
)
from arrears.domain.compliance.packs import RulePack, packs_for
from arrears.domain.money import MINOR_UNITS
from arrears.domain.strategy import (
    CHANNEL_WINDOWS,
    TREATMENT_CHANNELS,
    Segment,
    Strategy,
    arm_slot,
)

CONNECTED_OUTCOMES = ("connected", "rpc", "ptp")


def _segment_condition(seg: Segment, columns: Sequence[str]) -> pl.Expr:
    """Polars form of :meth:`Segment.matches` (absent flag columns count as false)."""
    cond = pl.lit(True)
    if seg.flags:
        present = [pl.col(f) for f in seg.flags if f in columns]
        cond = cond & (pl.any_horizontal(*present) if present else pl.lit(False))
    if seg.buckets:
        cond = cond & pl.col("bucket").is_in(list(seg.buckets))
    if seg.balance_min is not None:
        cond = cond & (pl.col("arrears_minor") >= pl.col("_scale") * seg.balance_min)
    if seg.balance_max is not None:
        cond = cond & (pl.col("arrears_minor") < pl.col("_scale") * seg.balance_max)
    return cond & (pl.col("score") >= seg.score_min) & (pl.col("score") < seg.score_max)


def segment_paths(strategy: Strategy) -> pl.DataFrame:
    """One row per (arm, segment position) with the segment's treatment path.

    Columns ``strategy_arm, _seg, segment, treatment, reason, channels, cadence_days,
    templates, offer_types``; list-valued fields are ``|``-joined text ("" when empty).
    """
    rows = [(a.name, i, s) for a in strategy.arms for i, s in enumerate(a.segments)]
    return pl.DataFrame(
        {
            "strategy_arm": [r[0] for r in rows],
            "_seg": [r[1] for r in rows],
            "segment": [r[2].name for r in rows],
            "treatment": [r[2].treatment.value for r in rows],
            "reason": [r[2].reason for r in rows],
            "channels": ["|".join(r[2].path_channels) for r in rows],
            "cadence_days": [r[2].cadence_days for r in rows],
            "templates": ["|".join(r[2].templates) for r in rows],
            "offer_types": ["|".join(o.value for o in r[2].offer_types) for r in rows],
        },
        schema_overrides={"_seg": pl.Int64, "cadence_days": pl.Int64},
    )


def choose_treatments(accounts_in_arrears: pl.DataFrame, strategy: Strategy) -> pl.DataFrame:
    """Assign arm, segment, treatment path and reason to each account (first match wins).

    Parameters
    ----------
    accounts_in_arrears : pl.DataFrame
        Columns ``account_id, bucket, score`` and the boolean flag columns of the borrower
        (a flag column that is absent counts as false: e.g. ``plan_active``). Segments with a
        balance band also need ``arrears_minor`` (Int64 minor units) and ``currency``.

    Returns
    -------
    pl.DataFrame
        The input plus ``strategy_arm, segment, treatment, reason`` and the treatment path
        ``channels, cadence_days, templates, offer_types`` (see :func:`segment_paths`).
    """
    slots = [arm_slot(a) for a in accounts_in_arrears["account_id"].to_list()]
    df = accounts_in_arrears.with_columns(pl.Series("_slot", slots, dtype=pl.Int64))
    banded = any(
        s.balance_min is not None or s.balance_max is not None
        for a in strategy.arms
        for s in a.segments
    )
    if banded:
        df = df.with_columns(
            pl.lit(10, dtype=pl.Int64)
            .pow(pl.col("currency").replace_strict(MINOR_UNITS, default=2, return_dtype=pl.Int64))
            .alias("_scale")
        )
    arm_expr: Any = None
    upper = 0
    for arm in strategy.arms:
        upper += arm.share_pct
        cond = pl.col("_slot") < upper
        arm_expr = (
            pl.when(cond).then(pl.lit(arm.name))
            if arm_expr is None
            else arm_expr.when(cond).then(pl.lit(arm.name))
        )
    assert arm_expr is not None
    df = df.with_columns(arm_expr.otherwise(pl.lit(strategy.arms[-1].name)).alias("strategy_arm"))
    seg_expr: Any = None
    for arm in strategy.arms:
        in_arm = pl.col("strategy_arm") == arm.name
        for i, seg in enumerate(arm.segments):
            cond = in_arm & _segment_condition(seg, df.columns)
            seg_expr = (
                pl.when(cond).then(pl.lit(i, dtype=pl.Int64))
                if seg_expr is None
                else seg_expr.when(cond).then(pl.lit(i, dtype=pl.Int64))
            )
    assert seg_expr is not None
    df = df.with_columns(seg_expr.otherwise(None).alias("_seg"))
    out = df.join(segment_paths(strategy), on=["strategy_arm", "_seg"], how="left")
    return out.drop("_slot", "_seg", *(["_scale"] if banded else []))


@dataclass(frozen=True)
class WindowRow:
    """Planner view of one (jurisdiction, time zone, channel) on the plan date."""

    jurisdiction: str
    timezone: str | None
    channel: str
    allowed: bool
    start_utc: datetime | None
    end_utc: datetime | None
    start_text: str | None
    end_text: str | None
    rule_ids: str
    reason: str
    rule_pack: str


def _window_row(
    plan_date: date,
    jurisdiction: str,
    timezone: str | None,
    channel: str,
    packs: Sequence[RulePack],
    is_holiday: HolidayLookup,
) -> WindowRow:
    check = allowed_window(plan_date, jurisdiction, timezone, channel, packs, is_holiday)
    refs = ";".join(check.pack_refs)

    def refused(rule_ids: str, reason: str, pack_refs: str) -> WindowRow:
        return WindowRow(
            jurisdiction,
            timezone,
            channel,
            False,
            None,
            None,
            None,
            None,
            rule_ids,
            reason,
            pack_refs,
        )

    if not check.pack_refs:
        return refused(
            "NO_RULE_PACK",
            f"no rule pack covers jurisdiction {jurisdiction}: nothing is sent without rules",
            "",
        )
    if not check.open:
        return refused("|".join(check.blocking_rule_ids), "; ".join(check.reasons), refs)
    assert check.start is not None and check.end is not None
    # intersect with the channel's planning window in every candidate zone
    lo, hi = CHANNEL_WINDOWS[channel]
    zones = [ZoneInfo(z) for z in candidate_zones(jurisdiction, timezone)]
    start, end = check.start, check.end
    for z in zones:
        start = max(start, local_to_utc(plan_date, time.fromisoformat(lo), z, side="start"))
        end = min(end, local_to_utc(plan_date, time.fromisoformat(hi), z, side="end"))
    if start >= end:
        return refused(
            "|".join(check.limiting_rule_ids),
            "the planning window for this channel lies outside the allowed contact hours",
            refs,
        )
    show = ZoneInfo(timezone) if timezone else ZoneInfo("UTC")
    return WindowRow(
        jurisdiction,
        timezone,
        channel,
        True,
        start,
        end,
        start.astimezone(show).isoformat(),
        end.astimezone(show).isoformat(),
        "",
        "",
        refs,
    )


PLAN_COLUMNS = [
    "plan_date",
    "account_id",
    "borrower_id",
    "channel",
    "treatment",
    "window_start",
    "window_end",
    "borrower_timezone",
    "jurisdiction",
    "rule_pack",
    "score",
]


def plan_contacts(
    decisions: pl.DataFrame,
    borrowers: pl.DataFrame,
    contact_history: pl.DataFrame,
    plan_date: date,
    packs: Sequence[RulePack],
    is_holiday: HolidayLookup,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Planned contacts and the ones the compliance check refused.

    Parameters
    ----------
    decisions : pl.DataFrame
        ``account_id, borrower_id, treatment, score, arrears_minor`` per account in arrears;
        with a ``channels`` column (``|``-joined, from :func:`choose_treatments`) the contacts
        follow the strategy's treatment path, else the treatment's default channels. An
        account whose ``channels`` is empty (e.g. held back by its cadence) plans nothing.
    borrowers : pl.DataFrame
        Normalised borrowers frame (jurisdiction, timezone).
    contact_history : pl.DataFrame
        Normalised contact history (for calls already made on the plan date).
    plan_date : date
        The borrower-local day being planned.

    Returns
    -------
    contacts, blocked : pl.DataFrame
        ``contacts`` has ``PLAN_COLUMNS`` (+ ``_start_utc`` for checks); ``blocked`` has
        ``PLAN_COLUMNS`` plus ``rule_ids`` and ``reason``.
    """
    channel_map = pl.DataFrame(
        {
            "treatment": [t.value for t, chs in TREATMENT_CHANNELS.items() for _ in chs],
            "channel": [c for chs in TREATMENT_CHANNELS.values() for c in chs],
            "_channel_order": [i for chs in TREATMENT_CHANNELS.values() for i in range(len(chs))],
        }
    )
    base_cols = ["account_id", "borrower_id", "treatment", "score", "arrears_minor"]
    if "channels" in decisions.columns:
        # the strategy's treatment path names the channels per account ("|"-joined, in order)
        expanded = (
            decisions.select(*base_cols, pl.col("channels").str.split("|").alias("channel"))
            .explode("channel")
            .filter(pl.col("channel").is_not_null() & (pl.col("channel") != ""))
            .with_columns(
                pl.int_range(pl.len()).over("account_id").cast(pl.Int64).alias("_channel_order")
            )
        )
    else:
        expanded = decisions.select(base_cols).join(channel_map, on="treatment", how="inner")
    wanted = expanded.join(
        borrowers.select("borrower_id", "jurisdiction", "timezone"),
        on="borrower_id",
        how="left",
    )
    combos = wanted.select("jurisdiction", "timezone", "channel").unique()
    rows = [
        _window_row(plan_date, j, tz, ch, packs, is_holiday) for j, tz, ch in combos.iter_rows()
    ]
    windows = pl.DataFrame(
        {
            "jurisdiction": [r.jurisdiction for r in rows],
            "timezone": [r.timezone for r in rows],
            "channel": [r.channel for r in rows],
            "_allowed": [r.allowed for r in rows],
            "_start_utc": [r.start_utc for r in rows],
            "_end_utc": [r.end_utc for r in rows],
            "window_start": [r.start_text for r in rows],
            "window_end": [r.end_text for r in rows],
            "rule_ids": [r.rule_ids for r in rows],
            "reason": [r.reason for r in rows],
            "rule_pack": [r.rule_pack for r in rows],
        },
        schema_overrides={
            "timezone": pl.String,
            "_start_utc": pl.Datetime("us", "UTC"),
            "_end_utc": pl.Datetime("us", "UTC"),
            "window_start": pl.String,
            "window_end": pl.String,
        },
    )
    planned = wanted.join(
        windows, on=["jurisdiction", "timezone", "channel"], how="left", nulls_equal=True
    )
    planned = planned.with_columns(
        pl.lit(plan_date).alias("plan_date"),
        pl.col("timezone").fill_null("").alias("borrower_timezone"),
    )

    # daily call cap per borrower: calls already made today + calls planned, highest arrears first
    caps = []
    for (j,) in planned.select("jurisdiction").unique().iter_rows():
        cap, counts, ids = daily_call_cap(plan_date, j, packs)
        caps.append((j, cap, counts, "|".join(ids)))
    cap_df = pl.DataFrame(
        {
            "jurisdiction": [c[0] for c in caps],
            "_cap": [c[1] for c in caps],
            "_cap_counts": [c[2] for c in caps],
            "_cap_rules": [c[3] for c in caps],
        },
        schema_overrides={"_cap": pl.Int64},
    )
    # local day bounds per borrower for counting today's calls
    day_bounds = _local_day_bounds(planned.select("jurisdiction", "timezone").unique(), plan_date)
    calls_today = (
        contact_history.filter((pl.col("channel") == "call") & (pl.col("direction") == "outbound"))
        .join(borrowers.select("borrower_id", "jurisdiction", "timezone"), on="borrower_id")
        .join(day_bounds, on=["jurisdiction", "timezone"], nulls_equal=True)
        .filter(
            (pl.col("started_at") >= pl.col("_day_start"))
            & (pl.col("started_at") < pl.col("_day_end"))
        )
        .join(cap_df, on="jurisdiction", how="left")
        .filter((pl.col("_cap_counts") == "attempts") | pl.col("outcome").is_in(CONNECTED_OUTCOMES))
        .group_by("borrower_id")
        .agg(pl.len().cast(pl.Int64).alias("_calls_before"))
    )
    planned = (
        planned.join(cap_df, on="jurisdiction", how="left")
        .join(calls_today, on="borrower_id", how="left")
        .with_columns(pl.col("_calls_before").fill_null(0))
        .sort(["borrower_id", "arrears_minor", "account_id"], descending=[False, True, False])
        .with_columns(
            pl.when((pl.col("channel") == "call") & pl.col("_allowed"))
            .then(pl.int_range(1, pl.len() + 1).over(["borrower_id", "channel", "_allowed"]))
            .otherwise(0)
            .alias("_call_rank")
        )
    )
    over_cap = (
        (pl.col("channel") == "call")
        & pl.col("_allowed")
        & pl.col("_cap").is_not_null()
        & ((pl.col("_call_rank") + pl.col("_calls_before")) > pl.col("_cap"))
    )
    planned = planned.with_columns(
        pl.when(over_cap).then(pl.lit(False)).otherwise(pl.col("_allowed")).alias("_allowed"),
        pl.when(over_cap)
        .then(pl.col("_cap_rules"))
        .otherwise(pl.col("rule_ids"))
        .alias("rule_ids"),
        pl.when(over_cap)
        .then(
            pl.format(
                "daily call cap reached: {} calls already counted today, the cap is {} ({})",
                pl.col("_calls_before") + pl.col("_call_rank") - 1,
                pl.col("_cap"),
                pl.col("_cap_rules"),
            )
        )
        .otherwise(pl.col("reason"))
        .alias("reason"),
    )
    order = ["borrower_id", "account_id", "_channel_order"]
    contacts = (
        planned.filter(pl.col("_allowed"))
        .sort(order)
        .select(*PLAN_COLUMNS, "_start_utc", "_end_utc")
    )
    blocked = (
        planned.filter(~pl.col("_allowed"))
        .sort(order)
        .with_columns(
            pl.lit(None, dtype=pl.String).alias("window_start"),
            pl.lit(None, dtype=pl.String).alias("window_end"),
        )
        .select(*PLAN_COLUMNS, "rule_ids", "reason")
    )
    return contacts, blocked


def _local_day_bounds(combos: pl.DataFrame, plan_date: date) -> pl.DataFrame:
    """UTC bounds of the plan date's local day per (jurisdiction, time zone); widest if unknown."""
    rows = []
    for j, tz in combos.iter_rows():
        zones = [ZoneInfo(z) for z in candidate_zones(j, tz)]
        nxt = plan_date + timedelta(days=1)
        starts = [local_to_utc(plan_date, time(0), z, side="start") for z in zones]
        ends = [local_to_utc(nxt, time(0), z, side="end") for z in zones]
        rows.append((j, tz, min(starts), max(ends)))
    return pl.DataFrame(
        {
            "jurisdiction": [r[0] for r in rows],
            "timezone": [r[1] for r in rows],
            "_day_start": [r[2] for r in rows],
            "_day_end": [r[3] for r in rows],
        },
        schema_overrides={
            "timezone": pl.String,
            "_day_start": pl.Datetime("us", "UTC"),
            "_day_end": pl.Datetime("us", "UTC"),
        },
    )


def borrower_flags(borrowers: pl.DataFrame) -> pl.DataFrame:
    """``borrower_id`` and the boolean flag columns, for joining onto decisions."""
    return borrowers.select("borrower_id", *FLAG_COLUMNS)


__all__ = ["PLAN_COLUMNS", "borrower_flags", "choose_treatments", "packs_for", "plan_contacts"]
