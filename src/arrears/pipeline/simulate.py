"""Strategy simulator: run a portfolio day by day under two strategies and compare them.

Vectorised over accounts with NumPy; one day is a handful of array operations, so 90 days of
100,000 accounts take seconds per replication. The model is documented for people in
``docs/simulator.md``; every number in :class:`ResponseModel` is either estimated from the UCI
payment history or a stated assumption.

One simulated day
-----------------
1. Current accounts reach their monthly due day (a stable per-account day of the 30-day cycle)
   and miss it with the UCI probability of leaving ``current`` (6.1 % a month); DPD of accounts
   in arrears grows by one (not while a repayment plan is being kept).
2. The strategy (first matching segment of the account's arm, exactly as the daily planner) gives
   each account in arrears its treatment path: channels and cadence in days.
3. Each wanted contact passes the gate: the compliance rule code of the packs, evaluated per
   (date, jurisdiction, time zone, channel) with :func:`~arrears.domain.compliance.check.
   allowed_window` and, per borrower, holds, opt-outs, lawyer-only, parties, daily call caps,
   rolling caps and waits after a conversation, taken from the pack rules in force. Counting is
   conservative (every attempt counts, per borrower, over one more calendar day than the rule
   needs), so the simulator may block what the engine would allow, never the reverse; a test
   replays simulated contacts through :func:`arrears.domain.compliance.engine.evaluate`.
   Blocked contacts are counted by rule id, never made.
4. Borrowers respond: answer (by channel, bucket, and less under pressure), pay (a payment
   event), promise (and keep or break the promise), accept a plan, complain.
5. Accounts also pay without any contact (self-cure hazard). A payment event moves the
   account down as the UCI month-to-month transitions do (cure, partial cure, one installment).
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from arrears.adapters.portfolio.schema import PortfolioFrames
from arrears.adapters.portfolio.synthetic import DEFAULT_TRANSITIONS, TransitionMatrix
from arrears.domain.compliance.check import HolidayLookup, allowed_window
from arrears.domain.compliance.engine import SUPPORT_CHANNELS
from arrears.domain.compliance.packs import CHANNELS, Rule, RulePack
from arrears.domain.money import MINOR_UNITS
from arrears.domain.strategy import (
    STRATEGY_FLAGS,
    TREATMENT_PURPOSE,
    Segment,
    Strategy,
    Treatment,
    arm_slot,
)
from arrears.pipeline.assess import assess_portfolio
from arrears.pipeline.capacity import ANSWER_RATE, CALL_MINUTES, REFERENCE_PER_USD
from arrears.pipeline.plan import borrower_flags

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]

BUCKETS = ("current", "M1", "M2", "M3", "M4", "M5", "M6", "M6+")
_NEVER = -(10**6)


@dataclass(frozen=True)
class ResponseModel:
    """Borrower-response model. Defaults are stated assumptions unless marked as estimated.

    Attributes
    ----------
    transitions : TransitionMatrix
        Estimated: UCI month-to-month delinquency transitions (PAY_6..PAY_0). They give the
        monthly chance of paying something in each state and, given a payment, where the account
        goes (cure, partial cure, one installment).
    contact_share : float
        Share of payments under the reference strategy that a contact brings about (0.4).
    answer : dict
        Chance a contact is answered (call: right-party contact) or read, before pressure. Calls
        by bucket use :data:`~arrears.pipeline.capacity.ANSWER_RATE`.
    effect : dict
        Relative effect on payment of an answered or read contact, by channel (call 1.0).
    pressure_answer_drop : float
        Answer chance is divided by ``1 + pressure_answer_drop * contacts in the last 7 days``.
    ptp_share, ptp_break : float
        Share of call-driven payment events that are promises (paid 1-7 days later), and the
        chance a promise is broken.
    plan_share, plan_keep, plan_installments : float, float, int
        Share of payment events on a plan-offer path that become a repayment plan, the monthly
        chance a plan installment is paid, and the plan length in months.
    complaint : dict
        Chance of a complaint per contact, by channel, at or below the pressure threshold.
    complaint_pressure_slope : float
        Complaint chance is multiplied by ``1 + slope * (contacts in 7 days - threshold)`` above
        the threshold.
    complaint_open_days : int
        Days a complaint stays open (holds collection where a pack holds on ``complaint_open``).
    pressure_threshold : int
        Contacts (all channels, allowed ones) in any 7 days above which a borrower counts as
        under pressure (7: the Regulation F call frequency presumption, 12 CFR 1006.14(b)(2)).
    cost_cents : dict
        Cost per contact made, US cents: calls at ``call_cents_per_minute`` x minutes by bucket.
    """

    transitions: TransitionMatrix = DEFAULT_TRANSITIONS
    contact_share: float = 0.4
    answer: dict[str, float] = field(
        default_factory=lambda: {
            "sms": 0.85,
            "email": 0.45,
            "app_push": 0.40,
            "wechat": 0.80,
            "letter": 0.70,
            "visit": 0.50,
        }
    )
    effect: dict[str, float] = field(
        default_factory=lambda: {
            "call": 1.0,
            "visit": 1.2,
            "sms": 0.25,
            "wechat": 0.30,
            "email": 0.15,
            "app_push": 0.15,
            "letter": 0.30,
        }
    )
    pressure_answer_drop: float = 0.08
    ptp_share: float = 0.5
    ptp_break: float = 0.35
    plan_share: float = 0.6
    plan_keep: float = 0.8
    plan_installments: int = 6
    complaint: dict[str, float] = field(
        default_factory=lambda: {
            "call": 0.0008,
            "visit": 0.002,
            "sms": 0.0002,
            "wechat": 0.0002,
            "email": 0.0001,
            "app_push": 0.0001,
            "letter": 0.0002,
        }
    )
    complaint_pressure_slope: float = 0.5
    complaint_open_days: int = 15
    pressure_threshold: int = 7
    call_cents_per_minute: float = 60.0
    cost_cents: dict[str, float] = field(
        default_factory=lambda: {
            "sms": 5.0,
            "email": 0.5,
            "app_push": 0.1,
            "wechat": 1.0,
            "letter": 120.0,
            "visit": 4000.0,
        }
    )


@dataclass
class SimPortfolio:
    """A portfolio reduced to what the simulator needs (arrays over accounts and borrowers).

    Attributes
    ----------
    account_id : list of str
    borrower : I64, (N,)
        Index into the borrower arrays.
    dpd : I64, (N,)
        Days past due at the start.
    installment_minor : I64, (N,)
        Monthly installment in minor units of the account's currency.
    currency : list of str, (N,)
    score : F64, (N,)
        Propensity to pay (0..1), fixed over the run.
    b_jurisdiction, b_timezone : list of str / str or None, (B,)
    b_flags : I64, (B,)
        Bit ``i`` set when the borrower has :data:`STRATEGY_FLAGS` ``[i]`` (or a pack flag).
    b_opt_out : BOOL, (B, len(CHANNELS))
    as_of : date
        Day 0; the simulation covers the following days.
    name : str
        Where it came from.
    """

    account_id: list[str]
    borrower: I64
    dpd: I64
    installment_minor: I64
    currency: list[str]
    score: F64
    b_jurisdiction: list[str]
    b_timezone: list[str | None]
    b_flags: I64
    b_opt_out: BOOL
    as_of: date
    name: str
    _unit: F64 | None = field(default=None, repr=False)

    @property
    def n_accounts(self) -> int:
        """Number of accounts."""
        return len(self.account_id)

    @property
    def n_borrowers(self) -> int:
        """Number of borrowers."""
        return len(self.b_jurisdiction)


FLAG_NAMES: tuple[str, ...] = tuple(dict.fromkeys((*STRATEGY_FLAGS, "complaint_open")))
_FLAG_BIT = {f: 1 << i for i, f in enumerate(FLAG_NAMES)}
_CH = {c: i for i, c in enumerate(CHANNELS)}


def _flag_mask(flags: Sequence[str]) -> int:
    m = 0
    for f in flags:
        # a flag the simulator never sets (e.g. validation_sent) cannot be held by a borrower
        m |= _FLAG_BIT.get(f, 0)
    return m


def portfolio_from_frames(
    frames: PortfolioFrames,
    as_of: date,
    scores: pl.DataFrame | None = None,
    name: str = "",
) -> SimPortfolio:
    """Build a :class:`SimPortfolio` from normalised frames.

    Parameters
    ----------
    frames : PortfolioFrames
    as_of : date
        Assessment date (day 0).
    scores : pl.DataFrame, optional
        ``account_id, score``; missing accounts (or no frame) get 0.5.
    name : str
        Label for reports.

    Notes
    -----
    An account past due on paper with nothing owed (a known arrears amount of zero or less,
    or a zero or credit balance: the daily run's ``nothing_due``) starts current (DPD 0):
    there is nothing to collect.
    The monthly installment is the median scheduled installment of the account (principal,
    interest and fees); without a schedule (the UCI file) the median payment the account made;
    without either, the arrears amount divided by the months behind; and at least 1 major unit.
    """
    assessed = assess_portfolio(frames.accounts, frames.installments, frames.payments, as_of)
    inst = frames.installments.group_by("account_id").agg(
        (pl.col("principal_minor") + pl.col("interest_minor") + pl.col("fees_minor"))
        .median()
        .alias("_inst")
    )
    paid = (
        frames.payments.filter(pl.col("amount_minor") > 0)
        .group_by("account_id")
        .agg(pl.col("amount_minor").median().alias("_paid"))
    )
    acc = (
        frames.accounts.select("account_id", "borrower_id", "currency", "balance_minor")
        .join(
            assessed.select("account_id", "dpd", "arrears_minor", "amount_known"),
            on="account_id",
            how="left",
        )
        .join(inst, on="account_id", how="left")
        .join(paid, on="account_id", how="left")
        .with_columns(
            # past due on paper with nothing owed (the daily run's nothing_due): not in arrears
            pl.when(
                (pl.col("amount_known") & (pl.col("arrears_minor") <= 0))
                | (pl.col("balance_minor") <= 0).fill_null(False)
            )
            .then(0)
            .otherwise(pl.col("dpd"))
            .fill_null(0)
            .alias("dpd"),
            pl.col("arrears_minor").fill_null(0),
        )
    )
    if scores is not None:
        acc = acc.join(scores.select("account_id", "score"), on="account_id", how="left")
    else:
        acc = acc.with_columns(pl.lit(None, dtype=pl.Float64).alias("score"))
    months = ((pl.col("dpd") + 29) // 30).clip(1, None)
    unit = pl.lit(10, dtype=pl.Int64).pow(
        pl.col("currency").replace_strict(MINOR_UNITS, default=2, return_dtype=pl.Int64)
    )
    acc = acc.with_columns(
        pl.coalesce(
            pl.col("_inst"),
            pl.col("_paid"),
            pl.when(pl.col("arrears_minor") > 0).then(pl.col("arrears_minor") / months),
        )
        .fill_null(0)
        .cast(pl.Int64)
        .alias("_i"),
        pl.col("score").fill_null(0.5).clip(0.0, 1.0),
    ).with_columns(pl.max_horizontal(pl.col("_i"), unit).alias("_i"))
    b = frames.borrowers
    b_index = {k: i for i, k in enumerate(b["borrower_id"].to_list())}
    flags = np.zeros(b.height, dtype=np.int64)
    strategy_view = borrower_flags(b)  # as the daily run sees them (dispute_open: still held)
    for f in STRATEGY_FLAGS:
        if f in strategy_view.columns:
            flags |= np.where(strategy_view[f].fill_null(False).to_numpy(), _FLAG_BIT[f], 0)
    opt = np.zeros((b.height, len(CHANNELS)), dtype=np.bool_)
    for i, text in enumerate(b["opt_out_channels"].fill_null("").to_list()):
        for c in text.split("|"):
            if c in _CH:
                opt[i, _CH[c]] = True
    return SimPortfolio(
        account_id=acc["account_id"].to_list(),
        borrower=np.array([b_index[x] for x in acc["borrower_id"].to_list()], dtype=np.int64),
        dpd=acc["dpd"].to_numpy().astype(np.int64),
        installment_minor=acc["_i"].to_numpy().astype(np.int64),
        currency=acc["currency"].to_list(),
        score=acc["score"].to_numpy().astype(np.float64),
        b_jurisdiction=b["jurisdiction"].to_list(),
        b_timezone=b["timezone"].to_list(),
        b_flags=flags,
        b_opt_out=opt,
        as_of=as_of,
        name=name,
    )


# --------------------------------------------------------------------------------------------
# the gate, vectorised over borrowers, built from the pack rules
# --------------------------------------------------------------------------------------------


@dataclass
class _GateSpec:
    open: bool
    start: datetime | None
    end: datetime | None
    window_rules: str
    # rule id, flag mask, until mask, allows collection, allows support (by letter or e-mail)
    holds: list[tuple[str, int, int, bool, bool]]
    opt_out: str  # rule id or ""
    lawyer: list[tuple[str, int]]
    party_block: str
    staff_block: str
    day_caps: list[tuple[str, int]]
    rolling: list[tuple[str, int, int, tuple[int, ...]]]  # id, limit, days, channel idx
    waits: list[tuple[str, int, tuple[int, ...]]]  # id, days, channel idx


def _applicable(jurisdiction: str, packs: Sequence[RulePack]) -> list[RulePack]:
    own = [p for p in packs if not _is_global(p) and p.applies(jurisdiction)]
    if not own:
        return []
    return [p for p in packs if _is_global(p) or p.applies(jurisdiction)]


def _is_global(p: RulePack) -> bool:
    return bool(getattr(p, "is_global", False))


def _gate_spec(
    day: date,
    jurisdiction: str,
    timezone: str | None,
    channel: str,
    packs: Sequence[RulePack],
    is_holiday: HolidayLookup,
) -> _GateSpec:
    applicable = _applicable(jurisdiction, packs)
    if not applicable:
        return _GateSpec(False, None, None, "NO_RULE_PACK", [], "", [], "", "", [], [], [])
    w = allowed_window(
        day, jurisdiction, timezone, channel, applicable, is_holiday, preselected=True
    )
    rules: list[Rule] = [
        r
        for p in applicable
        for r in p.rules
        if r.in_force(day) and r.applies_to_channel(channel) and not r.is_obligation
    ]
    spec = _GateSpec(
        w.open,
        w.start,
        w.end,
        "|".join(w.blocking_rule_ids) if not w.open else "",
        [],
        "",
        [],
        "",
        "",
        [],
        [],
        [],
    )
    for r in rules:
        if r.type == "hold":
            spec.holds.append(
                (
                    r.id,
                    _flag_mask(r.flags),
                    _flag_mask(r.until_flags),
                    "collection" in r.allow_purposes,
                    "support" in r.allow_purposes,
                )
            )
        elif r.type == "channel_opt_out":
            spec.opt_out = r.id
        elif r.type == "lawyer_only":
            spec.lawyer.append((r.id, _flag_mask(r.flags)))
        elif r.type == "parties_allowed" and "borrower" not in r.parties:
            spec.party_block = r.id
        elif r.type == "visit_staff" and (r.min_staff or 1) > 1:
            spec.staff_block = r.id
        elif r.type == "daily_call_cap" and r.max_calls is not None:
            spec.day_caps.append((r.id, r.max_calls))
        elif r.type == "rolling_cap" and r.limit is not None and r.days is not None:
            spec.rolling.append((r.id, r.limit, r.days, tuple(_CH[c] for c in r.channels)))
        elif r.type == "wait_after_conversation" and r.days is not None:
            spec.waits.append((r.id, r.days, tuple(_CH[c] for c in r.channels)))
    return spec


# --------------------------------------------------------------------------------------------
# the simulation
# --------------------------------------------------------------------------------------------


@dataclass
class _Segments:
    seg_index: list[Segment]
    channels: list[tuple[int, ...]]
    cadence: I64
    plan_offer: BOOL
    table: I64  # (segments, max channels): channel index or -1
    support: BOOL  # the path's contacts have purpose support (TREATMENT_PURPOSE)


def _segment_table(strategy: Strategy) -> _Segments:
    segs = [s for a in strategy.arms for s in a.segments]
    chans = [tuple(_CH[c] for c in s.path_channels) for s in segs]
    width = max((len(c) for c in chans), default=0)
    table = np.full((len(segs), max(width, 1)), -1, dtype=np.int64)
    for i, c in enumerate(chans):
        table[i, : len(c)] = c
    return _Segments(
        segs,
        chans,
        np.array([s.cadence_days for s in segs], dtype=np.int64),
        np.array([s.treatment == Treatment.PLAN_OFFER for s in segs], dtype=np.bool_),
        table,
        np.array([TREATMENT_PURPOSE.get(s.treatment) == "support" for s in segs], dtype=np.bool_),
    )


def _assign_segments(
    strategy: Strategy,
    arm: I64,
    flags: I64,
    bucket: I64,
    score: F64,
    balance_major: F64,
    idx: I64,
) -> I64:
    """Index (into the flattened segment list) of the first matching segment, per account."""
    out = np.full(len(idx), -1, dtype=np.int64)
    arm_i, flags_i, bucket_i = arm[idx], flags[idx], bucket[idx]
    score_i, bal_i = score[idx], balance_major[idx]
    k = 0
    for ai, a in enumerate(strategy.arms):
        in_arm = arm_i == ai
        for s in a.segments:
            m = in_arm & (out < 0)
            if s.flags:
                m &= (flags_i & _flag_mask(s.flags)) != 0
            if s.buckets:
                allowed = np.zeros(len(BUCKETS), dtype=np.bool_)
                allowed[[BUCKETS.index(b) for b in s.buckets if b in BUCKETS]] = True
                m &= allowed[bucket_i]
            if s.score_min > 0:
                m &= score_i >= s.score_min
            if s.score_max <= 1:
                m &= score_i < s.score_max
            if s.balance_min is not None:
                m &= bal_i >= s.balance_min
            if s.balance_max is not None:
                m &= bal_i < s.balance_max
            out[m] = k
            k += 1
    return out


@dataclass
class ContactLog:
    """Every contact the simulated gate allowed (recorded only when asked: it is large).

    Columns (equal-length lists): ``day`` (0-based), ``account``, ``borrower`` (indices),
    ``channel`` (name), ``at`` (UTC datetime), ``answered`` (bool; for a call a conversation),
    ``purpose`` (``support`` for a hardship review's letter or e-mail, else ``collection``).
    """

    day: list[int] = field(default_factory=list)
    account: list[int] = field(default_factory=list)
    borrower: list[int] = field(default_factory=list)
    channel: list[str] = field(default_factory=list)
    at: list[datetime] = field(default_factory=list)
    answered: list[bool] = field(default_factory=list)
    purpose: list[str] = field(default_factory=list)


@dataclass
class RunResult:
    """Figures of one replication of one strategy (see :data:`METRICS`)."""

    metrics: dict[str, float]
    blocked_by_rule: dict[str, int]
    contacts_by_channel: dict[str, int]
    roll_matrix: list[list[float]]
    daily_in_arrears: list[int]
    daily_collected: list[float]
    log: ContactLog | None = None


METRICS: dict[str, str] = {
    "amount_collected": "amount collected, report currency (major units)",
    "cure_rate": "share of accounts in arrears on day 0 that reached DPD 0 within the horizon",
    "current_at_end": "share of accounts in arrears on day 0 that are current at the end",
    "roll_rate_M1": "share of M1 accounts in a worse bucket 30 days later (pooled snapshots)",
    "roll_rate_M2": "the same from M2",
    "roll_rate_M3": "the same from M3",
    "cost": "contact cost, report currency (major units)",
    "net_collected": "amount collected minus contact cost",
    "contacts_per_borrower_week": "contacts made per borrower ever in arrears per week",
    "share_above_pressure": "share of borrowers ever in arrears above the pressure threshold",
    "complaints_per_1000": "complaints per 1,000 borrowers ever in arrears",
    "blocked_contacts": "contacts the gate refused (never made)",
    "broken_promises": "promises to pay broken",
    "plans_started": "repayment plans agreed",
}


@dataclass
class _Calib:
    lam_self: F64  # (7,) daily self-payment hazard by state 0..6 (0 unused)
    beta: F64  # (7,) payment chance per unit of answered contact effect
    targets: F64  # (7, 7) conditional distribution of the new state given a payment
    miss: float  # monthly chance a current account misses a due date
    score_mean: float


def _state(dpd: I64) -> I64:
    out: I64 = np.minimum((dpd + 29) // 30, 6)
    return out


def _bucket(dpd: I64) -> I64:
    out: I64 = np.where(dpd <= 0, 0, np.minimum((dpd + 29) // 30, 7))
    return out


def calibrate(
    port: SimPortfolio, reference: Strategy, model: ResponseModel, packs_days: int = 30
) -> _Calib:
    """Daily hazards that reproduce the UCI monthly payment rates under ``reference``.

    For state ``m`` (months behind, 6 = six or more) the UCI row gives the monthly chance of
    paying something, ``P_m`` (1 - chance of rolling to ``m + 1``; at 6+, 1 - chance of staying),
    so the reference daily hazard is ``1 - (1 - P_m) ** (1 / 30)``. A share
    ``1 - contact_share`` of it is self-payment; the rest is brought by contacts: ``beta_m``
    is chosen so that the reference strategy's expected answered-contact effect per day on the
    day-0 accounts of state ``m`` yields the other ``contact_share``. UCI state 1 is absorbing
    in the data (status 1 appears almost only in the last month), so state 1 borrows the rates
    of state 2.
    """
    p = model.transitions.as_array()
    n = p.shape[0]
    rows = p.copy()
    if n > 2 and rows[1, 1] > 0.99:
        rows[1] = rows[2].copy()
        rows[1, 1], rows[1, 2] = rows[2, 2] + rows[2, 1], rows[2, 3]
        rows[1, 3] = 0.0
    lam_ref = np.zeros(7)
    targets = np.zeros((7, 7))
    for m in range(1, 7):
        r = rows[m]
        roll = r[m + 1] if m < 6 else r[6]
        pay = max(1e-6, 1.0 - roll)
        lam_ref[m] = 1.0 - (1.0 - min(pay, 0.999)) ** (1 / 30)
        t = np.zeros(7)
        for j in range(0, m + 1):
            t[j] = r[j] if not (m == 6 and j == 6) else 0.0
        if m < 6:
            t[m] = r[m]
        targets[m] = t / t.sum() if t.sum() > 0 else np.eye(7)[0]
    # reference contact intensity per state, on the day-0 accounts
    segs = _segment_table(reference)
    arm = _arms(port, reference)
    dpd = port.dpd
    idx = np.nonzero(dpd > 0)[0]
    balance = _balance_major(port, dpd)
    seg = _assign_segments(
        reference,
        arm,
        port.b_flags[port.borrower],
        _bucket(dpd),
        port.score,
        balance,
        idx,
    )
    state = _state(dpd[idx])
    intensity = np.zeros(len(idx))
    for k in range(len(segs.seg_index)):
        chans = segs.channels[k]
        if not chans:
            continue
        m = seg == k
        tot = np.zeros(int(m.sum()))
        for c in chans:
            name = CHANNELS[c]
            ans = (
                np.array([ANSWER_RATE.get(BUCKETS[b], 0.15) for b in _bucket(dpd[idx][m])])
                if name == "call"
                else model.answer.get(name, 0.5)
            )
            tot = tot + model.effect.get(name, 0.2) * ans
        intensity[m] = tot / segs.cadence[k]
    beta = np.zeros(7)
    for m in range(1, 7):
        sel = state == m
        e = float(intensity[sel].mean()) if sel.any() else 0.0
        if e > 0:
            beta[m] = model.contact_share * lam_ref[m] / e
    fill = beta[beta > 0].mean() if (beta > 0).any() else 0.05
    beta[1:][beta[1:] == 0] = fill
    ptp_loss = model.ptp_share * model.ptp_break
    beta = np.clip(beta / (1.0 - ptp_loss), 0.0, 0.5)
    lam_self = (1.0 - model.contact_share) * lam_ref
    miss = 1.0 - float(p[0, 0])
    in_arrears = port.score[port.dpd > 0]
    score_mean = float(in_arrears.mean()) if in_arrears.size else 0.5
    return _Calib(lam_self, beta, targets, miss, max(score_mean, 1e-3))


def _arms(port: SimPortfolio, strategy: Strategy) -> I64:
    slots = np.array([arm_slot(a) for a in port.account_id], dtype=np.int64)
    arm = np.full(len(slots), len(strategy.arms) - 1, dtype=np.int64)
    upper = 0
    assigned = np.zeros(len(slots), dtype=np.bool_)
    for i, a in enumerate(strategy.arms):
        upper += a.share_pct
        m = ~assigned & (slots < upper)
        arm[m] = i
        assigned |= m
    return arm


def _balance_major(port: SimPortfolio, dpd: I64) -> F64:
    if port._unit is None:
        port._unit = np.array(
            [10.0 ** MINOR_UNITS.get(c, 2) for c in port.currency], dtype=np.float64
        )
    months = np.where(dpd > 0, (dpd + 29) // 30, 0)
    out: F64 = months * port.installment_minor / port._unit
    return out


def _report_factor(port: SimPortfolio, report_currency: str) -> F64:
    """Per account: multiply minor units by this to get major units of the report currency."""
    to = REFERENCE_PER_USD.get(report_currency, 1.0)
    out = np.empty(port.n_accounts)
    cache: dict[str, float] = {}
    for i, c in enumerate(port.currency):
        if c not in cache:
            cache[c] = to / REFERENCE_PER_USD.get(c, 1.0) / 10 ** MINOR_UNITS.get(c, 2)
        out[i] = cache[c]
    return out


def report_currency_of(port: SimPortfolio) -> str:
    """The most common currency of the portfolio (figures are reported in it)."""
    return Counter(port.currency).most_common(1)[0][0] if port.currency else "USD"


def simulate_strategy(
    port: SimPortfolio,
    strategy: Strategy,
    *,
    days: int,
    seed: int,
    packs: Sequence[RulePack],
    is_holiday: HolidayLookup,
    model: ResponseModel | None = None,
    calib: _Calib | None = None,
    record: bool = False,
    gate_cache: dict[tuple[date, str, str | None, int], _GateSpec] | None = None,
) -> RunResult:
    """Run one replication of ``strategy`` on ``port`` for ``days`` days.

    Parameters
    ----------
    port : SimPortfolio
    strategy : Strategy
    days : int
        Horizon (>= 1); day ``d`` is ``port.as_of + d``.
    seed : int
        Seed of the replication; the same seed gives the same result.
    packs, is_holiday
        Rule packs and holiday lookup for the gate.
    model : ResponseModel, optional
    calib : optional
        From :func:`calibrate` (default: calibrated against ``strategy`` itself).
    record : bool
        Keep a :class:`ContactLog` of every contact made (for tests; costs memory).
    gate_cache : dict, optional
        Shared cache of the per-(day, jurisdiction, zone, channel) rule evaluation; pass the
        same dict to runs with the same packs and days to evaluate each combination once.

    Returns
    -------
    RunResult

    Raises
    ------
    ValueError
        If ``days < 1``.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    model = model or ResponseModel()
    calib = calib or calibrate(port, strategy, model)
    rng = np.random.default_rng(seed)
    n, nb, nc = port.n_accounts, port.n_borrowers, len(CHANNELS)
    segs = _segment_table(strategy)
    arm = _arms(port, strategy)
    factor = _report_factor(port, report_currency_of(port))
    report_cur = report_currency_of(port)
    to_report = REFERENCE_PER_USD.get(report_cur, 1.0) / 100.0  # US cents -> report major
    cycle = np.array([zlib.crc32(a.encode()) % 30 for a in port.account_id], dtype=np.int64)

    dpd = port.dpd.copy()
    start_in_arrears = dpd > 0
    cured_ever = np.zeros(n, dtype=np.bool_)
    last_contact = np.full(n, _NEVER, dtype=np.int64)
    locked_until = np.full(n, _NEVER, dtype=np.int64)
    promise_day = np.full(n, _NEVER, dtype=np.int64)
    promise_kept = np.zeros(n, dtype=np.bool_)
    promise_grace = strategy.offers.promise_grace_days
    plan_active = np.zeros(n, dtype=np.bool_)
    plan_left = np.zeros(n, dtype=np.int64)
    plan_pay = np.zeros(n, dtype=np.int64)
    plan_next = np.full(n, _NEVER, dtype=np.int64)
    ever_arrears_b = np.zeros(nb, dtype=np.bool_)
    complaint_until = np.full(nb, _NEVER, dtype=np.int64)
    ring = 10
    counts = np.zeros((ring, nb, nc), dtype=np.int32)
    day_tot = np.zeros((ring, nb), dtype=np.int32)
    week = np.zeros(nb, dtype=np.int64)
    conv_day = np.full((nb, nc), _NEVER, dtype=np.int64)
    max7 = np.zeros(nb, dtype=np.int64)

    collected = 0.0
    cost = 0.0
    complaints = 0
    broken = 0
    plans = 0
    contacts_made = 0
    blocked: Counter[str] = Counter()
    by_channel: Counter[str] = Counter()
    snapshots = [_bucket(dpd)]
    daily_in_arrears: list[int] = []
    daily_collected: list[float] = []
    log = ContactLog() if record else None
    spec_cache = gate_cache if gate_cache is not None else {}
    combos = sorted(
        {(j, t or "") for j, t in zip(port.b_jurisdiction, port.b_timezone, strict=True)}
    )
    combo_index = {c: i for i, c in enumerate(combos)}
    b_combo = np.array(
        [
            combo_index[(j, t or "")]
            for j, t in zip(port.b_jurisdiction, port.b_timezone, strict=True)
        ],
        dtype=np.int64,
    )
    call_minutes = np.array([CALL_MINUTES.get(b, 10) for b in BUCKETS], dtype=np.float64)
    call_answer = np.array([ANSWER_RATE.get(b, 0.15) for b in BUCKETS], dtype=np.float64)

    def pay_event(
        who: I64, today: int, amount_scale: float = 1.0
    ) -> tuple[I64, float]:  # returns accounts that paid and amount (report major)
        who = who[(dpd[who] > 0) & (locked_until[who] <= today)]
        if who.size == 0:
            return who, 0.0
        m = _state(dpd[who])
        u = rng.random(who.size)
        cum = np.cumsum(calib.targets[m], axis=1)
        j = (u[:, None] > cum).sum(axis=1)
        n_inst = np.where(j == 0, (dpd[who] + 29) // 30, m - j + 1)
        n_inst = np.clip(n_inst, 1, (dpd[who] + 29) // 30)
        new = np.where(j == 0, 0, np.maximum(dpd[who] - 30 * n_inst, 0))
        amount = n_inst * port.installment_minor[who] * amount_scale
        dpd[who] = new
        locked_until[who] = today + 30
        cured_ever[who[new == 0]] = True
        return who, float((amount * factor[who]).sum())

    for d in range(1, days + 1):
        day = port.as_of + timedelta(days=d)
        slot = d % ring
        week -= day_tot[(d - 7) % ring]
        counts[slot] = 0
        day_tot[slot] = 0
        got_today = 0.0
        # 1. delinquency moves
        grow = (dpd > 0) & ~plan_active
        dpd[grow] += 1
        due = (dpd == 0) & (cycle == d % 30)
        miss = due & (rng.random(n) < calib.miss)
        dpd[miss] = 1
        in_arrears = np.nonzero(dpd > 0)[0]
        ever_arrears_b[port.borrower[in_arrears]] = True
        # plan installments
        pl_due = np.nonzero(plan_active & (plan_next == d))[0]
        if pl_due.size:
            kept = rng.random(pl_due.size) < model.plan_keep
            k_idx, b_idx = pl_due[kept], pl_due[~kept]
            pay = np.minimum(plan_pay[k_idx], plan_left[k_idx])
            plan_left[k_idx] -= pay
            got_today += float((pay * factor[k_idx]).sum())
            plan_next[k_idx] = d + 30
            done = k_idx[plan_left[k_idx] <= 0]
            plan_active[done] = False
            dpd[done] = 0
            cured_ever[done] = True
            plan_active[b_idx] = False
            broken += int(b_idx.size)
        # 2. strategy
        flags_now = port.b_flags.copy()
        flags_now[complaint_until >= d] |= _FLAG_BIT["complaint_open"]
        acct_flags = (
            flags_now[port.borrower]
            | np.where(plan_active, _FLAG_BIT["plan_active"], 0)
            | np.where(
                # as the daily review: pending until paid, or, unpaid, until due + grace days
                (promise_day > d)
                | (~promise_kept & (promise_day <= d) & (promise_day >= d - promise_grace)),
                _FLAG_BIT["promise_pending"],
                0,
            )
        )
        bucket = _bucket(dpd)
        seg = _assign_segments(
            strategy,
            arm,
            acct_flags,
            bucket,
            port.score,
            _balance_major(port, dpd),
            in_arrears,
        )
        want = in_arrears[(seg >= 0)]
        seg_w = seg[seg >= 0]
        cadence_ok = (d - last_contact[want]) >= segs.cadence[seg_w]
        want, seg_w = want[cadence_ok], seg_w[cadence_ok]
        a_acc_l: list[I64] = []
        a_ch_l: list[I64] = []
        a_seg_l: list[I64] = []
        for pos in range(segs.table.shape[1]):
            chs = segs.table[seg_w, pos] if seg_w.size else np.zeros(0, dtype=np.int64)
            sel = chs >= 0
            if not sel.any():
                continue
            a_acc_l.append(want[sel])
            a_ch_l.append(chs[sel])
            a_seg_l.append(seg_w[sel])
        if a_acc_l:
            a_acc = np.concatenate(a_acc_l)
            a_ch = np.concatenate(a_ch_l)
            a_seg = np.concatenate(a_seg_l)
        else:
            a_acc = np.zeros(0, dtype=np.int64)
            a_ch = np.zeros(0, dtype=np.int64)
            a_seg = np.zeros(0, dtype=np.int64)
        last_contact[want] = d
        # 3. the gate, in rounds: the r-th attempt of each borrower that day
        a_bor = port.borrower[a_acc]
        order = np.lexsort((a_acc, a_bor))
        a_acc, a_ch, a_seg, a_bor = a_acc[order], a_ch[order], a_seg[order], a_bor[order]
        if a_bor.size:
            first = np.r_[True, a_bor[1:] != a_bor[:-1]]
            grp_start = np.maximum.accumulate(np.where(first, np.arange(a_bor.size), 0))
            rnd = np.arange(a_bor.size) - grp_start
        else:
            rnd = np.zeros(0, dtype=np.int64)
        allowed = np.zeros(a_acc.size, dtype=np.bool_)
        at_sec = np.zeros(a_acc.size, dtype=np.int64)
        for r in range(int(rnd.max()) + 1 if rnd.size else 0):
            idx_r = np.nonzero(rnd == r)[0]
            keys = b_combo[a_bor[idx_r]] * nc + a_ch[idx_r]
            for key in np.unique(keys):
                sub = idx_r[keys == key]
                ci, ch = divmod(int(key), nc)
                jur, tz = combos[ci]
                ck = (day, jur, tz or None, ch)
                if ck not in spec_cache:
                    spec_cache[ck] = _gate_spec(
                        day, jur, tz or None, CHANNELS[ch], packs, is_holiday
                    )
                spec = spec_cache[ck]
                bor = a_bor[sub]
                if not spec.open:
                    blocked[spec.window_rules or "WINDOW"] += sub.size
                    continue
                assert spec.start is not None and spec.end is not None
                t = spec.start + timedelta(minutes=60 * (r + 1))
                if t >= spec.end - timedelta(minutes=15):
                    blocked["WINDOW.NO_TIME_LEFT"] += sub.size
                    continue
                fl = flags_now[bor]
                ok = np.ones(sub.size, dtype=np.bool_)

                def block(mask: BOOL, rid: str, ok: BOOL = ok) -> None:
                    hit = ok & mask
                    k = int(np.count_nonzero(hit))
                    if k:
                        blocked[rid] += k
                        ok[hit] = False

                # a hardship review's letter or e-mail is support, as in the daily plan
                support = segs.support[a_seg[sub]] & (CHANNELS[ch] in SUPPORT_CHANNELS)
                for rid, fm, um, allows, allows_support in spec.holds:
                    if not allows and fm:
                        held = ((fl & fm) != 0) & ((fl & um) == 0)
                        block(held & ~support if allows_support else held, rid)
                if spec.opt_out:
                    block(port.b_opt_out[bor, ch], spec.opt_out)
                for rid, fm in spec.lawyer:
                    if fm:
                        block((fl & fm) != 0, rid)
                if spec.party_block:
                    block(np.ones(sub.size, dtype=np.bool_), spec.party_block)
                if spec.staff_block:
                    block(np.ones(sub.size, dtype=np.bool_), spec.staff_block)
                for rid, cap in spec.day_caps:
                    block(counts[slot, bor, _CH["call"]] >= cap, rid)
                for rid, limit, ndays, chans in spec.rolling:
                    span = min(ndays + 1, ring - 1)
                    slots_back = [(d - k) % ring for k in range(span + 1)]
                    tot = counts[np.ix_(slots_back, bor, list(chans))].sum(axis=(0, 2))
                    block(tot >= limit, rid)
                for rid, ndays, chans in spec.waits:
                    last = conv_day[bor][:, list(chans)].max(axis=1)
                    block(d - last <= ndays, rid)
                good = sub[ok]
                allowed[good] = True
                at_sec[good] = int(t.timestamp())
                np.add.at(counts[slot], (a_bor[good], a_ch[good]), 1)
                np.add.at(day_tot[slot], a_bor[good], 1)
        # 4. responses to the contacts made
        made = np.nonzero(allowed)[0]
        m_acc, m_ch, m_bor, m_seg = a_acc[made], a_ch[made], a_bor[made], a_seg[made]
        contacts_made += int(made.size)
        for c, k in zip(*np.unique(m_ch, return_counts=True), strict=True):
            by_channel[CHANNELS[int(c)]] += int(k)
        week += day_tot[slot]
        np.maximum(max7, week, out=max7)
        is_call = m_ch == _CH["call"]
        base_ans = np.where(
            is_call,
            call_answer[bucket[m_acc]],
            np.array([model.answer.get(CHANNELS[c], 0.5) for c in range(nc)])[m_ch],
        )
        ans_p = base_ans / (1.0 + model.pressure_answer_drop * week[m_bor])
        answered = rng.random(made.size) < ans_p
        call_cost = call_minutes[bucket[m_acc]] * model.call_cents_per_minute
        other_cost = np.array([model.cost_cents.get(CHANNELS[c], 1.0) for c in range(nc)])[m_ch]
        cost += float(np.where(is_call, call_cost, other_cost).sum()) * to_report
        conv = m_bor[answered & is_call]
        conv_day[conv, _CH["call"]] = d
        # complaints
        over = np.maximum(week[m_bor] - model.pressure_threshold, 0)
        cp = np.array([model.complaint.get(CHANNELS[c], 0.0002) for c in range(nc)])[m_ch]
        comp = rng.random(made.size) < cp * (1.0 + model.complaint_pressure_slope * over)
        if comp.any():
            complaints += int(comp.sum())
            complaint_until[m_bor[comp]] = d + model.complaint_open_days
        # payment, promise, plan
        eff = np.array([model.effect.get(CHANNELS[c], 0.2) for c in range(nc)])[m_ch]
        st = _state(dpd[m_acc])
        smult = np.clip(port.score[m_acc] / calib.score_mean, 0.25, 3.0)
        p_pay = np.clip(calib.beta[st] * eff * smult, 0.0, 0.6)
        trig = answered & (rng.random(made.size) < p_pay)
        t_acc = np.unique(m_acc[trig])
        if t_acc.size:
            seg_of = dict(zip(m_acc[trig].tolist(), m_seg[trig].tolist(), strict=False))
            t_seg = np.array([seg_of[a] for a in t_acc.tolist()], dtype=np.int64)
            on_plan_path = segs.plan_offer[t_seg] & ~plan_active[t_acc] & (dpd[t_acc] > 0)
            to_plan = t_acc[on_plan_path & (rng.random(t_acc.size) < model.plan_share)]
            if to_plan.size:
                plans += int(to_plan.size)
                arrears_minor = ((dpd[to_plan] + 29) // 30) * port.installment_minor[to_plan]
                plan_active[to_plan] = True
                plan_pay[to_plan] = np.maximum(arrears_minor // model.plan_installments, 1)
                first_pay = np.minimum(plan_pay[to_plan], arrears_minor)
                plan_left[to_plan] = arrears_minor - first_pay
                got_today += float((first_pay * factor[to_plan]).sum())
                plan_next[to_plan] = d + 30
            rest = np.setdiff1d(t_acc, to_plan)
            promise = rest[rng.random(rest.size) < model.ptp_share]
            promise = promise[promise_day[promise] < d]
            promise_day[promise] = d + rng.integers(1, 8, promise.size)
            promise_kept[promise] = rng.random(promise.size) >= model.ptp_break
            now = np.setdiff1d(rest, promise)
            _, amt = pay_event(now, d)
            got_today += amt
        # promises falling due
        pdue = np.nonzero(promise_day == d)[0]
        if pdue.size:
            keep = pdue[promise_kept[pdue]]
            broken += int(pdue.size - keep.size)
            _, amt = pay_event(keep, d)
            got_today += amt
        # 5. self-payment
        cand = np.nonzero((dpd > 0) & ~plan_active & (locked_until <= d))[0]
        if cand.size:
            lam = calib.lam_self[_state(dpd[cand])] * np.clip(
                port.score[cand] / calib.score_mean, 0.25, 3.0
            )
            _, amt = pay_event(cand[rng.random(cand.size) < lam], d)
            got_today += amt
        collected += got_today
        daily_collected.append(got_today)
        daily_in_arrears.append(int((dpd > 0).sum()))
        if d % 30 == 0:
            snapshots.append(_bucket(dpd))
        if log is not None and made.size:
            log.day.extend([d] * made.size)
            log.account.extend(m_acc.tolist())
            log.borrower.extend(m_bor.tolist())
            log.channel.extend(CHANNELS[int(c)] for c in m_ch)
            log.at.extend(datetime.fromtimestamp(int(s), tz=UTC) for s in at_sec[made])
            log.answered.extend(answered.tolist())
            support = segs.support[m_seg] & np.isin(
                m_ch, [_CH[c] for c in SUPPORT_CHANNELS if c in _CH]
            )
            log.purpose.extend("support" if x else "collection" for x in support.tolist())

    roll = np.zeros((8, 8))
    for before, after in itertools.pairwise(snapshots):
        np.add.at(roll, (before, after), 1)
    roll_m = (roll / np.maximum(roll.sum(axis=1, keepdims=True), 1)).tolist()

    def roll_from(b: int) -> float:
        row = roll[b]
        return float(row[b + 1 :].sum() / row.sum()) if row.sum() else float("nan")

    n_start = int(start_in_arrears.sum())
    nb_ever = max(int(ever_arrears_b.sum()), 1)
    weeks = days / 7
    metrics = {
        "amount_collected": collected,
        "cure_rate": float(cured_ever[start_in_arrears].sum() / max(n_start, 1)),
        "current_at_end": float((dpd[start_in_arrears] == 0).sum() / max(n_start, 1)),
        "roll_rate_M1": roll_from(1),
        "roll_rate_M2": roll_from(2),
        "roll_rate_M3": roll_from(3),
        "cost": cost,
        "net_collected": collected - cost,
        "contacts_per_borrower_week": contacts_made / nb_ever / weeks,
        "share_above_pressure": float(
            (max7[ever_arrears_b] > model.pressure_threshold).sum() / nb_ever
        ),
        "complaints_per_1000": complaints * 1000.0 / nb_ever,
        "blocked_contacts": float(sum(blocked.values())),
        "broken_promises": float(broken),
        "plans_started": float(plans),
    }
    return RunResult(
        metrics,
        dict(blocked),
        dict(by_channel),
        roll_m,
        daily_in_arrears,
        daily_collected,
        log,
    )


# --------------------------------------------------------------------------------------------
# replications, confidence intervals, the comparison
# --------------------------------------------------------------------------------------------

_T975 = {
    1: 12.706,
    2: 4.303,
    3: 3.182,
    4: 2.776,
    5: 2.571,
    6: 2.447,
    7: 2.365,
    8: 2.306,
    9: 2.262,
    10: 2.228,
    12: 2.179,
    15: 2.131,
    20: 2.086,
    30: 2.042,
}


def t_quantile_975(df: int) -> float:
    """Two-sided 95 % Student-t quantile for ``df`` degrees of freedom (table, then 1.96)."""
    if df < 1:
        return float("nan")
    for k in sorted(_T975):
        if df <= k:
            return _T975[k]
    return 1.96


def mean_ci(values: Sequence[float]) -> dict[str, float]:
    """Mean and 95 % confidence interval (Student t over replications).

    Returns
    -------
    dict
        ``mean``, ``lo``, ``hi`` and ``n``; with one value the interval is the value itself.
    """
    x = np.array([v for v in values if not math.isnan(v)], dtype=np.float64)
    if x.size == 0:
        return {"mean": float("nan"), "lo": float("nan"), "hi": float("nan"), "n": 0}
    m = float(x.mean())
    if x.size == 1:
        return {"mean": m, "lo": m, "hi": m, "n": 1}
    half = t_quantile_975(x.size - 1) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return {"mean": m, "lo": m - half, "hi": m + half, "n": int(x.size)}


@dataclass
class Comparison:
    """Two strategies run on the same portfolio with the same seeds (common random numbers).

    Attributes
    ----------
    names : (str, str)
        Strategy names (A, B).
    runs : (list of RunResult, list of RunResult)
        Replications of each.
    """

    portfolio: str
    report_currency: str
    days: int
    seeds: list[int]
    names: tuple[str, str]
    runs: tuple[list[RunResult], list[RunResult]]
    seconds: float = 0.0

    def figures(self) -> dict[str, Any]:
        """Side by side: per metric, each strategy's mean and CI and the paired difference B - A."""
        out: dict[str, Any] = {}
        a_runs, b_runs = self.runs
        for key in METRICS:
            a = [r.metrics[key] for r in a_runs]
            b = [r.metrics[key] for r in b_runs]
            diff = [y - x for x, y in zip(a, b, strict=True)]
            out[key] = {
                "A": _rounded(mean_ci(a)),
                "B": _rounded(mean_ci(b)),
                "B_minus_A": _rounded(mean_ci(diff)),
            }
        return out

    def as_json(self) -> dict[str, Any]:
        """One JSON-ready object with everything ``--json`` prints."""
        blocked = [Counter[str](), Counter[str]()]
        channels = [Counter[str](), Counter[str]()]
        for i in (0, 1):
            for r in self.runs[i]:
                blocked[i].update(r.blocked_by_rule)
                channels[i].update(r.contacts_by_channel)
        n = max(len(self.seeds), 1)
        return {
            "portfolio": self.portfolio,
            "report_currency": self.report_currency,
            "days": self.days,
            "replications": len(self.seeds),
            "seeds": self.seeds,
            "strategies": {"A": self.names[0], "B": self.names[1]},
            "metrics": self.figures(),
            "metric_definitions": METRICS,
            "blocked_by_rule_per_run": {
                k: {r: round(v / n, 1) for r, v in sorted(blocked[i].items())}
                for i, k in enumerate(("A", "B"))
            },
            "contacts_by_channel_per_run": {
                k: {c: round(v / n, 1) for c, v in sorted(channels[i].items())}
                for i, k in enumerate(("A", "B"))
            },
            "seconds": round(self.seconds, 1),
        }


def _rounded(d: dict[str, float]) -> dict[str, float | None]:
    """Round to 6 places; NaN (no data, e.g. no 30-day roll within a short horizon) -> None."""
    out: dict[str, float | None] = {}
    for k, v in d.items():
        if isinstance(v, float):
            out[k] = None if math.isnan(v) else round(v, 6)
        else:
            out[k] = v
    return out


def compare(
    port: SimPortfolio,
    a: Strategy,
    b: Strategy,
    *,
    days: int,
    replications: int,
    packs: Sequence[RulePack],
    is_holiday: HolidayLookup,
    seed: int = 1,
    model: ResponseModel | None = None,
    reference: Strategy | None = None,
    on_run: Callable[[str, int], None] = lambda _n, _i: None,
) -> Comparison:
    """Run ``a`` and ``b`` for ``replications`` seeds each, with common random numbers.

    The response model is calibrated once against ``reference`` (default: ``a``), so both
    strategies face the same borrowers.

    Raises
    ------
    ValueError
        If ``replications < 1`` or ``days < 1``.
    """
    import time as _time

    if replications < 1:
        raise ValueError(f"replications must be at least 1, got {replications}")
    t0 = _time.perf_counter()
    model = model or ResponseModel()
    calib = calibrate(port, reference or a, model)
    cache: dict[tuple[date, str, str | None, int], _GateSpec] = {}
    seeds = [seed + i for i in range(replications)]
    runs: tuple[list[RunResult], list[RunResult]] = ([], [])
    for i, s in enumerate(seeds):
        for k, strat in enumerate((a, b)):
            runs[k].append(
                simulate_strategy(
                    port,
                    strat,
                    days=days,
                    seed=s,
                    packs=packs,
                    is_holiday=is_holiday,
                    model=model,
                    calib=calib,
                    gate_cache=cache,
                )
            )
            on_run(strat.name, i)
    return Comparison(
        port.name,
        report_currency_of(port),
        days,
        seeds,
        (a.name, b.name),
        runs,
        _time.perf_counter() - t0,
    )
