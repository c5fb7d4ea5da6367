"""Champion/challenger report: compare strategy arms on outcomes, with confidence intervals.

Read from the ledger's decision log (table ``decisions``, one row per account in arrears and
plan date), payments and contact history, over a window ``[date_from, date_to]``:

* **cohort**: every account with a decision in the window; its arm and entry date are those
  of its first decision in the window (arms are stable, so the arm is the same every day);
* **cure rate**: among cohort accounts that entered before the last plan date of the window,
  the share with no decision on that last plan date (no longer in arrears). Wilson score
  interval, 95 %;
* **amount collected per account**: payments with ``entry < paid_on <= date_to``, per
  currency; mean and a normal-approximation 95 % interval (mean +- 1.96 s / sqrt(n)),
  computed in Decimal on minor units and shown in major units;
* **contacts per account**: outbound contacts in the contact history started on a day in
  ``[entry, date_to]``; mean and normal 95 % interval.

The report needs decision logs from at least two plan dates for cure rates; with one plan
date the cure columns are empty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from statistics import mean, stdev
from typing import Any

import polars as pl

from arrears.domain.money import MINOR_UNITS

Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion (``(nan, nan)`` when ``n == 0``)."""
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(
    values: list[Decimal], z: Decimal = Decimal("1.96")
) -> tuple[Decimal, Decimal, Decimal]:
    """``(mean, low, high)``: normal-approximation interval of a mean (Decimal, exact inputs).

    One value: the interval is the value itself; none: zeros.
    """
    if not values:
        return (Decimal(0), Decimal(0), Decimal(0))
    m = mean(values)
    if len(values) < 2:
        return (m, m, m)
    half = z * stdev(values) / Decimal(len(values)).sqrt()
    return (m, m - half, m + half)


@dataclass(frozen=True)
class ArmsReport:
    """The arms comparison: one row per arm (``arms``) and per arm and currency (``collected``)."""

    date_from: date
    date_to: date
    plan_dates: int
    arms: pl.DataFrame
    collected: pl.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "plan_dates": self.plan_dates,
            "arms": self.arms.to_dicts(),
            "collected": self.collected.to_dicts(),
        }


def arms_report(
    decisions: pl.DataFrame,
    payments: pl.DataFrame,
    contact_history: pl.DataFrame,
    date_from: date,
    date_to: date,
) -> ArmsReport:
    """Compare arms over ``[date_from, date_to]`` (see the module docstring for definitions).

    Parameters
    ----------
    decisions : pl.DataFrame
        The decision log (``plan_date, account_id, strategy_arm, currency``...).
    payments, contact_history : pl.DataFrame
        Normalised ledger frames.

    Returns
    -------
    ArmsReport
        ``arms``: ``strategy_arm, accounts, followed, cured, cure_rate, cure_low, cure_high,
        contacts_per_account, contacts_low, contacts_high``; ``collected``: ``strategy_arm,
        currency, accounts, collected_mean, collected_low, collected_high, collected_total``
        (decimal strings, major units).

    Raises
    ------
    ValueError
        If ``date_from > date_to``.
    """
    if date_from > date_to:
        raise ValueError(f"--from {date_from} is after --to {date_to}")
    win = decisions.filter(pl.col("plan_date").is_between(date_from, date_to))
    dates = win["plan_date"].unique().sort().to_list()
    last = dates[-1] if dates else None
    cohort = (
        win.sort("plan_date")
        .group_by("account_id")
        .agg(
            pl.col("plan_date").first().alias("entry"),
            pl.col("strategy_arm").first(),
            pl.col("currency").first(),
        )
    )
    on_last = (
        win.filter(pl.col("plan_date") == last)
        .select("account_id")
        .with_columns(pl.lit(True).alias("_on_last"))
        if last is not None
        else pl.DataFrame(schema={"account_id": pl.String(), "_on_last": pl.Boolean()})
    )
    cohort = cohort.join(on_last, on="account_id", how="left").with_columns(
        pl.col("_on_last").fill_null(False),
        (pl.col("entry") < pl.lit(last, dtype=pl.Date)).alias("_followed")
        if last is not None
        else pl.lit(False).alias("_followed"),
    )
    paid = (
        payments.join(cohort.select("account_id", "entry"), on="account_id")
        .filter((pl.col("paid_on") > pl.col("entry")) & (pl.col("paid_on") <= date_to))
        .group_by("account_id")
        .agg(pl.col("amount_minor").sum().alias("_paid"))
    )
    contacts = (
        contact_history.filter(
            (pl.col("direction") == "outbound") & pl.col("account_id").is_not_null()
        )
        .with_columns(pl.col("started_at").dt.date().alias("_day"))
        .join(cohort.select("account_id", "entry"), on="account_id")
        .filter((pl.col("_day") >= pl.col("entry")) & (pl.col("_day") <= date_to))
        .group_by("account_id")
        .agg(pl.len().cast(pl.Int64).alias("_contacts"))
    )
    cohort = (
        cohort.join(paid, on="account_id", how="left")
        .join(contacts, on="account_id", how="left")
        .with_columns(pl.col("_paid").fill_null(0), pl.col("_contacts").fill_null(0))
    )
    arm_rows = []
    cur_rows = []
    for (arm,) in cohort.select("strategy_arm").unique().sort("strategy_arm").iter_rows():
        part = cohort.filter(pl.col("strategy_arm") == arm)
        followed = part.filter(pl.col("_followed"))
        cured = int(followed.filter(~pl.col("_on_last")).height)
        n_f = followed.height
        lo, hi = wilson_interval(cured, n_f)
        cm, cl, ch = mean_interval([Decimal(int(v)) for v in part["_contacts"].to_list()])
        arm_rows.append(
            {
                "strategy_arm": arm,
                "accounts": part.height,
                "followed": n_f,
                "cured": cured,
                "cure_rate": round(cured / n_f, 4) if n_f else None,
                "cure_low": round(lo, 4) if n_f else None,
                "cure_high": round(hi, 4) if n_f else None,
                "contacts_per_account": float(round(cm, 3)),
                "contacts_low": float(round(max(cl, Decimal(0)), 3)),
                "contacts_high": float(round(ch, 3)),
            }
        )
        for (cur,) in part.select("currency").unique().sort("currency").iter_rows():
            exp = MINOR_UNITS.get(cur, 2)
            vals = [
                Decimal(int(v)) for v in part.filter(pl.col("currency") == cur)["_paid"].to_list()
            ]
            m, lo_d, hi_d = mean_interval(vals)
            q = Decimal(1).scaleb(-exp)
            cur_rows.append(
                {
                    "strategy_arm": arm,
                    "currency": cur,
                    "accounts": len(vals),
                    "collected_mean": str(m.scaleb(-exp).quantize(q)),
                    "collected_low": str(max(lo_d, Decimal(0)).scaleb(-exp).quantize(q)),
                    "collected_high": str(hi_d.scaleb(-exp).quantize(q)),
                    "collected_total": str(Decimal(sum(vals)).scaleb(-exp).quantize(q)),
                }
            )
    arms_schema = {
        "strategy_arm": pl.String(),
        "accounts": pl.Int64(),
        "followed": pl.Int64(),
        "cured": pl.Int64(),
        "cure_rate": pl.Float64(),
        "cure_low": pl.Float64(),
        "cure_high": pl.Float64(),
        "contacts_per_account": pl.Float64(),
        "contacts_low": pl.Float64(),
        "contacts_high": pl.Float64(),
    }
    cur_schema = {
        "strategy_arm": pl.String(),
        "currency": pl.String(),
        "accounts": pl.Int64(),
        "collected_mean": pl.String(),
        "collected_low": pl.String(),
        "collected_high": pl.String(),
        "collected_total": pl.String(),
    }
    return ArmsReport(
        date_from,
        date_to,
        len(dates),
        pl.DataFrame(arm_rows, schema=arms_schema),
        pl.DataFrame(cur_rows, schema=cur_schema),
    )
