"""Benchmark: the offers stage of the daily run (not a test).

Builds the ``decided`` frame the way :func:`arrears.pipeline.daily.run_daily` does (assess,
features + registered model score, affordability model, strategy, cadence) for a generated
portfolio (seed 7), then times :func:`arrears.pipeline.offers.build_offers` alone.
Prints the figures (it does not write docs/benchmarks.md).

Usage::

    .venv/bin/python bench/bench_offers.py --accounts 200000
    .venv/bin/python bench/bench_offers.py --accounts 1000000 --repeat 1
    .venv/bin/python bench/bench_offers.py --accounts 200000 --plan-rate 0.18 --save out.csv

``--plan-rate`` overrides the strategy's plan rate (the shipped one is interest-free, so APRs
are all 0 there); ``--reference`` also times the per-account reference path
(:func:`arrears.pipeline.offers.build_offers_reference`) and checks the two agree exactly.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl

from arrears.adapters.portfolio.schema import PortfolioFrames
from arrears.adapters.portfolio.synthetic import generate_portfolio
from arrears.bootstrap import load_strategy_for
from arrears.domain.strategy import Strategy
from arrears.pipeline import offers as offers_mod
from arrears.pipeline.affordability import AFFORDABILITY_COLUMNS, affordability
from arrears.pipeline.assess import assess_portfolio
from arrears.pipeline.features import ledger_features
from arrears.pipeline.modelling.registered import load_registered_model
from arrears.pipeline.offers import apply_cadence, build_offers
from arrears.pipeline.plan import borrower_flags, choose_treatments

AS_OF = date(2026, 11, 30)


def load(args: argparse.Namespace) -> PortfolioFrames:
    return generate_portfolio(args.accounts, AS_OF, seed=7)


def decided_frame(frames: PortfolioFrames, strategy: Strategy) -> pl.DataFrame:
    """The ``decided`` frame of :func:`arrears.pipeline.daily.run_daily` (same steps)."""
    model = load_registered_model()
    assessed = assess_portfolio(frames.accounts, frames.installments, frames.payments, AS_OF)
    in_arrears = assessed.filter(pl.col("dpd") > 0)
    feats = ledger_features(frames, AS_OF, assessed).join(
        in_arrears.select("account_id"), on="account_id", how="semi"
    )
    scored = feats.select("account_id").with_columns(model.score(feats).alias("score"))
    afford = affordability(frames, AS_OF).rename({c: f"{c}_minor" for c in AFFORDABILITY_COLUMNS})
    base = (
        in_arrears.join(
            frames.accounts.select("account_id", "borrower_id", "currency"), on="account_id"
        )
        .join(scored, on="account_id", how="left")
        .join(afford, on="account_id", how="left")
        .join(borrower_flags(frames.borrowers), on="borrower_id", how="left")
        .with_columns(pl.lit(False).alias("plan_active"))
    )
    return apply_cadence(choose_treatments(base, strategy), frames.contact_history, AS_OF)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--accounts", type=int, default=200_000)
    p.add_argument("--strategy", type=Path, default=None)
    p.add_argument("--plan-rate", default=None, help="override plan_annual_rate, e.g. 0.18")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--save", type=Path, help="write the offers CSV here")
    p.add_argument("--reference", action="store_true", help="also run the reference path")
    args = p.parse_args()

    t0 = time.perf_counter()
    frames = load(args)
    strategy = load_strategy_for(frames, args.strategy)
    policy = strategy.offers
    if args.plan_rate is not None:
        policy = dataclasses.replace(policy, plan_annual_rate=Decimal(args.plan_rate))
    decided = decided_frame(frames, strategy)
    t_setup = time.perf_counter() - t0
    wanted = decided.filter(pl.col("offer_types").fill_null("") != "").height
    print(
        f"portfolio: {frames.accounts.height:,} accounts, {decided.height:,} in arrears, "
        f"{wanted:,} with offer types; setup {t_setup:.1f} s; "
        f"plan rate {policy.plan_annual_rate}; load average {os.getloadavg()[0]:.2f}"
    )
    times = []
    cpu = []
    out = pl.DataFrame()
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = build_offers(decided, frames, AS_OF, policy, strategy.limits)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(
        f"build_offers: {out.height:,} offers; best {min(times):.2f} s wall "
        f"(runs {', '.join(f'{t:.2f}' for t in times)} s; CPU {min(cpu):.2f} s); "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    if args.save:
        out.write_csv(args.save)
    reference = offers_mod.build_offers_reference
    if args.reference:
        t0, c0 = time.perf_counter(), time.process_time()
        ref = reference(decided, frames, AS_OF, policy, strategy.limits)
        t_ref, c_ref = time.perf_counter() - t0, time.process_time() - c0
        same = ref.equals(out) and ref.write_csv() == out.write_csv()
        print(
            f"reference path: {t_ref:.2f} s wall (CPU {c_ref:.2f} s); identical output: {same}; "
            f"load average {os.getloadavg()[0]:.2f}"
        )
        if not same:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
