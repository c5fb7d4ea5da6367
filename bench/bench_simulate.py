"""Benchmark: simulator run time, and the two comparisons quoted in docs/simulator.md.

1. Builds the generated 100,000-account portfolio (scores from the registered model, or the
   first model when the portfolio lacks a field) and times one 90-day simulation of one
   strategy (the target: at most 5 minutes).
2. Compares the default strategy with ``strategies/challenger-example.yaml`` on it and on the
   real UCI portfolio (``--replications`` seeds each, 90 days), timing each comparison and
   writing the figures to ``--json-dir`` (for docs/simulator.md).

Rewrites the "Simulator" section of ``docs/benchmarks.md`` and, for the default size, the result
tables of ``docs/simulator.md`` (its reading is written by hand: read it again after a run).

Usage: ``.venv/bin/python bench/bench_simulate.py [--accounts 100000] [--replications 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from bench_daily import update_doc  # noqa: E402

from arrears import bootstrap  # noqa: E402
from arrears.adapters.rulepacks import is_public_holiday  # noqa: E402
from arrears.config import load_settings  # noqa: E402
from arrears.pipeline.simulate import compare, simulate_strategy  # noqa: E402


def _cell(m: dict[str, float]) -> str:
    fmt = ",.0f" if abs(m["mean"]) >= 1000 else ".3f"
    return f"{m['mean']:{fmt}} [{m['lo']:{fmt}}, {m['hi']:{fmt}}]"


def results_markdown(title: str, data: dict) -> str:
    """One portfolio's comparison (``Comparison.as_json()``) as the tables of docs/simulator.md."""
    lines = [f"### {title}", "", "| figure | A | B | B - A |", "|---|---|---|---|"]
    for name, m in data["metrics"].items():
        lines.append(f"| {name} | {_cell(m['A'])} | {_cell(m['B'])} | {_cell(m['B_minus_A'])} |")
    blocked = data["blocked_by_rule_per_run"]
    rules = sorted(set(blocked["A"]) | set(blocked["B"]))
    lines.append("")
    if rules:
        per = ", ".join(
            f"`{r}` {blocked['A'].get(r, 0):,.0f} / {blocked['B'].get(r, 0):,.0f}" for r in rules
        )
        lines.append(f"Blocked contacts per run by rule (A / B): {per}.")
    else:
        lines.append("Blocked contacts per run by rule (A / B): none refused.")
    return "\n".join(lines) + "\n"


#: docs/simulator.md: the generated tables sit between these two headings' text.
RESULTS_START = "### UCI portfolio"
RESULTS_END = "\nReading"  # the hand-written reading after the tables


def update_results(doc: Path, tables: str) -> None:
    """Replace the result tables of ``doc`` (from RESULTS_START up to RESULTS_END)."""
    text = doc.read_text(encoding="utf-8")
    i = text.index(RESULTS_START)
    j = text.index(RESULTS_END, i) + 1
    doc.write_text(text[:i] + tables + "\n" + text[j:], encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--replications", type=int, default=3)
    ap.add_argument("--json-dir", type=Path, default=Path("out/bench-simulate"))
    args = ap.parse_args()
    args.json_dir.mkdir(parents=True, exist_ok=True)
    settings = load_settings()
    packs, _ = bootstrap.load_rule_packs(settings)
    a = bootstrap.resolve_strategy("default")
    b = bootstrap.resolve_strategy(str(REPO / "strategies" / "challenger-example.yaml"))
    rows = []
    tables: dict[str, str] = {}

    t = time.perf_counter()
    port = bootstrap.simulation_portfolio(settings, f"generated:{args.accounts}")
    build_s = time.perf_counter() - t
    print(f"portfolio {port.name}: built in {build_s:.1f} s", flush=True)
    t = time.perf_counter()
    simulate_strategy(port, a, days=args.days, seed=1, packs=packs, is_holiday=is_public_holiday)
    one_s = time.perf_counter() - t
    print(f"one {args.days}-day run of {a.name}: {one_s:.1f} s", flush=True)
    rows.append((f"generated {args.accounts:,}", "one run, one strategy", 1, one_s, build_s))

    for spec, label in ((f"generated:{args.accounts}", "generated"), ("uci", "uci")):
        if spec == "uci" and not settings.uci_path.is_file():
            print("UCI file not found: skipped")
            continue
        t = time.perf_counter()
        p = port if label == "generated" else bootstrap.simulation_portfolio(settings, "uci")
        b_s = time.perf_counter() - t if label == "uci" else build_s
        comp = compare(
            p,
            a,
            b,
            days=args.days,
            replications=args.replications,
            packs=packs,
            is_holiday=is_public_holiday,
        )
        data = comp.as_json()
        (args.json_dir / f"{label}.json").write_text(json.dumps(data, indent=2, default=str))
        title = (
            "UCI portfolio, 30,000 real accounts (as of 2005-09-30; TWD)"
            if label == "uci"
            else f"Generated portfolio, {args.accounts:,} accounts (seed 7; amounts in "
            f"{data['report_currency']} equivalent)"
        )
        tables[label] = results_markdown(title, data)
        print(f"{p.name}: compare in {comp.seconds:.1f} s", flush=True)
        rows.append(
            (
                p.name,
                f"compare 2 strategies x {args.replications} seeds",
                2 * args.replications,
                comp.seconds,
                b_s,
            )
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    lines = [
        "## Simulator (`bench/bench_simulate.py`)",
        "",
        f"Measured {date.today()} on {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores "
        f"(shared with other jobs while measured), Python {platform.python_version()}; "
        f"{args.days} days; peak RSS {peak:.2f} GiB. Target: a {args.days}-day simulation of "
        "100,000 accounts in at most 5 minutes. Strategies: the default against "
        "`strategies/challenger-example.yaml`.",
        "",
        "| portfolio | what | simulations | seconds | per simulation (s) | portfolio build (s) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, what, n, secs, build in rows:
        lines.append(f"| {name} | {what} | {n} | {secs:.1f} | {secs / n:.1f} | {build:.1f} |")
    lines += ["", ""]  # a blank line before the next section
    update_doc("\n".join(lines), "## Simulator")
    if {"uci", "generated"} <= set(tables) and args.accounts == 100_000 and args.days == 90:
        update_results(REPO / "docs" / "simulator.md", tables["uci"] + "\n" + tables["generated"])


if __name__ == "__main__":
    main()
