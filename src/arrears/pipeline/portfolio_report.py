"""Portfolio reports from the ledger: roll rates, cure rate, vintage curves, recovery rate.

Definitions (also in ``docs/reports.md``):

* **Monthly snapshots.** The DPD of every account at the last ``months`` month ends up to the
  as-of date (the as-of date itself is the last snapshot), from the ledger's schedules and
  payments (:func:`~arrears.pipeline.assess.assess_portfolio`), or, for the UCI file, from its
  monthly repayment status (``status_history``).
* **Roll-rate matrix.** For consecutive snapshots, the share of accounts in bucket ``i`` that
  are in bucket ``j`` one month later (rows sum to 1), pooled over the months.
* **Cure rate.** Per bucket, the share of accounts in that bucket that are current a month
  later; overall for every account in arrears.
* **Vintage curves.** Accounts grouped by opening quarter; for each month on book (months from
  opening to a snapshot), the share of the cohort 30 or more days past due at that snapshot.
  Not available when the source has no opening dates (the UCI placeholder).
* **Recovery rate.** For accounts in arrears at a month end: what was paid in the following
  month divided by the arrears amount then (each account's payment counted up to its arrears),
  per currency.
"""

from __future__ import annotations

import calendar
import html
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from arrears.adapters.portfolio.schema import PortfolioFrames
from arrears.adapters.portfolio.uci import UCI_OPENED_ON_PLACEHOLDER
from arrears.pipeline.assess import assess_portfolio, bucket_expr

BUCKETS = ("current", "M1", "M2", "M3", "M4", "M5", "M6", "M6+")


def month_ends(as_of: date, months: int) -> list[date]:
    """The ``months`` month ends up to ``as_of``, oldest first; ``as_of`` replaces the last."""
    out = [as_of]
    y, m = as_of.year, as_of.month
    while len(out) < months:
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        out.append(date(y, m, calendar.monthrange(y, m)[1]))
    return sorted(set(out))


def ledger_as_of(frames: PortfolioFrames) -> date:
    """Latest date the ledger knows of (last payment, statement or due date up to today's data)."""
    candidates: list[date] = []
    for frame, col in (
        (frames.payments, "paid_on"),
        (frames.statements, "statement_date"),
    ):
        if frame.height:
            v = frame[col].max()
            if isinstance(v, date):
                candidates.append(v)
    if not candidates:
        raise LookupError("the ledger has no payments or statements to date a report")
    return max(candidates)


@dataclass
class PortfolioReport:
    """Tables of a portfolio report (Polars frames) and the figures for ``report.json``."""

    name: str
    as_of: date
    snapshots: list[date]
    roll_matrix: pl.DataFrame
    cure_rates: pl.DataFrame
    vintage: pl.DataFrame
    recovery: pl.DataFrame
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "portfolio": self.name,
            "as_of": self.as_of.isoformat(),
            "snapshots": [d.isoformat() for d in self.snapshots],
            "roll_matrix": self.roll_matrix.to_dicts(),
            "cure_rates": self.cure_rates.to_dicts(),
            "vintage": self.vintage.with_columns(pl.col("cohort").cast(pl.String)).to_dicts(),
            "recovery": self.recovery.to_dicts(),
            "notes": self.notes,
        }


def _history(frames: PortfolioFrames, snaps: list[date]) -> pl.DataFrame:
    parts = []
    for d in snaps:
        a = assess_portfolio(frames.accounts, frames.installments, frames.payments, d)
        parts.append(
            a.select("account_id", "dpd", "arrears_minor").with_columns(month_end=pl.lit(d))
        )
    return pl.concat(parts)


def portfolio_report(
    frames: PortfolioFrames,
    as_of: date,
    *,
    months: int = 6,
    name: str = "",
    status_history: pl.DataFrame | None = None,
) -> PortfolioReport:
    """Compute the report tables.

    Parameters
    ----------
    frames : PortfolioFrames
        The ledger, normalised.
    as_of : date
        Last snapshot.
    months : int, default 6
        Number of monthly snapshots (>= 2).
    status_history : pl.DataFrame, optional
        ``account_id, month_end, dpd`` from the source (UCI); the arrears amount of a month is
        then the statement balance of that month (0 when not in arrears).

    Returns
    -------
    PortfolioReport

    Raises
    ------
    ValueError
        If ``months < 2``.
    """
    if months < 2:
        raise ValueError(f"months must be at least 2, got {months}")
    notes: list[str] = []
    if status_history is not None:
        snaps = sorted(set(status_history["month_end"].to_list()))[-months:]
        hist = (
            status_history.filter(pl.col("month_end").is_in(snaps))
            .join(
                frames.statements.select(
                    "account_id",
                    pl.col("statement_date").alias("month_end"),
                    pl.col("balance_minor").clip(0, None).alias("_bal"),
                ),
                on=["account_id", "month_end"],
                how="left",
            )
            .with_columns(
                pl.when(pl.col("dpd") > 0)
                .then(pl.col("_bal").fill_null(0))
                .otherwise(0)
                .alias("arrears_minor")
            )
            .drop("_bal")
        )
        notes.append(
            "Monthly status from the source's repayment status codes; the arrears amount of a "
            "month is the statement balance (the file has no minimum payment), so the recovery "
            "rate is a share of balances, not of amounts past due."
        )
    else:
        snaps = month_ends(as_of, months)
        hist = _history(frames, snaps)
    hist = hist.with_columns(bucket_expr(pl.col("dpd")).alias("bucket"))
    idx = {d: i for i, d in enumerate(snaps)}
    nxt = hist.with_columns(
        pl.col("month_end").replace_strict(idx, return_dtype=pl.Int64).alias("_i")
    )
    pairs = nxt.join(
        nxt.select(
            "account_id",
            (pl.col("_i") - 1).alias("_i"),
            pl.col("bucket").alias("to"),
        ),
        on=["account_id", "_i"],
    )
    counts = pairs.group_by("bucket", "to").len()
    mat = np.zeros((len(BUCKETS), len(BUCKETS)))
    for b, t, n in counts.iter_rows():
        mat[BUCKETS.index(b), BUCKETS.index(t)] = n
    totals = mat.sum(axis=1, keepdims=True)
    shares = np.divide(mat, totals, out=np.zeros_like(mat), where=totals > 0)
    roll = pl.DataFrame(
        {"from": list(BUCKETS), "accounts": totals[:, 0].astype(np.int64)}
        | {to: shares[:, j].round(4) for j, to in enumerate(BUCKETS)}
    )
    cure_rows = []
    for i, b in enumerate(BUCKETS[1:], start=1):
        n = int(totals[i, 0])
        cure_rows.append(
            {
                "bucket": b,
                "accounts": n,
                "cure_rate": round(float(mat[i, 0] / n), 4) if n else None,
                "roll_forward_rate": round(float(mat[i, i + 1 :].sum() / n), 4) if n else None,
            }
        )
    arrears_n = int(totals[1:, 0].sum())
    cure_rows.append(
        {
            "bucket": "all in arrears",
            "accounts": arrears_n,
            "cure_rate": round(float(mat[1:, 0].sum() / arrears_n), 4) if arrears_n else None,
            "roll_forward_rate": round(
                float(sum(mat[i, i + 1 :].sum() for i in range(1, len(BUCKETS))) / arrears_n), 4
            )
            if arrears_n
            else None,
        }
    )
    cure = pl.DataFrame(cure_rows)

    opened = frames.accounts.select("account_id", "opened_on")
    if opened.height and (opened["opened_on"] == UCI_OPENED_ON_PLACEHOLDER).all():
        vintage = pl.DataFrame(
            schema={
                "cohort": pl.Date,
                "months_on_book": pl.Int64,
                "accounts": pl.Int64,
                "share_30_plus": pl.Float64,
            }
        )
        notes.append("Vintage curves: not available, the source has no opening dates.")
    else:
        vintage = (
            hist.join(opened, on="account_id")
            .filter(pl.col("opened_on") <= pl.col("month_end"))
            .with_columns(
                pl.col("opened_on").dt.truncate("1q").alias("cohort"),
                (
                    (pl.col("month_end").dt.year() - pl.col("opened_on").dt.year()) * 12
                    + pl.col("month_end").dt.month()
                    - pl.col("opened_on").dt.month()
                ).alias("months_on_book"),
            )
            .group_by("cohort", "months_on_book")
            .agg(
                pl.len().alias("accounts"),
                (pl.col("dpd") >= 30).mean().round(4).alias("share_30_plus"),
            )
            .filter(pl.col("accounts") >= 20)
            .sort("cohort", "months_on_book")
        )

    currency = frames.accounts.select("account_id", "currency")
    rec_parts = []
    for i, d in enumerate(snaps[:-1]):
        end = snaps[i + 1]
        paid = (
            frames.payments.filter((pl.col("paid_on") > d) & (pl.col("paid_on") <= end))
            .group_by("account_id")
            .agg(pl.col("amount_minor").sum().alias("_paid"))
        )
        rec_parts.append(
            hist.filter((pl.col("month_end") == d) & (pl.col("arrears_minor") > 0))
            .join(paid, on="account_id", how="left")
            .with_columns(
                pl.min_horizontal(pl.col("_paid").fill_null(0), pl.col("arrears_minor")).alias(
                    "_rec"
                )
            )
        )
    if rec_parts:
        recovery = (
            pl.concat(rec_parts)
            .join(currency, on="account_id")
            .group_by("currency", "month_end")
            .agg(
                pl.len().alias("accounts_in_arrears"),
                pl.col("arrears_minor").sum().alias("arrears_minor"),
                pl.col("_rec").sum().alias("recovered_minor"),
            )
            .with_columns(
                (pl.col("recovered_minor") / pl.col("arrears_minor"))
                .round(4)
                .alias("recovery_rate")
            )
            .sort("currency", "month_end")
        )
    else:
        recovery = pl.DataFrame()
    return PortfolioReport(name, as_of, snaps, roll, cure, vintage, recovery, notes)


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _table(df: pl.DataFrame) -> str:
    if df.height == 0:
        return "<p>(no rows)</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in df.columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row)
        + "</tr>"
        for row in df.iter_rows()
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def write_portfolio_report(report: PortfolioReport, out_dir: Path) -> list[Path]:
    """Write CSV tables, PNG charts, ``report.json`` and ``portfolio_report.html`` to ``out_dir``.

    Returns
    -------
    list of Path
        Files written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    tables = {
        "roll_rates.csv": report.roll_matrix,
        "cure_rates.csv": report.cure_rates,
        "vintage.csv": report.vintage,
        "recovery.csv": report.recovery,
    }
    for fname, df in tables.items():
        p = out_dir / fname
        df.write_csv(p)
        paths.append(p)
    plt = _plt()
    mat = report.roll_matrix.select(list(BUCKETS)).to_numpy()
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    im = ax.imshow(mat, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(BUCKETS)), BUCKETS)
    ax.set_yticks(range(len(BUCKETS)), BUCKETS)
    ax.set_xlabel("bucket a month later")
    ax.set_ylabel("bucket")
    for i in range(len(BUCKETS)):
        for j in range(len(BUCKETS)):
            if mat[i, j] >= 0.005:
                ax.text(
                    j,
                    i,
                    f"{mat[i, j]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if mat[i, j] > 0.5 else "black",
                )
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title("roll-rate matrix")
    fig.tight_layout()
    p = out_dir / "roll_rates.png"
    fig.savefig(p, dpi=90)
    plt.close(fig)
    paths.append(p)
    charts = ["roll_rates.png"]
    if report.vintage.height:
        fig, ax = plt.subplots(figsize=(7, 4))
        for (cohort,), part in report.vintage.group_by(["cohort"], maintain_order=True):
            ax.plot(part["months_on_book"], part["share_30_plus"], marker="o", label=str(cohort))
        ax.set_xlabel("months on book")
        ax.set_ylabel("share 30+ DPD")
        ax.set_title("vintage curves (by opening quarter)")
        ax.legend(fontsize=6, ncol=2)
        fig.tight_layout()
        p = out_dir / "vintage.png"
        fig.savefig(p, dpi=90)
        plt.close(fig)
        paths.append(p)
        charts.append("vintage.png")
    if report.recovery.height:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        for (cur,), part in report.recovery.group_by(["currency"], maintain_order=True):
            ax.plot(part["month_end"], part["recovery_rate"], marker="o", label=str(cur))
        ax.set_ylabel("recovered / arrears")
        ax.set_title("recovery rate in the following month")
        ax.legend(fontsize=8)
        fig.autofmt_xdate()
        fig.tight_layout()
        p = out_dir / "recovery.png"
        fig.savefig(p, dpi=90)
        plt.close(fig)
        paths.append(p)
        charts.append("recovery.png")
    p = out_dir / "report.json"
    p.write_text(json.dumps(report.as_json(), indent=2, default=str) + "\n")
    paths.append(p)
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in report.notes)
    imgs = "".join(f'<img src="{c}" alt="{c}">' for c in charts)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>arrears portfolio report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:72em}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.2em .5em;
text-align:right}}</style></head><body>
<h1>Portfolio report: {html.escape(report.name)}</h1>
<p>As of {report.as_of}; monthly snapshots {", ".join(d.isoformat() for d in report.snapshots)}.
Definitions: docs/reports.md.</p><ul>{notes}</ul>
{imgs}
<h2>Roll-rate matrix</h2>{_table(report.roll_matrix)}
<h2>Cure and roll-forward rates</h2>{_table(report.cure_rates)}
<h2>Recovery rate</h2>{_table(report.recovery)}
<h2>Vintage curves</h2>{_table(report.vintage)}
</body></html>
"""
    p = out_dir / "portfolio_report.html"
    p.write_text(page, encoding="utf-8")
    paths.append(p)
    return paths
