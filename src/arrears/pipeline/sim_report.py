"""Charts (PNG) and an HTML page for a simulator comparison (``arrears simulate --out DIR``)."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from arrears.pipeline.simulate import METRICS, Comparison

KEY_METRICS = (
    "amount_collected",
    "cure_rate",
    "cost",
    "contacts_per_borrower_week",
    "share_above_pressure",
    "complaints_per_1000",
)


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _fmt(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.4g}"


def write_comparison(comp: Comparison, out_dir: Path) -> list[Path]:
    """Write ``simulation.json``, ``metrics.png``, ``daily.png`` and ``simulation.html``.

    Returns
    -------
    list of Path
        The files written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    data = comp.as_json()
    figures = data["metrics"]
    plt = _plt()
    paths = [out_dir / "simulation.json"]
    paths[0].write_text(json.dumps(data, indent=2, allow_nan=False, default=str) + "\n")

    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    for ax, key in zip(axes.flat, KEY_METRICS, strict=True):
        means, errs = [], []
        for side in ("A", "B"):
            m = figures[key][side]
            means.append(m["mean"] if m["mean"] is not None else 0.0)
            errs.append(max((m["hi"] or 0.0) - (m["mean"] or 0.0), 0.0))
        ax.bar(
            [comp.names[0], comp.names[1]],
            means,
            yerr=errs,
            color=["#3b6ea5", "#d08c32"],
            capsize=6,
        )
        ax.set_title(key.replace("_", " "), fontsize=10)
        ax.tick_params(axis="x", labelsize=8)
    fig.suptitle(f"{comp.portfolio}: {comp.days} days, {len(comp.seeds)} replications (95 % CI)")
    fig.tight_layout()
    p = out_dir / "metrics.png"
    fig.savefig(p, dpi=90)
    plt.close(fig)
    paths.append(p)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.8))
    for k, color in ((0, "#3b6ea5"), (1, "#d08c32")):
        arr = np.array([r.daily_in_arrears for r in comp.runs[k]], dtype=float)
        col = np.array([np.cumsum(r.daily_collected) for r in comp.runs[k]], dtype=float)
        days = np.arange(1, arr.shape[1] + 1)
        ax1.plot(days, arr.mean(axis=0), color=color, label=comp.names[k])
        ax2.plot(days, col.mean(axis=0), color=color, label=comp.names[k])
    ax1.set_title("accounts in arrears")
    ax2.set_title(f"cumulative amount collected ({comp.report_currency})")
    for ax in (ax1, ax2):
        ax.set_xlabel("day")
        ax.legend(fontsize=8)
    fig.tight_layout()
    p = out_dir / "daily.png"
    fig.savefig(p, dpi=90)
    plt.close(fig)
    paths.append(p)

    rows = []
    for key, desc in METRICS.items():
        f = figures[key]
        cells = []
        for side in ("A", "B", "B_minus_A"):
            m = f[side]
            cells.append(f"<td>{_fmt(m['mean'])}</td><td>[{_fmt(m['lo'])}, {_fmt(m['hi'])}]</td>")
        rows.append(
            f"<tr><th title='{html.escape(desc)}'>{html.escape(key)}</th>{''.join(cells)}</tr>"
        )
    blocked = data["blocked_by_rule_per_run"]
    rules = sorted(set(blocked["A"]) | set(blocked["B"]))
    brows = "".join(
        f"<tr><td>{html.escape(r)}</td><td>{blocked['A'].get(r, 0)}</td>"
        f"<td>{blocked['B'].get(r, 0)}</td></tr>"
        for r in rules
    )
    a, b = (html.escape(n) for n in comp.names)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>arrears simulation</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:72em}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.25em .6em;
text-align:right}}th{{text-align:left}}</style></head><body>
<h1>Strategy simulation: {a} (A) vs {b} (B)</h1>
<p>Portfolio: {html.escape(comp.portfolio)}. Horizon {comp.days} days,
{len(comp.seeds)} replications (seeds {comp.seeds}), the same random numbers for both
strategies. Amounts and cost in {html.escape(comp.report_currency)} (major units).
Intervals are 95 % Student-t intervals over replications; B - A is the paired difference.
The response model and its assumptions: docs/simulator.md.</p>
<table><tr><th>metric</th><th>A mean</th><th>A 95 % CI</th><th>B mean</th><th>B 95 % CI</th>
<th>B - A</th><th>B - A 95 % CI</th></tr>{"".join(rows)}</table>
<img src="metrics.png" alt="key metrics with confidence intervals">
<img src="daily.png" alt="accounts in arrears and amount collected by day">
<h2>Contacts the gate refused (mean per replication)</h2>
<p>Every wanted contact passed the rule code; these were blocked and never made.</p>
<table><tr><th>rule</th><th>A</th><th>B</th></tr>{brows}</table>
</body></html>
"""
    p = out_dir / "simulation.html"
    p.write_text(page, encoding="utf-8")
    paths.append(p)
    return paths
