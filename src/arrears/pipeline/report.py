"""The daily run's self-contained HTML report (charts as inline SVG, no external files)."""

from __future__ import annotations

import html
import io
from typing import Any


def _plt() -> Any:
    """matplotlib.pyplot on the Agg backend, imported on first use (it costs seconds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    _plt().close(fig)
    text = buf.getvalue()
    return text[text.find("<svg") :]


def bar_chart(labels: list[str], values: list[float], title: str, xlabel: str = "") -> str:
    """An inline SVG bar chart."""
    fig, ax = _plt().subplots(figsize=(6.4, 3.2))
    ax.bar(labels, values, color="#3b6ea5")
    ax.set_title(title)
    ax.set_ylabel("accounts")
    if xlabel:
        ax.set_xlabel(xlabel)
    for i, v in enumerate(values):
        ax.annotate(f"{v:,.0f}", (i, v), ha="center", va="bottom", fontsize=8)
    ax.tick_params(axis="x", labelrotation=20)
    return _svg(fig)


def histogram(values: list[float], title: str, xlabel: str) -> str:
    """An inline SVG histogram over [0, 1] in 20 bins."""
    import numpy as np

    fig, ax = _plt().subplots(figsize=(6.4, 3.2))
    # binned with numpy first: matplotlib's own reshaping of a long list costs seconds
    counts, edges = np.histogram(np.asarray(values, dtype=np.float64), bins=20, range=(0, 1))
    ax.hist(edges[:-1], bins=edges, weights=counts, color="#5a9e6f", edgecolor="white")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("accounts")
    return _svg(fig)


def render_report(summary: dict[str, Any], scores: list[float]) -> str:
    """Render the report page from the run summary and the scores of accounts in arrears."""
    buckets = summary["accounts_by_bucket"]
    treat = summary["decisions_by_treatment"]
    chans = summary["contacts_by_channel"]
    blocked = summary["blocked_by_rule"]
    charts = [
        bar_chart(list(buckets), list(buckets.values()), "Accounts by bucket (DPD)"),
        histogram(
            scores, "Propensity to pay, accounts in arrears", "score (0 = unlikely, 1 = likely)"
        ),
        bar_chart(list(treat), list(treat.values()), "Treatment mix"),
        bar_chart(
            list(chans) or ["none"], list(chans.values()) or [0], "Planned contacts by channel"
        ),
    ]
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(k)}</td><td>{esc(str(v))}</td></tr>"
        for k, v in [
            ("Plan date", summary["plan_date"]),
            ("Accounts", f"{summary['accounts_total']:,}"),
            ("Accounts in arrears", f"{summary['accounts_in_arrears']:,}"),
            ("Arrears amount", ", ".join(f"{a} {c}" for c, a in summary["arrears_amount"].items())),
            ("Planned contacts", f"{summary['contacts_planned']:,}"),
            ("Blocked contacts", f"{summary['contacts_blocked']:,}"),
            ("Model", summary["model"]["version"]),
            ("Rule packs", ", ".join(summary["rule_packs"])),
            ("Strategy", summary["strategy"]),
            ("Input SHA-256", summary["input_sha256"]),
        ]
    )
    block_rows = (
        "".join(f"<tr><td>{esc(k)}</td><td>{v:,}</td></tr>" for k, v in blocked.items())
        or "<tr><td colspan=2>none</td></tr>"
    )
    source = esc(summary.get("data_source", ""))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>arrears daily plan {esc(summary["plan_date"])}</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 10px;text-align:left}}
.grid{{display:grid;grid-template-columns:1fr 1fr;gap:1em}} .grid div svg{{width:100%;height:auto}}
.note{{color:#555;font-size:90%}}
</style></head><body>
<h1>Daily collection plan, {esc(summary["plan_date"])}</h1>
<p class="note">{source}</p>
<table>{rows}</table>
<div class="grid">{"".join(f"<div>{c}</div>" for c in charts)}</div>
<h2>Contacts refused by the compliance check</h2>
<table><tr><th>Rule</th><th>Contacts</th></tr>{block_rows}</table>
</body></html>
"""
