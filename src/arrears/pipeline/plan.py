"""Treatment choice and the day's contact plan, vectorised, checked by the compliance rules.

Stages used by the daily run:

* :func:`choose_treatments` applies a :class:`~arrears.domain.strategy.Strategy` to every
  account in arrears (first matching segment of the account's arm wins).
* :func:`plan_contacts` expands treatments into planned contacts per channel, places each in
  the channel's local window, and checks it against every rule the live gate's engine applies
  (:mod:`arrears.pipeline.contact_check`: hours, no-contact days, holds, opt-outs, lawyers,
  parties, daily and rolling caps, waits after a conversation), with the borrower's contact
  history; the rule ids of a refused contact are the engine's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import polars as pl

from arrears.adapters.portfolio.schema import FLAG_COLUMNS
from arrears.domain.compliance.check import HolidayLookup
from arrears.domain.compliance.packs import RulePack, packs_for
from arrears.domain.money import MINOR_UNITS
from arrears.domain.strategy import (
    DISPUTE_LIFTS_WITH_VALIDATION,
    NOTHING_DUE,
    TREATMENT_CHANNELS,
    TREATMENT_PURPOSE,
    Segment,
    Strategy,
    arm_slot,
)
from arrears.pipeline.contact_check import check_contacts


def _segment_condition(seg: Segment, columns: Sequence[str]) -> pl.Expr:
    """Polars form of :meth:`Segment.matches` (absent flag columns count as false)."""
    cond = pl.lit(True)
    if seg.flags:
        present = [pl.col(f) for f in seg.flags if f in columns]
        cond = cond & (pl.any_horizontal(*present) if present else pl.lit(False))
    if seg.buckets:
        cond = cond & pl.col("bucket").is_in(list(seg.buckets))
    if (seg.balance_min is not None or seg.balance_max is not None) and "amount_known" in columns:
        cond = cond & pl.col("amount_known")  # an unknown amount matches no balance band
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
            **{k: [_path(r[2])[k] for r in rows] for k in _PATH_COLUMNS},
        },
        schema_overrides={"_seg": pl.Int64, "cadence_days": pl.Int64},
    )


_PATH_COLUMNS = (
    "segment", "treatment", "reason", "channels", "cadence_days", "templates", "offer_types",
)  # fmt: skip


def _path(seg: Segment) -> dict[str, Any]:
    """The path columns of one segment (list-valued fields ``|``-joined)."""
    return {
        "segment": seg.name,
        "treatment": seg.treatment.value,
        "reason": seg.reason,
        "channels": "|".join(seg.path_channels),
        "cadence_days": seg.cadence_days,
        "templates": "|".join(seg.templates),
        "offer_types": "|".join(o.value for o in seg.offer_types),
    }


def choose_treatments(accounts_in_arrears: pl.DataFrame, strategy: Strategy) -> pl.DataFrame:
    """Assign arm, segment, treatment path and reason to each account (first match wins).

    Parameters
    ----------
    accounts_in_arrears : pl.DataFrame
        Columns ``account_id, bucket, score`` and the boolean flag columns of the borrower
        (a flag column that is absent counts as false: e.g. ``plan_active``). Segments with a
        balance band also need ``arrears_minor`` (Int64 minor units) and ``currency``. When
        ``arrears_minor`` is present, an account with ``arrears_minor <= 0`` whose segment would
        contact or offer gets :data:`~arrears.domain.strategy.NOTHING_DUE` (no action) whatever
        the strategy says, unless a boolean ``amount_known`` column says the amount is unknown;
        so does one whose ``balance_minor`` (the account balance, when given) is not positive.

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
    if "arrears_minor" in out.columns:
        # Nothing owed, nothing collected, whatever the strategy says (domain.strategy.choose):
        # a path that contacts or offers becomes NOTHING_DUE; a hold keeps its own segment.
        known = pl.col("amount_known") if "amount_known" in out.columns else pl.lit(True)
        owed_nothing = (pl.col("arrears_minor") <= 0) & known
        if "balance_minor" in out.columns:  # a zero or credit balance: nothing owed at all
            owed_nothing = owed_nothing | (pl.col("balance_minor") <= 0).fill_null(False)
        nothing_due = owed_nothing & ((pl.col("channels") != "") | (pl.col("offer_types") != ""))
        out = out.with_columns(
            pl.when(nothing_due).then(pl.lit(v)).otherwise(pl.col(k)).alias(k)
            for k, v in _path(NOTHING_DUE).items()
        )
    return out.drop("_slot", "_seg", *(["_scale"] if banded else []))


PLAN_COLUMNS = [
    "plan_date",
    "account_id",
    "borrower_id",
    "channel",
    "treatment",
    "purpose",
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
    lender_jurisdictions: tuple[str, ...] = (),
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
        Normalised borrowers frame: ``jurisdiction``, ``timezone``, the status flag columns
        and ``opt_out_channels``.
    contact_history : pl.DataFrame
        Normalised contact history: every outbound contact counts towards the caps and waits,
        whenever it was (as in the gate).
    plan_date : date
        The borrower-local day being planned.
    packs : sequence of RulePack
        All loaded rule packs.
    is_holiday : callable
        ``(jurisdiction, local date) -> bool``.
    lender_jurisdictions : tuple of str
        Where the lender is regulated: those packs apply to every borrower too
        (``BorrowerState.lender_jurisdictions``, as in the gate).

    Returns
    -------
    contacts, blocked : pl.DataFrame
        ``contacts`` has ``PLAN_COLUMNS`` (+ ``_start_utc``/``_end_utc``, the UTC window in
        which the engine allows the contact at every instant); ``blocked`` has
        ``PLAN_COLUMNS`` plus ``rule_ids`` and ``reason`` (the engine's rule ids at the
        first instant the contact could have been made).

    Notes
    -----
    A borrower's contacts are decided in priority order: highest ``arrears_minor`` first, then
    ``account_id``, then the order of the treatment path's channels. Each contact planned
    counts against the later ones as a reservation made at the start of the local day (see
    :mod:`arrears.pipeline.contact_check`), so the plan never asks the gate for more than a
    cap leaves.
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
        path = (
            pl.col("channels")
            .fill_null("")
            .str.split("|")
            .list.eval(pl.element().filter(pl.element() != ""))
        )
        expanded = (
            decisions.select(*base_cols, path.alias("channel"))
            .with_columns(
                pl.int_ranges(0, pl.col("channel").list.len(), dtype=pl.Int64).alias(
                    "_channel_order"
                )
            )
            .explode("channel", "_channel_order")
            .filter(pl.col("channel").is_not_null())
        )
    else:
        expanded = decisions.select(base_cols).join(channel_map, on="treatment", how="inner")
    # priority within a borrower: highest arrears first, then account id, then path order
    wanted = expanded.sort(
        ["borrower_id", "arrears_minor", "account_id", "_channel_order"],
        descending=[False, True, False, False],
        nulls_last=True,
    )
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    new_borrower = (pl.col("borrower_id") != pl.col("borrower_id").shift(1)).fill_null(True)
    purposes = {t.value: p for t, p in TREATMENT_PURPOSE.items()}
    wanted = wanted.with_columns(
        (row - pl.when(new_borrower).then(row).forward_fill()).alias("_rank"),
        pl.col("treatment")
        .replace_strict(purposes, default="collection", return_dtype=pl.String)
        .alias("purpose"),
    )
    planned = check_contacts(
        wanted, borrowers, contact_history, plan_date, packs, is_holiday, lender_jurisdictions
    ).with_columns(
        pl.lit(plan_date).alias("plan_date"),
        pl.col("timezone").fill_null("").alias("borrower_timezone"),
    )
    order = ["borrower_id", "account_id", "_channel_order"]
    contacts = (
        planned.filter(pl.col("_allowed"))
        .sort(order)
        .select(*PLAN_COLUMNS, "_start_utc", "_end_utc")
    )
    blocked = (
        planned.filter(~pl.col("_allowed")).sort(order).select(*PLAN_COLUMNS, "rule_ids", "reason")
    )
    return contacts, blocked


def borrower_flags(
    borrowers: pl.DataFrame, lender_jurisdictions: Sequence[str] = ()
) -> pl.DataFrame:
    """``borrower_id`` and the boolean flag columns, for joining onto decisions.

    ``dispute_open`` is the strategy's (:func:`arrears.domain.strategy.dispute_held`, with the
    lender's jurisdictions): in the US the dispute holds lift once ``validation_sent`` is set,
    so the strategy may collect again; wherever another pack applies (the borrower's or the
    lender's) a dispute holds until it is closed. The contact check still reads the
    borrower's own flags.
    """
    lender_lifts = all(
        j.split("-")[0] in DISPUTE_LIFTS_WITH_VALIDATION for j in lender_jurisdictions
    )
    lifts = pl.col("jurisdiction").str.split("-").list.first().is_in(
        list(DISPUTE_LIFTS_WITH_VALIDATION)
    ).fill_null(False) & pl.lit(lender_lifts)
    return borrowers.select(
        "borrower_id",
        *(c for c in FLAG_COLUMNS if c != "dispute_open"),
        (pl.col("dispute_open") & ~(pl.col("validation_sent") & lifts)).alias("dispute_open"),
    ).select("borrower_id", *FLAG_COLUMNS)


__all__ = ["PLAN_COLUMNS", "borrower_flags", "choose_treatments", "packs_for", "plan_contacts"]
