"""Benchmark: the capacity optimiser against the greedy rules on synthetic call days.

For each seeded synthetic day (:func:`arrears.pipeline.capacity.synthetic_call_day`: calls of
TW, CN, GB and US borrowers, a skill-mixed team short of the day's call minutes) it plans the
day three ways and prints the expected amount collected (US cents) per agent minute:

* ``greedy, earliest``: the dialer queue, calls by expected value per minute, each to the first
  free skilled agent in the earliest open slot;
* ``greedy, best slot``: the same order, each call to its best open slot;
* ``CP-SAT``: :func:`arrears.pipeline.capacity.place_calls` (hinted with the greedy plan,
  ``--time-limit`` seconds, 2 workers), with its proven upper bound.

Rewrites the "Capacity" section of ``docs/benchmarks.md``.

Usage: ``.venv/bin/python bench/bench_capacity.py [--sizes 100,300,600] [--seeds 3]``
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from bench_daily import update_doc  # noqa: E402

from arrears.pipeline.capacity import (  # noqa: E402
    greedy_placement,
    place_calls,
    synthetic_call_day,
)

DAY = date(2026, 11, 30)


def _b(bound: object) -> str:
    return f"{bound:.1f}" if isinstance(bound, float) else "n/a"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,300,600")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--time-limit", type=float, default=20.0)
    args = ap.parse_args()
    rows = []
    for n in (int(x) for x in args.sizes.split(",")):
        for seed in range(1, args.seeds + 1):
            calls, agents = synthetic_call_day(n, DAY, seed=seed)
            early = greedy_placement(calls, agents, DAY, "earliest")
            best = greedy_placement(calls, agents, DAY, "best_slot")
            opt = place_calls(calls, agents, DAY, time_limit_s=args.time_limit, workers=2)
            row = {
                "calls": n,
                "seed": seed,
                "agents": len(agents),
                "minutes": opt.agent_minutes_available,
                "early": early.value_per_agent_minute,
                "best": best.value_per_agent_minute,
                "opt": opt.value_per_agent_minute,
                "bound": (
                    opt.bound_cents / max(opt.agent_minutes_available, 1)
                    if opt.bound_cents and opt.method.startswith("cp-sat")
                    else None
                ),
                "placed": (early.placed, best.placed, opt.placed),
                "method": opt.method,
                "seconds": opt.seconds,
            }
            rows.append(row)
            print(
                f"{n} calls seed {seed}: {len(agents)} agents; cents/agent-minute "
                f"earliest {row['early']:.1f}, best slot {row['best']:.1f}, "
                f"CP-SAT {row['opt']:.1f} (bound {_b(row['bound'])}), {opt.method}, "
                f"{opt.seconds:.1f} s",
                flush=True,
            )
    lines = [
        "## Capacity (`bench/bench_capacity.py`)",
        "",
        f"Measured on {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}. Synthetic call days "
        "(`synthetic_call_day`: TW, CN, GB and US borrowers, windows 09:00-20:00 local, "
        "a skill-mixed team about 30 % short of the day's call minutes). Figures: expected "
        "amount collected per available agent minute, US cents (answer rate x propensity to pay "
        "x arrears; the assumptions are in `src/arrears/pipeline/capacity.py`). CP-SAT: "
        f"{args.time_limit:.0f} s limit, 2 workers, hinted with the greedy plan; the bound is "
        "CP-SAT's proven upper bound (no plan can do better).",
        "",
        "| calls | seed | agents | greedy, earliest | greedy, best slot | CP-SAT | bound "
        "| CP-SAT vs earliest | CP-SAT vs best slot | calls placed (e/b/CP) | CP-SAT status | s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['calls']} | {r['seed']} | {r['agents']} | {r['early']:.1f} | {r['best']:.1f} "
            f"| {r['opt']:.1f} | {_b(r['bound'])} | {100 * (r['opt'] / r['early'] - 1):+.1f} % "
            f"| {100 * (r['opt'] / r['best'] - 1):+.2f} % | {'/'.join(map(str, r['placed']))} "
            f"| {r['method']} | {r['seconds']:.1f} |"
        )
    lines += [
        "",
        "Reading: against the dialer queue (each call to the earliest free agent) the optimiser "
        "collects clearly more per agent minute, because it moves calls to the hours borrowers "
        "answer and keeps scarce skills (bilingual and late-bucket agents) for the calls only "
        "they can take. Against the stronger greedy rule that already picks each call's best "
        "hour the gain is small (well under 1 %), and CP-SAT's bound shows that greedy is "
        "already close to the optimum on these days. Where CP-SAT finds no better plan in its "
        "time limit (status column) the plan is the best-slot greedy one, so the optimiser's "
        "gain over the dialer queue in those rows comes from the best-slot rule, not from "
        "CP-SAT. The time limit is wall-clock: on a loaded machine CP-SAT gets less search. "
        "Larger days (over 250,000 call-agent-slot options) are planned by the greedy rule "
        "alone.",
        "",
    ]
    update_doc("\n".join(lines), "## Capacity")


if __name__ == "__main__":
    main()
