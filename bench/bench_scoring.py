"""Benchmark: feature building + scoring with the registered model (not a test).

Generates a portfolio (seed 7, not timed), assesses it (timed separately), then times
:func:`arrears.pipeline.features.ledger_features` on every account and the registered model's
``score`` on every account with complete features, and its reason codes. Prints the figures and
rewrites the "Scoring" section of ``docs/benchmarks.md``. Target: features + scoring of
1,000,000 accounts in 20 s or less.

Usage: ``.venv/bin/python bench/bench_scoring.py [--accounts 1000000]``
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_daily import machine, update_doc

from arrears.adapters.portfolio.synthetic import generate_portfolio
from arrears.pipeline.assess import assess_portfolio
from arrears.pipeline.features import ledger_features
from arrears.pipeline.modelling.registered import load_registered_model

AS_OF = date(2026, 11, 30)


def run(n: int) -> dict[str, float]:
    frames = generate_portfolio(n, AS_OF, seed=7)
    model = load_registered_model()
    t0 = time.perf_counter()
    assessed = assess_portfolio(frames.accounts, frames.installments, frames.payments, AS_OF)
    t_assess = time.perf_counter() - t0
    t0 = time.perf_counter()
    feats = ledger_features(frames, AS_OF, assessed)
    t_feat = time.perf_counter() - t0
    complete = feats.drop_nulls(list(model.feature_names))
    t0 = time.perf_counter()
    scores = model.score(complete)
    t_score = time.perf_counter() - t0
    in_arrears = complete.join(
        assessed.filter(pl.col("dpd") > 0).select("account_id"), on="account_id", how="semi"
    )
    t0 = time.perf_counter()
    reasons = model.reasons(in_arrears)
    t_reasons = time.perf_counter() - t0
    assert scores.len() == complete.height and reasons.height == in_arrears.height
    return {
        "accounts": n,
        "history_rows": frames.delinquency_history.height,
        "scored": complete.height,
        "in_arrears": in_arrears.height,
        "assess_s": t_assess,
        "features_s": t_feat,
        "score_s": t_score,
        "reasons_s": t_reasons,
    }


def section(results: list[dict[str, float]], version: str) -> str:
    lines = [
        "## Scoring (`bench/bench_scoring.py`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()}; model {version}; the machine",
        "was shared with other jobs while measuring, so the figures are upper bounds.",
        "Generated portfolio (seed 7), in memory. `features` is `ledger_features` on every",
        "account; `score` the calibrated LightGBM on every account with complete features (all",
        "accounts with a delinquency history); `reasons` the three reason codes (TreeSHAP",
        "contributions + sentences) of the accounts in arrears. Target: features + score of",
        "1,000,000 accounts in 20 s or less.",
        "",
        "| accounts | history rows | scored | in arrears | assess (s) | features (s) "
        "| score (s) | features + score (s) | reasons (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['accounts']:,} | {r['history_rows']:,} | {r['scored']:,} | "
            f"{r['in_arrears']:,} | {r['assess_s']:.1f} | {r['features_s']:.1f} | "
            f"{r['score_s']:.1f} | {r['features_s'] + r['score_s']:.1f} | {r['reasons_s']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--no-doc", action="store_true", help="print only")
    args = ap.parse_args()
    results = []
    for n in args.accounts:
        r = run(n)
        print(
            f"{n:>9,} accounts: assess {r['assess_s']:.1f}s, features {r['features_s']:.1f}s, "
            f"score {r['score_s']:.1f}s ({r['scored']:,}), reasons {r['reasons_s']:.1f}s "
            f"({r['in_arrears']:,})"
        )
        results.append(r)
    if not args.no_doc:
        update_doc(section(results, load_registered_model().version), "## Scoring")


if __name__ == "__main__":
    main()
