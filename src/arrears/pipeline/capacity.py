"""Agent capacity: place the calls the gate allowed into agents' time windows.

Every call in the day's plan has an allowed UTC window (from the compliance check). Agents have
skills (languages, buckets), talk minutes per day and shifts (UTC). The day is cut into
:data:`SLOT_MINUTES`-minute slots on a UTC grid; a call may go into a slot of an agent when

* the agent speaks the borrower's language and works the account's bucket,
* the slot lies wholly inside the call's allowed window and inside one of the agent's shifts,
* the calls in that (agent, slot) add up to at most the slot's minutes,
* the agent's calls add up to at most the agent's minutes per day,
* the borrower gets at most one call per slot and at most ``cap`` calls that day.

Calls inside one (agent, slot) are sequenced one after another from the slot start, so every
planned ``slot_start`` and the whole call ``[slot_start, slot_start + minutes)`` lie inside the
borrower's allowed window and the agent's shift.

Objective: the expected amount collected, summed over placed calls. With the agents' minutes
fixed this is the same as the expected amount per agent minute. For a call placed in slot ``t``::

    expected value = P(answer | bucket, local hour of t) x P(pay | answer) x amount

``P(pay | answer)`` is the account's propensity-to-pay score; ``amount`` the arrears amount in
the reference currency (US cents, at the stated :data:`REFERENCE_PER_USD` rates: the rates only
rank calls across currencies, they never touch a ledger amount). Answer rates by bucket and
hour-of-day factors are stated assumptions (:data:`ANSWER_RATE`, :data:`HOUR_FACTOR`), as are
call durations by bucket (:data:`CALL_MINUTES`, talk plus wrap-up).

Solvers: :func:`greedy_placement` (highest expected value per minute first, each call into its
best open slot, earliest first) and :func:`place_calls`, which runs OR-Tools CP-SAT with the
greedy plan as a hint and a time limit and keeps whichever plan is better, so the optimiser is
never worse than greedy. An instance with more than ``max_options`` (call, agent, slot) options is
planned by the greedy rule alone (stated in the result's ``method``).
"""

from __future__ import annotations

import math
import time as _time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import polars as pl

from arrears.domain.agents import Agent, parse_shift
from arrears.domain.compliance.check import candidate_zones
from arrears.domain.money import MINOR_UNITS

SLOT_MINUTES = 30
"""Length of a planning slot, minutes; slots are aligned on UTC half hours."""

CALL_MINUTES: dict[str, int] = {
    "M1": 6,
    "M2": 8,
    "M3": 10,
    "M4": 10,
    "M5": 12,
    "M6": 12,
    "M6+": 12,
}
"""Agent minutes per call attempt by bucket (talk and wrap-up), an assumption; other: 10."""

ANSWER_RATE: dict[str, float] = {
    "M1": 0.30,
    "M2": 0.26,
    "M3": 0.22,
    "M4": 0.20,
    "M5": 0.18,
    "M6": 0.16,
    "M6+": 0.14,
}
"""Right-party answer rate of a call by bucket (assumption; the synthetic contact history uses
20 % right-party contacts over all buckets)."""

HOUR_FACTOR: dict[int, float] = {
    8: 0.80,
    9: 0.85,
    10: 0.90,
    11: 0.95,
    12: 1.15,
    13: 1.10,
    14: 0.85,
    15: 0.85,
    16: 0.90,
    17: 1.15,
    18: 1.25,
    19: 1.30,
    20: 1.20,
    21: 1.00,
}
"""Multiplier of the answer rate by the borrower's local hour (assumption: lunch and early
evening answer best); hours not listed: 1.0."""

REFERENCE_PER_USD: dict[str, float] = {
    "USD": 1.0,
    "GBP": 0.79,
    "EUR": 0.92,
    "CNY": 7.2,
    "TWD": 32.0,
    "HKD": 7.8,
}
"""Units of each currency per US dollar, to rank calls across currencies (assumption)."""

CALL_INPUT_COLUMNS = (
    "account_id",
    "borrower_id",
    "bucket",
    "language",
    "score",
    "arrears_minor",
    "currency",
    "timezone",
    "jurisdiction",
    "_start_utc",
    "_end_utc",
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass
class Placement:
    """A capacity plan.

    Attributes
    ----------
    calls : pl.DataFrame
        The input calls (same order) plus ``agent_id`` (null when not placed), ``slot_start``
        (UTC datetime, null when not placed), ``call_minutes`` and ``expected_value_cents``
        (of the chosen slot; 0 when not placed).
    method : str
        ``cp-sat (optimal)``, ``cp-sat (feasible, time limit)``, ``greedy`` or the reason the
        greedy plan was kept.
    expected_value_cents : int
        Sum of the placed calls' expected values, US cents.
    greedy_expected_value_cents : int
        The same for the greedy plan (the baseline).
    agent_minutes_available, agent_minutes_used : int
        Minutes the team could talk (the smaller of shift slots and minutes per day, summed) and
        minutes planned.
    seconds : float
        Wall time spent solving.
    bound_cents : int or None
        CP-SAT's upper bound on the best possible expected value (None when CP-SAT did not
        run): no plan can do better, so ``expected_value_cents / bound_cents`` is a guarantee.
    """

    calls: pl.DataFrame
    method: str
    expected_value_cents: int
    greedy_expected_value_cents: int
    agent_minutes_available: int
    agent_minutes_used: int
    seconds: float
    bound_cents: int | None = None

    @property
    def placed(self) -> int:
        """Number of calls given an agent and a slot."""
        return int(self.calls["agent_id"].is_not_null().sum())

    @property
    def value_per_agent_minute(self) -> float:
        """Expected cents collected per available agent minute."""
        return self.expected_value_cents / max(self.agent_minutes_available, 1)

    def summary(self) -> dict[str, object]:
        """Figures for ``summary.json``."""
        return {
            "method": self.method,
            "calls": self.calls.height,
            "calls_placed": self.placed,
            "calls_not_placed": self.calls.height - self.placed,
            "expected_value_usd_cents": self.expected_value_cents,
            "greedy_expected_value_usd_cents": self.greedy_expected_value_cents,
            "agent_minutes_available": self.agent_minutes_available,
            "agent_minutes_used": self.agent_minutes_used,
            "upper_bound_usd_cents": self.bound_cents,
            "seconds": round(self.seconds, 2),
        }


@dataclass
class _Instance:
    origin: datetime
    n_slots: int
    avail: IntArray  # (A, T) minutes open per agent slot
    minutes: IntArray  # (A,)
    dur: IntArray  # (C,)
    t0: IntArray  # (C,)
    t1: IntArray  # (C,)
    ev: IntArray  # (C, T) cents, 0 outside the window
    groups: list[IntArray]  # per call: eligible agent indices
    borrower: IntArray  # (C,)
    cap: IntArray  # (C,) per-borrower cap (same for every call of a borrower)


def _minutes_since(origin: datetime, t: datetime) -> int:
    return int((t - origin).total_seconds() // 60)


def _reference_cents(df: pl.DataFrame) -> pl.Expr:
    exp = pl.col("currency").replace_strict(MINOR_UNITS, default=2, return_dtype=pl.Int64)
    rate = pl.col("currency").replace_strict(
        REFERENCE_PER_USD, default=1.0, return_dtype=pl.Float64
    )
    return pl.col("arrears_minor").cast(pl.Float64) * (10.0 ** (2 - exp)) / rate


def _build(calls: pl.DataFrame, agents: Sequence[Agent], plan_date: date) -> _Instance:
    missing = [c for c in CALL_INPUT_COLUMNS if c not in calls.columns]
    if missing:
        raise ValueError(f"calls frame lacks column(s) {', '.join(missing)}")
    if calls.height == 0:
        starts = [datetime.combine(plan_date, datetime.min.time(), tzinfo=UTC)]
    else:
        starts = [calls["_start_utc"].min()]  # type: ignore[list-item]
    shift_windows = [w for a in agents for w in a.windows(plan_date)]
    first: datetime = min([*starts, *(s for s, _ in shift_windows)])
    origin = first.replace(minute=0, second=0, microsecond=0)
    ends = [e for _, e in shift_windows]
    if calls.height:
        ends.append(calls["_end_utc"].max())  # type: ignore[arg-type]
    last = max(ends) if ends else origin
    n_slots = max(1, math.ceil(_minutes_since(origin, last) / SLOT_MINUTES))

    avail = np.zeros((len(agents), n_slots), dtype=np.int64)
    for i, a in enumerate(agents):
        for s, e in a.windows(plan_date):
            lo = math.ceil(_minutes_since(origin, s) / SLOT_MINUTES)
            hi = _minutes_since(origin, e) // SLOT_MINUTES
            avail[i, max(lo, 0) : max(hi, 0)] = SLOT_MINUTES
    minutes = np.array([a.minutes for a in agents], dtype=np.int64)

    c = calls.with_columns(
        pl.col("bucket")
        .replace_strict(CALL_MINUTES, default=10, return_dtype=pl.Int64)
        .alias("_d"),
        pl.col("bucket")
        .replace_strict(ANSWER_RATE, default=0.15, return_dtype=pl.Float64)
        .alias("_ans"),
        _reference_cents(calls).alias("_amt"),
        pl.col("language").fill_null("und").alias("_lang"),
    )
    # whole minutes since origin (every window starts at or after origin, so truncation is
    # the floor of _minutes_since)
    s_min = (c["_start_utc"] - origin).dt.total_minutes().to_numpy().astype(np.int64)
    e_min = (c["_end_utc"] - origin).dt.total_minutes().to_numpy().astype(np.int64)
    t0 = -(-s_min // SLOT_MINUTES)  # ceil
    t1 = np.minimum(e_min // SLOT_MINUTES, n_slots)
    dur = c["_d"].to_numpy().astype(np.int64)
    base = (c["_ans"] * c["score"].fill_null(0.0).clip(0, 1) * c["_amt"]).to_numpy()

    # local hour of each slot start per zone
    zone_of = [
        tz if tz else candidate_zones(j, None)[0]
        for tz, j in zip(c["timezone"].to_list(), c["jurisdiction"].to_list(), strict=True)
    ]
    zones = sorted(set(zone_of))
    slot_starts = [origin + timedelta(minutes=SLOT_MINUTES * t) for t in range(n_slots)]
    factor = np.ones((len(zones), n_slots))
    for zi, z in enumerate(zones):
        zone = ZoneInfo(z)
        for t, st in enumerate(slot_starts):
            factor[zi, t] = HOUR_FACTOR.get(st.astimezone(zone).hour, 1.0)
    zidx = np.array([zones.index(z) for z in zone_of], dtype=np.int64)
    ev_f = base[:, None] * factor[zidx] if len(zidx) else np.zeros((0, n_slots))
    slots = np.arange(n_slots)[None, :]
    inside = (slots >= t0[:, None]) & (slots < t1[:, None])
    ev = np.where(inside, np.rint(ev_f), 0).astype(np.int64)

    group_cache: dict[tuple[str, str], IntArray] = {}
    groups: list[IntArray] = []
    for lang, bucket in zip(c["_lang"].to_list(), c["bucket"].to_list(), strict=True):
        key = (lang, bucket)
        if key not in group_cache:
            group_cache[key] = np.array(
                [i for i, a in enumerate(agents) if a.can_take(lang, bucket)], dtype=np.int64
            )
        groups.append(group_cache[key])
    b_codes = c["borrower_id"].cast(pl.Categorical).to_physical().to_numpy().astype(np.int64)
    if "cap" in c.columns:
        cap = c["cap"].fill_null(10**6).to_numpy().astype(np.int64)
    else:
        cap = np.full(c.height, 10**6, dtype=np.int64)
    return _Instance(origin, n_slots, avail, minutes, dur, t0, t1, ev, groups, b_codes, cap)


GREEDY_RULES = ("best_slot", "earliest")


def _greedy(inst: _Instance, rule: str = "best_slot") -> tuple[IntArray, IntArray]:
    """Greedy: calls by best expected value per minute, each into its best (or earliest) open
    slot."""
    n = len(inst.dur)
    agent = np.full(n, -1, dtype=np.int64)
    slot = np.full(n, -1, dtype=np.int64)
    rem = inst.avail.copy()
    mins = inst.minutes.copy()
    busy: dict[int, set[int]] = defaultdict(set)
    count: dict[int, int] = defaultdict(int)
    best = inst.ev.max(axis=1) if n else np.zeros(0, dtype=np.int64)
    order = np.lexsort((np.arange(n), -(best / np.maximum(inst.dur, 1))))
    for ci in order:
        c = int(ci)
        if best[c] <= 0:
            continue
        ag = inst.groups[c]
        d = int(inst.dur[c])
        b = int(inst.borrower[c])
        if ag.size == 0 or count[b] >= inst.cap[c]:
            continue
        ok_agents = mins[ag] >= d
        if not ok_agents.any():
            continue
        lo, hi = int(inst.t0[c]), int(inst.t1[c])
        if hi <= lo:
            continue
        fits = (rem[ag, lo:hi] >= d) & ok_agents[:, None]
        for t in busy[b]:
            if lo <= t < hi:
                fits[:, t - lo] = False
        if not fits.any():
            continue
        if rule == "earliest":
            val = fits.astype(np.int64)
        else:
            val = np.where(fits, inst.ev[c, lo:hi][None, :], -1)
        # earliest best slot, then the first agent: argmax over (slot, agent) order
        k = int(np.argmax(val.T))
        t_rel, a_rel = divmod(k, len(ag))
        a, t = int(ag[a_rel]), lo + t_rel
        agent[c], slot[c] = a, t
        rem[a, t] -= d
        mins[a] -= d
        busy[b].add(t)
        count[b] += 1
    return agent, slot


def _value(inst: _Instance, agent: IntArray, slot: IntArray) -> int:
    placed = agent >= 0
    if not placed.any():
        return 0
    idx = np.nonzero(placed)[0]
    return int(inst.ev[idx, slot[idx]].sum())


def _count_options(inst: _Instance, stop_above: int | None = None) -> int:
    """(call, agent, slot) options of the instance; counting stops as soon as the total
    exceeds ``stop_above`` (the caller only needs to know that it is too large)."""
    total = 0
    for c in range(len(inst.dur)):
        ag = inst.groups[c]
        lo, hi = int(inst.t0[c]), int(inst.t1[c])
        if ag.size and hi > lo:
            total += int((inst.avail[ag, lo:hi] >= inst.dur[c]).sum())
            if stop_above is not None and total > stop_above:
                break
    return total


def _cpsat(
    inst: _Instance,
    hint: tuple[IntArray, IntArray],
    time_limit_s: float,
    workers: int,
    seed: int,
    deterministic: bool = False,
) -> tuple[IntArray, IntArray, str, int] | None:
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    per_call: dict[int, list[tuple[int, int, cp_model.IntVar]]] = defaultdict(list)
    per_slot: dict[tuple[int, int], list[tuple[int, cp_model.IntVar]]] = defaultdict(list)
    per_agent: dict[int, list[tuple[int, cp_model.IntVar]]] = defaultdict(list)
    per_b_slot: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    per_b: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    objective = []
    h_agent, h_slot = hint
    for c in range(len(inst.dur)):
        ag = inst.groups[c]
        lo, hi = int(inst.t0[c]), int(inst.t1[c])
        d = int(inst.dur[c])
        b = int(inst.borrower[c])
        for a in ag.tolist():
            for t in range(lo, hi):
                if inst.avail[a, t] < d or inst.ev[c, t] <= 0:
                    continue
                x = model.new_bool_var(f"x{c}_{a}_{t}")
                per_call[c].append((a, t, x))
                per_slot[(a, t)].append((d, x))
                per_agent[a].append((d, x))
                per_b_slot[(b, t)].append(x)
                per_b[b].append(x)
                objective.append(int(inst.ev[c, t]) * x)
                model.add_hint(x, int(h_agent[c] == a and h_slot[c] == t))
    if not objective:
        return None
    for opts in per_call.values():
        if len(opts) > 1:
            model.add_at_most_one(x for _, _, x in opts)
    for (a, t), items in per_slot.items():
        if sum(d for d, _ in items) > inst.avail[a, t]:
            model.add(sum(d * x for d, x in items) <= int(inst.avail[a, t]))
    for a, items in per_agent.items():
        if sum(d for d, _ in items) > inst.minutes[a]:
            model.add(sum(d * x for d, x in items) <= int(inst.minutes[a]))
    for xs in per_b_slot.values():
        if len(xs) > 1:
            model.add_at_most_one(xs)
    cap_of = {int(inst.borrower[c]): int(inst.cap[c]) for c in range(len(inst.dur))}
    for b, xs in per_b.items():
        if len(xs) > cap_of[b]:
            model.add(sum(xs) <= cap_of[b])
    model.maximize(sum(objective))
    solver = cp_model.CpSolver()
    if deterministic:
        solver.parameters.max_deterministic_time = float(time_limit_s)
        solver.parameters.num_workers = 1
    else:
        solver.parameters.max_time_in_seconds = float(time_limit_s)
        solver.parameters.num_workers = int(workers)
    solver.parameters.random_seed = int(seed)
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    agent = np.full(len(inst.dur), -1, dtype=np.int64)
    slot = np.full(len(inst.dur), -1, dtype=np.int64)
    for c, opts in per_call.items():
        for a, t, x in opts:
            if solver.boolean_value(x):
                agent[c], slot[c] = a, t
                break
    label = "cp-sat (optimal)" if status == cp_model.OPTIMAL else "cp-sat (feasible, time limit)"
    return agent, slot, label, math.floor(solver.best_objective_bound)


def _frame(
    calls: pl.DataFrame, inst: _Instance, agents: Sequence[Agent], agent: IntArray, slot: IntArray
) -> pl.DataFrame:
    n = len(inst.dur)
    start_min = np.full(n, -1, dtype=np.int64)
    by_cell: dict[tuple[int, int], list[int]] = defaultdict(list)
    ids = calls["account_id"].to_list()
    for c in np.nonzero(agent >= 0)[0].tolist():
        by_cell[(int(agent[c]), int(slot[c]))].append(c)
    for (_, t), cs in by_cell.items():
        offset = t * SLOT_MINUTES
        for c in sorted(cs, key=lambda i: (ids[i], i)):
            start_min[c] = offset
            offset += int(inst.dur[c])
    agent_ids = [agents[a].agent_id if a >= 0 else None for a in agent.tolist()]
    starts = [inst.origin + timedelta(minutes=int(m)) if m >= 0 else None for m in start_min]
    ev = [int(inst.ev[c, slot[c]]) if agent[c] >= 0 else 0 for c in range(n)]
    return calls.with_columns(
        pl.Series("agent_id", agent_ids, dtype=pl.String),
        pl.Series("slot_start", starts, dtype=pl.Datetime("us", "UTC")),
        pl.Series("call_minutes", inst.dur.tolist(), dtype=pl.Int64),
        pl.Series("expected_value_cents", ev, dtype=pl.Int64),
    )


def _available_minutes(inst: _Instance) -> int:
    return int(np.minimum(inst.avail.sum(axis=1), inst.minutes).sum()) if len(inst.minutes) else 0


def greedy_placement(
    calls: pl.DataFrame, agents: Sequence[Agent], plan_date: date, rule: str = "best_slot"
) -> Placement:
    """Place calls by a greedy rule only (the baselines the optimiser must beat).

    Calls are taken by their best expected value per agent minute, highest first.

    Parameters
    ----------
    rule : {"best_slot", "earliest"}
        ``best_slot``: each call goes to the open slot where its expected value is highest
        (earliest, then first agent, on ties). ``earliest``: the dialer queue, each call goes to
        the earliest open slot of the first free skilled agent.

    Other parameters and the result as :func:`place_calls`.

    Raises
    ------
    ValueError
        For an unknown rule or a missing column.
    """
    if rule not in GREEDY_RULES:
        raise ValueError(f"unknown greedy rule {rule!r}: use one of {GREEDY_RULES}")
    t_start = _time.perf_counter()
    inst = _build(calls, agents, plan_date)
    agent, slot = _greedy(inst, rule)
    value = _value(inst, agent, slot)
    used = int(inst.dur[agent >= 0].sum())
    return Placement(
        _frame(calls, inst, agents, agent, slot),
        f"greedy ({rule})",
        value,
        value,
        _available_minutes(inst),
        used,
        _time.perf_counter() - t_start,
    )


def place_calls(
    calls: pl.DataFrame,
    agents: Sequence[Agent],
    plan_date: date,
    *,
    time_limit_s: float = 10.0,
    max_options: int = 250_000,
    workers: int = 2,
    seed: int = 0,
    deterministic: bool = False,
) -> Placement:
    """Place the allowed calls into agents' slots, maximising the expected amount collected.

    Parameters
    ----------
    calls : pl.DataFrame
        One row per allowed call with :data:`CALL_INPUT_COLUMNS`: ``_start_utc``/``_end_utc``
        (UTC datetimes) the allowed window; ``score`` in [0, 1]; ``arrears_minor`` in minor
        units of ``currency``; ``timezone`` (IANA or null). An optional ``cap`` column (int) is
        the most calls the borrower may still get that day (the same on every row of a
        borrower).
    agents : sequence of Agent
        The team.
    plan_date : date
        The day shifts start on.
    time_limit_s : float, default 10
        CP-SAT wall-time limit, seconds.
    max_options : int, default 250,000
        Above this many (call, agent, slot) options the greedy plan is used.
    workers : int, default 2
        CP-SAT search workers (1 gives a deterministic search).
    seed : int, default 0
        CP-SAT random seed.
    deterministic : bool, default False
        Use one worker and a deterministic time limit (``time_limit_s`` deterministic
        seconds): the same input then always gives the same plan.

    Returns
    -------
    Placement
        Never worse than :func:`greedy_placement` on the same input.

    Raises
    ------
    ValueError
        If a column of ``calls`` is missing.
    """
    t_start = _time.perf_counter()
    inst = _build(calls, agents, plan_date)
    g_agent, g_slot = _greedy(inst)
    g_value = _value(inst, g_agent, g_slot)
    agent, slot, method = g_agent, g_slot, "greedy"
    n_opt = _count_options(inst, stop_above=max_options)
    bound: int | None = None
    got = None
    if n_opt == 0:
        method = "greedy (nothing to place)"
    elif n_opt > max_options:
        method = f"greedy (instance too large for CP-SAT: more than {max_options:,} options)"
    else:
        got = _cpsat(inst, (g_agent, g_slot), time_limit_s, workers, seed, deterministic)
        if got is None:
            method = "greedy (CP-SAT found no plan in the time limit)"
        else:
            bound = got[3]
        if got is not None and _value(inst, got[0], got[1]) >= g_value:
            agent, slot, method = got[0], got[1], got[2]
        elif got is not None:
            method = "greedy (better than the CP-SAT plan found in the time limit)"
    value = _value(inst, agent, slot)
    used = int(inst.dur[agent >= 0].sum())
    return Placement(
        _frame(calls, inst, agents, agent, slot),
        method,
        value,
        g_value,
        _available_minutes(inst),
        used,
        _time.perf_counter() - t_start,
        bound,
    )


def default_team(
    calls: pl.DataFrame,
    *,
    coverage: float = 0.7,
    minutes_per_agent: int = 360,
    shift_hours: int = 8,
    max_agents: int = 300,
) -> list[Agent]:
    """A generated team sized to the day, for when no ``--agents`` file is given.

    Per borrower language: enough agents for ``coverage`` of that language's call minutes
    (at least one, at most ``max_agents`` in all, shared in proportion), each with
    ``minutes_per_agent`` talk minutes. Shifts of ``shift_hours`` follow the most common allowed
    window of that language's calls: alternate agents start at the window's start or end at its
    end, so the whole window is covered. Agents work every bucket.

    Parameters
    ----------
    calls : pl.DataFrame
        As for :func:`place_calls` (``language``, ``bucket``, ``_start_utc``, ``_end_utc``).

    Returns
    -------
    list of Agent
        Ids ``G001``, ``G002``...; empty when there are no calls.
    """
    if calls.height == 0:
        return []
    c = calls.with_columns(
        pl.col("language").fill_null("und").alias("_lang"),
        pl.col("bucket")
        .replace_strict(CALL_MINUTES, default=10, return_dtype=pl.Int64)
        .alias("_d"),
    )
    need = c.group_by("_lang").agg(pl.col("_d").sum().alias("m")).sort("_lang")
    wanted = {
        lang: max(1, math.ceil(coverage * m / minutes_per_agent)) for lang, m in need.iter_rows()
    }
    total = sum(wanted.values())
    if total > max_agents:
        wanted = {k: max(1, math.floor(v * max_agents / total)) for k, v in wanted.items()}
    agents: list[Agent] = []
    for lang, n in wanted.items():
        mode = (
            c.filter(pl.col("_lang") == lang)
            .group_by("_start_utc", "_end_utc")
            .len()
            .sort(["len", "_start_utc"], descending=[True, False])
            .row(0)
        )
        ws, we = mode[0], mode[1]
        span_h = (we - ws).total_seconds() / 3600
        for k in range(n):
            if span_h <= shift_hours:
                s_dt, e_dt = ws, we
            elif k % 2 == 0:
                s_dt, e_dt = ws, ws + timedelta(hours=shift_hours)
            else:
                s_dt, e_dt = we - timedelta(hours=shift_hours), we
            early = parse_shift(f"{s_dt:%H:%M}-{e_dt:%H:%M}")
            agents.append(
                Agent(
                    f"G{len(agents) + 1:03d}",
                    frozenset({lang}),
                    frozenset(),
                    min(minutes_per_agent, early.minutes),
                    (early,),
                )
            )
    return agents


LANGUAGE_ZONES: tuple[tuple[str, str, str, float], ...] = (
    ("zh-TW", "TW", "Asia/Taipei", 0.30),
    ("zh-CN", "CN", "Asia/Shanghai", 0.20),
    ("en-GB", "GB", "Europe/London", 0.15),
    ("en-US", "US-NY", "America/New_York", 0.15),
    ("en-US", "US-CA", "America/Los_Angeles", 0.10),
    ("es-US", "US-CA", "America/Los_Angeles", 0.10),
)
_CURRENCY = {"TW": "TWD", "CN": "CNY", "GB": "GBP", "US-NY": "USD", "US-CA": "USD"}


def synthetic_call_day(
    n_calls: int, plan_date: date, *, seed: int = 0, agents_per_100_calls: float = 4.0
) -> tuple[pl.DataFrame, list[Agent]]:
    """A seeded synthetic call day for tests and benchmarks: calls and a skill-mixed team.

    Calls: borrowers in TW, CN, GB and the US (languages zh-TW, zh-CN, en-GB, en-US, es-US),
    allowed window 09:00-20:00 local, buckets M1-M6+, scores uniform in [0.05, 0.95], arrears
    log-normal around 300 USD equivalent, about 5 % of borrowers with two calls and a cap of 1.
    Agents: about ``agents_per_100_calls`` per 100 calls; a third bilingual (zh-TW/zh-CN,
    en-GB/en-US, en-US/es-US), a quarter working only M3 and later; 4-6 hour shifts placed at
    random inside the languages' windows; 150-300 talk minutes. The team is short of the day's
    call minutes on purpose: capacity binds, which is when placement matters.

    Returns
    -------
    calls, agents : pl.DataFrame, list of Agent
    """
    rng = np.random.default_rng(seed)
    weights = np.array([w for *_, w in LANGUAGE_ZONES])
    pick = rng.choice(len(LANGUAGE_ZONES), size=n_calls, p=weights / weights.sum())
    buckets = np.array(["M1", "M2", "M3", "M4", "M5", "M6", "M6+"])
    bidx = rng.choice(7, size=n_calls, p=[0.2, 0.3, 0.2, 0.1, 0.08, 0.07, 0.05])
    score = np.round(rng.uniform(0.05, 0.95, n_calls), 4)
    usd = np.exp(rng.normal(np.log(300), 0.9, n_calls))
    rows = []
    n_b = max(1, int(n_calls * 0.95))
    owner = np.concatenate([np.arange(n_b), rng.integers(0, n_b, n_calls - n_b)])
    windows: dict[str, tuple[datetime, datetime]] = {}
    for i in range(n_calls):
        lang, jur, tz, _ = LANGUAGE_ZONES[int(pick[i])]
        zone = ZoneInfo(tz)
        ws = datetime.combine(plan_date, datetime.min.time().replace(hour=9), tzinfo=zone)
        we = datetime.combine(plan_date, datetime.min.time().replace(hour=20), tzinfo=zone)
        ws_u, we_u = ws.astimezone(UTC), we.astimezone(UTC)
        windows.setdefault(lang, (ws_u, we_u))
        lo, hi = windows[lang]
        windows[lang] = (min(lo, ws_u), max(hi, we_u))
        cur = _CURRENCY[jur]
        exp = MINOR_UNITS.get(cur, 2)
        amount_minor = round(float(usd[i]) * REFERENCE_PER_USD[cur] * 10**exp)
        rows.append(
            (
                f"C{i:06d}",
                f"B{int(owner[i]):06d}",
                str(buckets[bidx[i]]),
                lang,
                float(score[i]),
                amount_minor,
                cur,
                tz,
                jur,
                ws_u,
                we_u,
            )
        )
    calls = pl.DataFrame(
        rows,
        schema={
            "account_id": pl.String,
            "borrower_id": pl.String,
            "bucket": pl.String,
            "language": pl.String,
            "score": pl.Float64,
            "arrears_minor": pl.Int64,
            "currency": pl.String,
            "timezone": pl.String,
            "jurisdiction": pl.String,
            "_start_utc": pl.Datetime("us", "UTC"),
            "_end_utc": pl.Datetime("us", "UTC"),
        },
        orient="row",
    ).with_columns(pl.lit(1, dtype=pl.Int64).alias("cap"))
    n_agents = max(2, round(n_calls * agents_per_100_calls / 100))
    langs = sorted(windows)
    pairs = [("zh-TW", "zh-CN"), ("en-GB", "en-US"), ("en-US", "es-US")]
    agents = []
    for k in range(n_agents):
        if rng.random() < 0.33:
            langset = frozenset(pairs[int(rng.integers(len(pairs)))])
        else:
            lw = np.array([sum(w for lg, *_, w in LANGUAGE_ZONES if lg == x) for x in langs])
            langset = frozenset({langs[int(rng.choice(len(langs), p=lw / lw.sum()))]})
        lo = min(windows[x][0] for x in langset)
        hi = max(windows[x][1] for x in langset)
        length_h = int(rng.integers(4, 7))
        span = max(0, int((hi - lo).total_seconds() // 3600) - length_h)
        s = lo + timedelta(hours=int(rng.integers(0, span + 1)))
        e = s + timedelta(hours=length_h)
        agents.append(
            Agent(
                f"A{k + 1:03d}",
                langset,
                frozenset({"M3", "M4", "M5", "M6", "M6+"}) if rng.random() < 0.25 else frozenset(),
                int(rng.integers(150, 301)),
                (parse_shift(f"{s:%H:%M}-{e:%H:%M}"),),
            )
        )
    return calls, agents


CAPACITY_COLUMNS = ["agent_id", "slot_start"]
"""Columns the capacity stage appends to ``contacts.csv`` (empty for messages and for calls no
agent could take)."""


def assign_agents(
    contacts: pl.DataFrame,
    decisions: pl.DataFrame,
    borrowers: pl.DataFrame,
    plan_date: date,
    agents: Sequence[Agent] | None = None,
    *,
    time_limit_s: float = 5.0,
    max_options: int = 250_000,
) -> tuple[pl.DataFrame, Placement]:
    """The daily run's capacity stage: give each allowed call an agent and a planned start.

    Parameters
    ----------
    contacts : pl.DataFrame
        Planned contacts (``account_id, borrower_id, channel, score, jurisdiction`` and the
        allowed window ``_start_utc``/``_end_utc``).
    decisions : pl.DataFrame
        ``account_id, bucket, arrears_minor, currency`` per account in arrears.
    borrowers : pl.DataFrame
        ``borrower_id, language, timezone``.
    agents : sequence of Agent, optional
        The team (``--agents FILE``); default :func:`default_team` sized to the day.
    time_limit_s : float
        CP-SAT *deterministic* time limit (one worker), so the same input gives the same plan.

    Returns
    -------
    contacts, placement
        ``contacts`` plus :data:`CAPACITY_COLUMNS` (``slot_start`` as ISO 8601 UTC text) in the
        same row order; the placement with its figures.
    """
    calls = (
        contacts.with_row_index("_row")
        .filter(pl.col("channel") == "call")
        .select(
            "_row", "account_id", "borrower_id", "score", "jurisdiction", "_start_utc", "_end_utc"
        )
        .join(
            decisions.select("account_id", "bucket", "arrears_minor", "currency"),
            on="account_id",
            how="left",
        )
        .join(borrowers.select("borrower_id", "language", "timezone"), on="borrower_id", how="left")
        .with_columns(pl.col("arrears_minor").fill_null(0), pl.col("currency").fill_null("USD"))
        .sort("_row")
    )
    team = list(agents) if agents is not None else default_team(calls)
    placement = place_calls(
        calls,
        team,
        plan_date,
        time_limit_s=time_limit_s,
        max_options=max_options,
        workers=1,
        deterministic=True,
    )
    placed = placement.calls.select(
        "_row",
        "agent_id",
        pl.col("slot_start").dt.strftime("%Y-%m-%dT%H:%M:%S+00:00").alias("slot_start"),
    )
    out = (
        contacts.with_row_index("_row")
        .join(placed, on="_row", how="left")
        .sort("_row")
        .drop("_row")
    )
    return out, placement
