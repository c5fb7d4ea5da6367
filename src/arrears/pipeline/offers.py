"""Offers for the daily run: affordability, legal caps, plans and forbearance, APR.

Stages (used by :mod:`arrears.pipeline.daily`):

* :func:`affordability_for` - monthly affordability per account (low/high, minor units): a
  documented **fallback**. The daily run feeds the issue-4 affordability model
  (:mod:`arrears.pipeline.affordability`, columns ``affordability_low_minor`` /
  ``affordability_high_minor`` on the decisions frame), which :func:`build_offers` prefers.
* :func:`cap_exclusions` - per account in arrears, the interest and fees charged above the
  legal cap of its (jurisdiction, product) (:class:`arrears.domain.plans.LegalLimits`), which
  are excluded from what is asked.
* :func:`apply_cadence` - holds back contacts on accounts contacted within the path's cadence.
* :func:`build_offers` - the offers of each account whose treatment path lists offer types
  (``plan_offer`` and ``hardship_review`` in the shipped strategies), each with its APR
  (numpy-financial IRR) and total cost. Written to ``offers.csv`` (``OFFER_COLUMNS``,
  docs/outputs.md). It works on all accounts at once (interest-free plans, waivers, term
  extensions and holidays on arrays; settlements and interest-bearing plans through the
  schedule-free ``*_terms`` functions of :mod:`arrears.domain.plans`); the reference,
  :func:`build_offers_reference`, builds every offer's exact schedule with the domain
  functions one account at a time, and the tests hold the two to the same offers.csv.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from operator import attrgetter
from typing import Any

import numpy as np
import numpy_financial as npf
import polars as pl

from arrears.adapters.portfolio.schema import PortfolioFrames
from arrears.domain.delinquency import add_months
from arrears.domain.money import format_minor, minor_exponent
from arrears.domain.plans import (
    MAX_INSTALLMENTS,
    MAX_TERM_INSTALLMENTS,
    MIN_INSTALLMENTS,
    Affordability,
    LegalLimits,
    Offer,
    OfferPolicy,
    OfferTerms,
    OfferType,
    PlanError,
    affordable_plan,
    affordable_plan_terms,
    affordable_settlement,
    cap_check,
    payment_holiday,
    term_extension,
    term_extension_terms,
    waiver_plan,
)

OFFER_COLUMNS = [
    "account_id",
    "offer_type",
    "installments",
    "installment_amount",
    "apr",
    "total_cost",
    "affordability_check",
    "affordability_low",
    "affordability_high",
    "max_installment_amount",
    "currency",
    "amount_owed",
    "amount_over_cap",
    "discount",
    "waived",
    "holiday_months",
    "first_due",
    "cost_of_credit",
    "strategy_arm",
    "segment",
    "note",
]

AFFORDABILITY_SCHEMA = {
    "account_id": pl.String(),
    "affordability_low": pl.Int64(),
    "affordability_high": pl.Int64(),
}


def affordability_for(frames: PortfolioFrames, as_of: date) -> pl.DataFrame:
    """Fallback monthly affordability per account, in minor units (integer arithmetic).

    * ``paid_3m`` = payments booked in the three months up to ``as_of`` (``paid_on`` in
      ``(as_of - 3 months, as_of]``) / 3, rounded down: what the borrower has shown they can pay;
    * ``bill_10`` = 10 % of the monthly bill, rounded down: the latest statement balance on or
      before ``as_of`` (cards), else the installments due in those three months / 3 (loans);
    * ``affordability_low = min(paid_3m, bill_10)``, ``affordability_high = max(...)``.

    A borrower who paid nothing and owes nothing billed gets 0..0: no plan fits, and the
    offers fall back to a payment holiday and a hardship review. This is a stop-gap: the
    issue-4 affordability model replaces it (same columns).

    Returns
    -------
    pl.DataFrame
        ``account_id, affordability_low, affordability_high`` (Int64 minor units), one row per
        account of ``frames.accounts``.
    """
    start = add_months(as_of, -3)
    paid = (
        frames.payments.filter((pl.col("paid_on") > start) & (pl.col("paid_on") <= as_of))
        .group_by("account_id")
        .agg((pl.col("amount_minor").sum() // 3).alias("_paid3"))
    )
    stmt = (
        frames.statements.filter(pl.col("statement_date") <= as_of)
        .sort("statement_date")
        .group_by("account_id")
        .agg(pl.col("balance_minor").last().alias("_bill_stmt"))
    )
    inst = (
        frames.installments.filter((pl.col("due_date") > start) & (pl.col("due_date") <= as_of))
        .group_by("account_id")
        .agg(
            (
                (
                    pl.col("principal_minor")
                    + pl.col("interest_minor").fill_null(0)
                    + pl.col("fees_minor").fill_null(0)
                ).sum()
                // 3
            ).alias("_bill_inst")
        )
    )
    df = (
        frames.accounts.select("account_id")
        .join(paid, on="account_id", how="left")
        .join(stmt, on="account_id", how="left")
        .join(inst, on="account_id", how="left")
        .with_columns(
            pl.col("_paid3").fill_null(0),
            (pl.coalesce("_bill_stmt", "_bill_inst").fill_null(0).clip(0) // 10).alias("_bill10"),
        )
    )
    return df.select(
        "account_id",
        pl.min_horizontal("_paid3", "_bill10").cast(pl.Int64).alias("affordability_low"),
        pl.max_horizontal("_paid3", "_bill10").cast(pl.Int64).alias("affordability_high"),
    )


def cap_exclusions(
    decided: pl.DataFrame, frames: PortfolioFrames, limits: LegalLimits
) -> pl.DataFrame:
    """Interest and fees above the legal cap, per account in arrears.

    For each account whose (jurisdiction, product) has a cap and whose contract is known
    (installments and a principal), :func:`arrears.domain.plans.cap_check` compares all
    scheduled interest and fees with ``principal x cap x term days / 365`` (term days: the
    account's ``term_days``, else opening date to last due date). Cards without an
    installment schedule (e.g. the UCI file) cannot be checked and get no exclusion.

    Returns
    -------
    pl.DataFrame
        ``account_id, annual_cap`` (decimal text, null: no cap or no contract data),
        ``amount_over_cap_minor`` (Int64, the part of the arrears not asked).
    """
    schema = {
        "account_id": pl.String(),
        "annual_cap": pl.String(),
        "amount_over_cap_minor": pl.Int64(),
    }
    if not limits.caps or decided.height == 0:
        return pl.DataFrame(schema=schema)
    # only the contracts of these accounts (the daily run's offers concern a few percent)
    ids = decided["account_id"].implode()
    contract = (
        frames.installments.filter(pl.col("account_id").is_in(ids))
        .group_by("account_id")
        .agg(
            (pl.col("interest_minor").fill_null(0) + pl.col("fees_minor").fill_null(0))
            .sum()
            .alias("_charged"),
            pl.col("due_date").max().alias("_last_due"),
        )
    )
    rows = (
        decided.select(
            "account_id",
            "borrower_id",
            pl.col("arrears_interest_minor").fill_null(0)
            + pl.col("arrears_fees_minor").fill_null(0),
        )
        .rename({"arrears_interest_minor": "_arrears_if"})
        .join(
            frames.accounts.filter(pl.col("account_id").is_in(ids)).select(
                "account_id", "product", "principal_minor", "term_days", "opened_on"
            ),
            on="account_id",
        )
        .join(
            frames.borrowers.filter(
                pl.col("borrower_id").is_in(decided["borrower_id"].implode())
            ).select("borrower_id", "jurisdiction"),
            on="borrower_id",
        )
        .join(contract, on="account_id", how="inner")
    )
    out: list[tuple[str, str | None, int]] = []
    caps: dict[tuple[str, str], Decimal | None] = {}
    for (
        account,
        jurisdiction,
        product,
        principal,
        term_days,
        last_due,
        opened,
        charged,
        a_if,
    ) in zip(
        *(
            rows[c].to_list()
            for c in (
                "account_id",
                "jurisdiction",
                "product",
                "principal_minor",
                "term_days",
                "_last_due",
                "opened_on",
                "_charged",
                "_arrears_if",
            )
        ),
        strict=True,
    ):
        key = (jurisdiction, product)
        if key not in caps:
            caps[key] = limits.annual_cap(jurisdiction, product)
        cap = caps[key]
        if cap is None or not principal:
            continue
        days = term_days or max((last_due - opened).days, 0)
        check = cap_check(principal, int(charged), days, cap, int(a_if))
        out.append((account, str(cap), check.excluded_minor))
    return pl.DataFrame(
        {
            "account_id": [o[0] for o in out],
            "annual_cap": [o[1] for o in out],
            "amount_over_cap_minor": [o[2] for o in out],
        },
        schema=schema,
    )


def apply_cadence(
    decided: pl.DataFrame, contact_history: pl.DataFrame, as_of: date
) -> pl.DataFrame:
    """Blank ``channels`` of accounts contacted within their path's cadence.

    An account with ``cadence_days = c`` is contacted today only if no outbound contact about
    it started in the ``c - 1`` days before ``as_of`` (the plan date itself is governed by the
    daily caps, not the cadence). ``c = 1`` never holds anything back. Adds
    ``next_contact_on`` (null when the account may be contacted today).
    """
    if "cadence_days" not in decided.columns:
        return decided
    last = (
        contact_history.filter(
            (pl.col("direction") == "outbound") & pl.col("account_id").is_not_null()
        )
        .with_columns(pl.col("started_at").dt.date().alias("_day"))
        .filter(pl.col("_day") < as_of)
        .group_by("account_id")
        .agg(pl.col("_day").max().alias("_last_contact"))
    )
    df = decided.join(last, on="account_id", how="left")
    next_on = pl.col("_last_contact") + pl.duration(days=pl.col("cadence_days"))
    held = pl.col("_last_contact").is_not_null() & (next_on > pl.lit(as_of))
    return df.with_columns(
        pl.when(held).then(pl.lit("")).otherwise(pl.col("channels")).alias("channels"),
        pl.when(held).then(next_on).otherwise(None).cast(pl.Date).alias("next_contact_on"),
    ).drop("_last_contact")


def apr_percent(offer: Offer | OfferTerms) -> Decimal | None:
    """Annual percentage rate of an offer, in percent, 2 places (None without a schedule).

    The monthly internal rate of return of :meth:`Offer.cash_flows` (numpy-financial
    ``irr``) times 12, the nominal annual rate. An offer that charges nothing (total paid =
    amount financed) has APR 0 exactly, whatever its timing. Takes an :class:`Offer` or its
    :class:`OfferTerms` (same flows, same APR).
    """
    if not offer.installments:
        return None
    if offer.cost_of_credit_minor == 0:
        return Decimal("0.00")
    flows = offer.cash_flows()
    arr = np.zeros(max(m for m, _ in flows) + 1)
    for m, v in flows:
        arr[m] += v
    rate = npf.irr(arr)
    if rate is None or not np.isfinite(rate):
        return None
    return _apr_from_rate(rate)


def _apr_from_rate(rate: float) -> Decimal:
    return (Decimal(repr(float(rate))) * 1200).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


# Fast APR (see _apr_texts): Newton's IRR is used only when its APR is farther than this many
# hundredths of a percentage point from a rounding boundary of the 2-place APR. On plans of
# 2..126 monthly installments at 1..36 % a year, numpy-financial's IRR (eigenvalues of the
# companion matrix) and Newton's agree to 2e-14 in the monthly rate, 3e-9 in these units: both
# round the same way. Nearer a boundary, numpy-financial itself decides.
_APR_GUARD = 1e-4
_NEWTON_STEPS = 100


def _apr_texts(offers: Sequence[OfferTerms]) -> list[str]:
    """``apr`` column: ``str(apr_percent(o))`` or ``""`` for each offer, computed in bulk.

    Offers without a schedule get ``""`` and offers that charge nothing ``"0.00"``, as in
    :func:`apr_percent`. The others (interest-bearing plans and extensions) get the IRR of
    their cash flows by Newton's method on all of them at once: the NPV as a polynomial in
    ``v = 1 / (1 + rate)`` is decreasing and concave for ``v > 0`` (one inflow at month 0,
    then outflows), so Newton from ``v = 1`` converges to its one positive root from above.
    Where that root is within ``_APR_GUARD`` of a rounding boundary, or did not converge,
    :func:`apr_percent` (numpy-financial) gives the figure, so the column is the one
    :func:`apr_percent` would give.
    """
    out = ["" if not o.installments else "0.00" for o in offers]
    todo = [i for i, o in enumerate(offers) if o.installments and o.cost_of_credit_minor != 0]
    if not todo:
        return out
    # the flows of OfferTerms.cash_flows: +financed at month 0, -first at months m..m+n-2,
    # -last at month m+n-1 (m: months from the start to installment 1)
    picked = [offers[i] for i in todo]
    first_month = np.array(
        [
            (o.first_due.year - o.start_on.year) * 12 + o.first_due.month - o.start_on.month
            if o.first_due is not None
            else 0
            for o in picked
        ],
        dtype=np.int64,
    )
    count = np.array([o.installments for o in picked], dtype=np.int64)
    last_month = first_month + count - 1
    months = np.arange(int(last_month.max()) + 1)
    coef = np.where(
        (months >= first_month[:, None]) & (months < last_month[:, None]),
        -np.array([o.installment_minor for o in picked], dtype=np.float64)[:, None],
        0.0,
    )
    rows = np.arange(len(picked))
    coef[rows, last_month] -= np.array([o.last_installment_minor for o in picked], dtype=np.float64)
    coef[:, 0] += np.array([o.financed_minor for o in picked], dtype=np.float64)
    # one inflow then outflows only (one sign change: one positive root), else numpy-financial
    conventional = (coef[:, 0] > 0) & (coef[:, 1:] <= 0).all(axis=1)
    width = months.size
    v = np.ones(len(todo))
    done = np.zeros(len(todo), dtype=bool)
    for _ in range(_NEWTON_STEPS):
        npv = np.zeros(len(todo))
        slope = np.zeros(len(todo))
        for t in range(width - 1, -1, -1):  # Horner: npv and its derivative in v
            slope = slope * v + npv
            npv = npv * v + coef[:, t]
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(done, 0.0, npv / slope)
        v = v - step
        done |= np.abs(step) <= 1e-13 * np.abs(v)  # the next error is about step**2
        if done.all():
            break
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = 1.0 / v - 1.0
    hundredths = rate * 120_000.0
    frac = hundredths - np.floor(hundredths)
    safe = conventional & done & np.isfinite(rate) & (v > 0) & (np.abs(frac - 0.5) > _APR_GUARD)
    for row, i in enumerate(todo):
        if safe[row]:
            out[i] = str(_apr_from_rate(float(rate[row])))
        else:
            apr = apr_percent(offers[i])
            out[i] = "" if apr is None else str(apr)
    return out


def _future_installments(frames: PortfolioFrames, as_of: date) -> pl.DataFrame:
    return (
        frames.installments.filter(pl.col("due_date") >= as_of)
        .group_by("account_id")
        .agg(
            pl.len().cast(pl.Int64).alias("_remaining"),
            pl.col("principal_minor").sum().alias("_future_principal"),
        )
    )


def _offer_accounts(
    decided: pl.DataFrame,
    frames: PortfolioFrames,
    as_of: date,
    limits: LegalLimits,
    affordability: pl.DataFrame | None,
    *,
    narrow: bool = True,
) -> pl.DataFrame:
    """Accounts with offer types, with affordability, cap exclusion and future installments.

    ``narrow``: read only these accounts' installments (the reference reads them all).
    """
    wanted = decided.filter(pl.col("offer_types").fill_null("") != "")
    if wanted.height == 0:
        return wanted
    if {"affordability_low_minor", "affordability_high_minor"} <= set(wanted.columns):
        # the daily run's affordability model (issue 4, arrears.pipeline.affordability)
        wanted = wanted.with_columns(
            pl.col("affordability_low_minor").alias("_aff_low"),
            pl.col("affordability_high_minor").alias("_aff_high"),
        )
    else:
        table = affordability if affordability is not None else affordability_for(frames, as_of)
        wanted = wanted.join(
            table.select(
                "account_id",
                pl.col("affordability_low").alias("_aff_low"),
                pl.col("affordability_high").alias("_aff_high"),
            ),
            on="account_id",
            how="left",
        )
    # the installments of these accounts only, read once (a few percent of the portfolio's)
    mine = frames
    if narrow:
        mine = dataclasses.replace(
            frames,
            installments=frames.installments.filter(
                pl.col("account_id").is_in(wanted["account_id"].implode())
            ),
        )
    caps = cap_exclusions(wanted, mine, limits)
    return (
        wanted.join(caps, on="account_id", how="left")
        .join(_future_installments(mine, as_of), on="account_id", how="left")
        .with_columns(
            pl.col("amount_over_cap_minor").fill_null(0),
            pl.col("_remaining").fill_null(0),
            pl.col("_future_principal").fill_null(0),
            pl.col("_aff_low").fill_null(0).cast(pl.Int64),
            pl.col("_aff_high").fill_null(0).cast(pl.Int64),
        )
        .sort("account_id")
    )


def _offers_for(
    row: Mapping[str, Any], owed: int, aff: Affordability, policy: OfferPolicy, as_of: date
) -> list[Offer]:
    out: list[Offer] = []
    for kind in [OfferType(o) for o in row["offer_types"].split("|") if o]:
        offer: Offer | None = None
        try:
            if kind is OfferType.INSTALLMENT_PLAN:
                offer = affordable_plan(
                    owed,
                    aff,
                    as_of,
                    policy.plan_annual_rate,
                    min_installments=policy.min_installments,
                    max_installments=policy.max_installments,
                )
            elif kind is OfferType.SETTLEMENT:
                offer = affordable_settlement(owed, aff, policy.settlement, as_of)
            elif kind is OfferType.PAYMENT_HOLIDAY and owed > 0:
                offer = payment_holiday(owed, as_of, policy.holiday_months)
            elif kind is OfferType.TERM_EXTENSION and row["_remaining"]:
                offer = term_extension(
                    owed + int(row["_future_principal"]),
                    int(row["_remaining"]),
                    policy.term_extension_months,
                    as_of,
                    policy.plan_annual_rate,
                )
            elif kind is OfferType.WAIVER:
                excluded = owed - int(row["arrears_minor"])  # <= 0: cap exclusion
                interest = max(int(row["arrears_interest_minor"] or 0) + excluded, 0)
                fees = int(row["arrears_fees_minor"] or 0)
                principal = owed - interest - fees
                offer = waiver_plan(principal, interest, fees, aff, as_of)
        except PlanError:
            offer = None
        if offer is not None:
            out.append(offer)
    if not out and owed > 0:
        # nothing affordable: breathing space and a hardship review, never an unaffordable ask
        holiday = payment_holiday(owed, as_of, policy.holiday_months)
        out.append(
            Offer(
                holiday.offer_type,
                holiday.amount_owed_minor,
                holiday.financed_minor,
                holiday.schedule,
                holiday.start_on,
                holiday_months=holiday.holiday_months,
                note=_no_plan_note(policy, holiday.note),
            )
        )
    return out


def _no_plan_note(policy: OfferPolicy, holiday_note: str) -> str:
    return (
        f"no plan of {policy.min_installments}-{policy.max_installments} installments fits "
        f"the affordability estimate: {holiday_note}; refer to a hardship review"
    )


def build_offers_reference(
    decided: pl.DataFrame,
    frames: PortfolioFrames,
    as_of: date,
    policy: OfferPolicy,
    limits: LegalLimits,
    affordability: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """:func:`build_offers` one account at a time, with the full offers and schedules.

    The reference the fast :func:`build_offers` is held to (``tests/unit/
    test_offers_pipeline.py`` compares the two on generated portfolios): each offer is built
    by the exact domain function (:func:`~arrears.domain.plans.affordable_plan`, ...), its
    APR by :func:`apr_percent` and every amount formatted by
    :func:`~arrears.domain.money.format_minor`. Same parameters and result as
    :func:`build_offers`; about ten times slower with an interest-free policy.
    """
    wanted = _offer_accounts(decided, frames, as_of, limits, affordability, narrow=False)
    rows: list[dict[str, Any]] = []
    for r in wanted.iter_rows(named=True):
        cur = r["currency"]
        owed = max(int(r["arrears_minor"]) - int(r["amount_over_cap_minor"]), 0)
        low, high = int(r["_aff_low"]), int(r["_aff_high"])
        aff = Affordability(min(low, high), max(low, high))
        for o in _offers_for(r, owed, aff, policy, as_of):
            apr = apr_percent(o)
            rows.append(
                {
                    "account_id": r["account_id"],
                    "offer_type": o.offer_type.value,
                    "installments": o.installments,
                    "installment_amount": format_minor(o.installment_minor, cur),
                    "apr": "" if apr is None else str(apr),
                    "total_cost": format_minor(o.total_paid_minor, cur),
                    "affordability_check": "pass"
                    if o.max_installment_minor <= aff.high_minor
                    else "fail",
                    "affordability_low": format_minor(aff.low_minor, cur),
                    "affordability_high": format_minor(aff.high_minor, cur),
                    "max_installment_amount": format_minor(o.max_installment_minor, cur),
                    "currency": cur,
                    "amount_owed": format_minor(owed, cur),
                    "amount_over_cap": format_minor(int(r["amount_over_cap_minor"]), cur),
                    "discount": format_minor(o.discount_minor, cur),
                    "waived": format_minor(o.waived_minor, cur),
                    "holiday_months": o.holiday_months,
                    "first_due": o.schedule[0].due_on.isoformat() if o.schedule else "",
                    "cost_of_credit": format_minor(o.cost_of_credit_minor, cur),
                    "strategy_arm": r["strategy_arm"],
                    "segment": r["segment"],
                    "note": o.note,
                }
            )
    if not rows:
        return pl.DataFrame(schema={c: pl.String() for c in OFFER_COLUMNS})
    return pl.DataFrame(rows).select(OFFER_COLUMNS)


_OFFER_SCHEMA = {
    "_idx": pl.Int64(),
    "_pos": pl.Int64(),
    "offer_type": pl.String(),
    "installments": pl.Int64(),
    "_installment": pl.Int64(),
    "_last": pl.Int64(),
    "_financed": pl.Int64(),
    "_discount": pl.Int64(),
    "_waived": pl.Int64(),
    "holiday_months": pl.Int64(),
    "_first_due": pl.Date(),
    "note": pl.String(),
}

_TERMS_FIELDS = attrgetter(
    "offer_type",
    "installments",
    "installment_minor",
    "last_installment_minor",
    "financed_minor",
    "discount_minor",
    "waived_minor",
    "holiday_months",
    "first_due",
    "note",
)

_FALLBACK_POS = 1 << 40  # after every listed offer of the account


def _offer_frame(size: int, **cols: Any) -> pl.DataFrame:
    """A frame of ``_OFFER_SCHEMA`` from arrays, Series or scalars (repeated ``size`` times)."""
    out = []
    for name, dtype in _OFFER_SCHEMA.items():
        v = cols[name]
        if isinstance(v, pl.Series | np.ndarray | list | tuple):
            out.append(pl.Series(name, v, dtype=dtype))
        else:
            out.append(pl.repeat(v, size, dtype=dtype, eager=True).alias(name))
    return pl.DataFrame(out)


def _from_terms(idx: list[int], pos: list[int], terms: list[OfferTerms]) -> pl.DataFrame:
    """Offer rows from :class:`OfferTerms` built one at a time by the domain."""
    if not terms:
        return pl.DataFrame(schema=_OFFER_SCHEMA)
    kind, n, first, last, financed, discount, waived, months, due, note = zip(
        *map(_TERMS_FIELDS, terms), strict=True
    )
    return _offer_frame(
        len(terms),
        _idx=idx,
        _pos=pos,
        offer_type=[k.value for k in kind],
        installments=n,
        _installment=first,
        _last=last,
        _financed=financed,
        _discount=discount,
        _waived=waived,
        holiday_months=months,
        _first_due=due,
        note=note,
    )


def _one_by_one(
    rows: pl.DataFrame, make: Callable[[int, Affordability, int, int], OfferTerms | None]
) -> pl.DataFrame:
    """Offer rows built one request at a time: ``make(owed, affordability, remaining,
    future_principal)``; a PlanError means no offer, as in :func:`_offers_for`."""
    idx: list[int] = []
    pos: list[int] = []
    terms: list[OfferTerms] = []
    for i, p, owed, low, high, remaining, future in zip(
        *(
            rows[c].to_list()
            for c in ("_idx", "_pos", "_owed", "_low", "_high", "_remaining", "_future")
        ),
        strict=True,
    ):
        try:
            offer = make(owed, Affordability(low, high), remaining, future)
        except PlanError:
            offer = None
        if offer is not None:
            idx.append(i)
            pos.append(p)
            terms.append(offer)
    return _from_terms(idx, pos, terms)


def _interest_free_plans(
    amount: np.ndarray, low: np.ndarray, high: np.ndarray, lo: int, hi: int
) -> tuple[np.ndarray, np.ndarray]:
    """Installments of the interest-free plan of each amount (0: none) and whether it was
    sized on the high estimate.

    The bisection of :func:`arrears.domain.plans._plan_length` at rate 0, on all amounts at
    once: ``n`` installments fit a target when ``amount // n >= 1`` and the largest, the last
    (``amount - (amount // n) * (n - 1)``), is within it.
    """
    n = np.zeros(amount.size, dtype=np.int64)
    used_high = np.zeros(amount.size, dtype=bool)
    for target, is_high in ((low, False), (high, True)):
        q = amount // hi
        live = (n == 0) & (amount > 0) & (q >= 1) & (amount - q * (hi - 1) <= target)
        a = np.full(amount.size, lo, dtype=np.int64)
        b = np.full(amount.size, hi, dtype=np.int64)  # invariant: b fits
        while True:
            moving = live & (a < b)
            if not moving.any():
                break
            mid = (a + b) // 2
            q = amount // mid
            fits = (q >= 1) & (amount - q * (mid - 1) <= target)
            b = np.where(moving & fits, mid, b)
            a = np.where(moving & ~fits, mid + 1, a)
        n = np.where(live, b, n)
        used_high |= live & is_high
    return n, used_high


def _level_offers(
    rows: pl.DataFrame,
    kind: OfferType,
    amount: np.ndarray,
    n: np.ndarray,
    first_due: date,
    note: pl.Series,
    waived: np.ndarray | int = 0,
) -> pl.DataFrame:
    """Interest-free level offers (``amount // n`` a month, the last absorbing the remainder,
    as :func:`arrears.domain.plans.installment_schedule` at rate 0) where ``n > 0``."""
    keep = n > 0
    if not keep.any():
        return pl.DataFrame(schema=_OFFER_SCHEMA)
    n, amount = n[keep], amount[keep]
    first = amount // n
    return _offer_frame(
        n.size,
        _idx=rows["_idx"].filter(keep),
        _pos=rows["_pos"].filter(keep),
        offer_type=kind.value,
        installments=n,
        _installment=first,
        _last=amount - first * (n - 1),
        _financed=amount,
        _discount=0,
        _waived=waived[keep] if isinstance(waived, np.ndarray) else waived,
        holiday_months=0,
        _first_due=first_due,
        note=note.filter(keep),
    )


def _plan_notes(n: np.ndarray, used_high: np.ndarray, prefix: str = "") -> pl.Series:
    """:func:`arrears.domain.plans.affordable_plan`'s note, for every row."""
    return pl.DataFrame({"n": n, "high": used_high}).select(
        pl.format(
            prefix + "{} monthly installments within the {} affordability estimate",
            "n",
            pl.when("high").then(pl.lit("high")).otherwise(pl.lit("low")),
        )
    )[:, 0]


def _offers_of_kind(
    kind: OfferType, rows: pl.DataFrame, policy: OfferPolicy, as_of: date
) -> pl.DataFrame:
    """The offers of one kind for the requests ``rows`` (one row per account asking for it)."""
    owed = rows["_owed"].to_numpy()
    low, high = rows["_low"].to_numpy(), rows["_high"].to_numpy()
    rate = policy.plan_annual_rate
    first_due = add_months(as_of, 1)
    if kind is OfferType.PAYMENT_HOLIDAY:
        keep = owed > 0
        return _offer_frame(
            int(keep.sum()),
            _idx=rows["_idx"].filter(keep),
            _pos=rows["_pos"].filter(keep),
            offer_type=kind.value,
            installments=0,
            _installment=0,
            _last=0,
            _financed=owed[keep],
            _discount=0,
            _waived=0,
            holiday_months=policy.holiday_months,
            _first_due=None,
            note=_holiday_note(policy, as_of),
        )
    if kind is OfferType.WAIVER:
        # waiver_plan on the principal after interest (less any cap exclusion) and fees
        excluded = owed - rows["arrears_minor"].to_numpy()  # <= 0: cap exclusion
        interest = np.maximum(rows["_a_int"].to_numpy() + excluded, 0)
        fees = rows["_a_fees"].to_numpy()
        principal = owed - interest - fees
        waived = interest + fees
        rest = principal + interest + fees - waived
        rest = np.where((waived != 0) & (rest > 0), rest, 0)
        n, used_high = _interest_free_plans(rest, low, high, MIN_INSTALLMENTS, MAX_INSTALLMENTS)
        note = _plan_notes(n, used_high, "interest and fees in arrears waived; ")
        return _level_offers(rows, kind, rest, n, first_due, note, waived)
    if kind is OfferType.INSTALLMENT_PLAN and rate == 0:
        lo, hi = policy.min_installments, policy.max_installments
        n, used_high = _interest_free_plans(owed, low, high, lo, hi)
        return _level_offers(rows, kind, owed, n, first_due, _plan_notes(n, used_high))
    if kind is OfferType.TERM_EXTENSION and rate == 0:
        extra = policy.term_extension_months
        remaining = rows["_remaining"].to_numpy()
        outstanding = owed + rows["_future"].to_numpy()
        n = np.maximum(remaining, 1) + extra
        ok = (remaining != 0) & (extra >= 1) & (n <= MAX_TERM_INSTALLMENTS) & (outstanding > 0)
        n = np.where(ok & (outstanding // n >= 1), n, 0)
        note = pl.Series(n, dtype=pl.Int64).cast(pl.String)
        note = f"term extended by {extra} months to " + note + " monthly installments"
        return _level_offers(rows, kind, outstanding, n, first_due, note)
    if kind is OfferType.INSTALLMENT_PLAN:
        return _one_by_one(
            rows,
            lambda owed, aff, _r, _f: affordable_plan_terms(
                owed,
                aff,
                as_of,
                rate,
                min_installments=policy.min_installments,
                max_installments=policy.max_installments,
            ),
        )
    if kind is OfferType.TERM_EXTENSION:
        return _one_by_one(
            rows.filter(pl.col("_remaining") != 0),
            lambda owed, _a, remaining, future: term_extension_terms(
                owed + future, remaining, policy.term_extension_months, as_of, rate
            ),
        )
    # settlement: a few Decimal steps each, one at a time
    return _one_by_one(
        rows,
        lambda owed, aff, _r, _f: (
            None
            if (s := affordable_settlement(owed, aff, policy.settlement, as_of)) is None
            else OfferTerms.of(s)
        ),
    )


def _holiday_note(policy: OfferPolicy, as_of: date) -> str:
    return payment_holiday(1, as_of, policy.holiday_months).note


def _batch_offers(wanted: pl.DataFrame, policy: OfferPolicy, as_of: date) -> pl.DataFrame:
    """Offer rows (``_OFFER_SCHEMA``) of the accounts ``wanted``, in account then listed order.

    The decisions of :func:`_offers_for` taken for all accounts at once, one offer kind at a
    time: interest-free plans, waivers and term extensions and the payment holidays are
    worked out on arrays; settlements and interest-bearing plans and extensions one at a
    time by the domain's ``*_terms`` functions.
    """
    acc = wanted.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_idx"),
        pl.max_horizontal(pl.col("arrears_minor") - pl.col("amount_over_cap_minor"), 0).alias(
            "_owed"
        ),
        pl.min_horizontal("_aff_low", "_aff_high").alias("_low"),
        pl.max_horizontal("_aff_low", "_aff_high").alias("_high"),
        pl.col("arrears_minor").cast(pl.Int64),
        pl.col("arrears_interest_minor").fill_null(0).cast(pl.Int64).alias("_a_int"),
        pl.col("arrears_fees_minor").fill_null(0).cast(pl.Int64).alias("_a_fees"),
        pl.col("_remaining").cast(pl.Int64),
        pl.col("_future_principal").cast(pl.Int64).alias("_future"),
        "offer_types",
    )
    missing = acc.filter(pl.col("arrears_minor").is_null())
    if missing.height:
        raise ValueError(f"account {wanted['account_id'][missing['_idx'][0]]}: no arrears_minor")
    bad = acc.filter(pl.col("_low") < 0)
    if bad.height:
        Affordability(bad["_low"][0], bad["_high"][0])  # raises PlanError, as one at a time
    requests = (
        acc.select("_idx", pl.col("offer_types").str.split("|").alias("_kind"))
        .with_columns(pl.int_ranges(0, pl.col("_kind").list.len()).alias("_pos"))
        .explode("_kind", "_pos")
        .filter(pl.col("_kind").is_not_null() & (pl.col("_kind") != ""))
        .join(acc.drop("offer_types"), on="_idx", how="left")
    )
    kinds = [OfferType(k) for k in requests["_kind"].unique().sort().to_list()]
    parts = [
        _offers_of_kind(k, requests.filter(pl.col("_kind") == k.value), policy, as_of)
        for k in kinds
    ]
    offers = pl.concat([pl.DataFrame(schema=_OFFER_SCHEMA), *parts])
    # nothing affordable: breathing space and a hardship review, never an unaffordable ask
    bare = acc.filter((pl.col("_owed") > 0) & pl.col("_idx").is_in(offers["_idx"].implode()).not_())
    holiday_note = _holiday_note(policy, as_of)
    fallback = _offer_frame(
        bare.height,
        _idx=bare["_idx"],
        _pos=_FALLBACK_POS,
        offer_type=OfferType.PAYMENT_HOLIDAY.value,
        installments=0,
        _installment=0,
        _last=0,
        _financed=bare["_owed"],
        _discount=0,
        _waived=0,
        holiday_months=policy.holiday_months,
        _first_due=None,
        note=_no_plan_note(policy, holiday_note),
    )
    return pl.concat([offers, fallback]).sort("_idx", "_pos")


def _amount_text(minor: pl.Expr, exponent: pl.Expr) -> pl.Expr:
    """Integer minor units -> :func:`~arrears.domain.money.format_minor` text, per-row exponent.

    (Unlike padding to one width, ``minor % 10**e + 10**e`` without its leading ``1`` gives
    exactly ``e`` digits on every row, whatever the other rows' currencies.)
    """
    scale = pl.lit(10, dtype=pl.Int64).pow(exponent)
    absval = minor.abs()
    whole = (absval // scale).cast(pl.String)
    frac = ((absval % scale) + scale).cast(pl.String).str.slice(1)
    sign = pl.when(minor < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.when(exponent == 0).then(sign + whole).otherwise(sign + whole + pl.lit(".") + frac)


_AMOUNT_COLUMNS = {
    "installment_amount": "_installment",
    "total_cost": "_total",
    "affordability_low": "_low",
    "affordability_high": "_high",
    "max_installment_amount": "_max",
    "amount_owed": "_owed",
    "amount_over_cap": "amount_over_cap_minor",
    "discount": "_discount",
    "waived": "_waived",
    "cost_of_credit": "_cost",
}


def build_offers(
    decided: pl.DataFrame,
    frames: PortfolioFrames,
    as_of: date,
    policy: OfferPolicy,
    limits: LegalLimits,
    affordability: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Offers for every account whose treatment path lists offer types.

    Each offer is worked out in integers by the ``*_terms`` functions of
    :mod:`arrears.domain.plans` (the figures of the exact schedule without building it), the
    APRs in bulk (:func:`_apr_texts`) and the amounts formatted once per column in Polars. The
    result is exactly that of :func:`build_offers_reference` (full schedules, one row at a
    time), which the tests hold it to.

    Parameters
    ----------
    decided : pl.DataFrame
        Output of :func:`arrears.pipeline.plan.choose_treatments` on assessed accounts
        (``account_id, borrower_id, currency, arrears_minor, arrears_interest_minor,
        arrears_fees_minor, strategy_arm, segment, offer_types``); if it carries
        ``affordability_low_minor``/``affordability_high_minor`` (the daily run's
        affordability model, :mod:`arrears.pipeline.affordability`) they are used.
    frames : PortfolioFrames
    as_of : date
        Offer start date (cash-flow time zero); installment 1 falls due a month later.
    policy, limits
        The strategy's offer policy and legal limits.
    affordability : pl.DataFrame, optional
        ``account_id, affordability_low, affordability_high``; default
        :func:`affordability_for`.

    Returns
    -------
    pl.DataFrame
        ``OFFER_COLUMNS``; amounts are decimal strings in major units; ``apr`` in percent a
        year (2 places, empty for a payment holiday); ``total_cost`` the total the borrower
        pays under the offer; ``affordability_check`` ``pass`` when the largest installment is
        within the high estimate. Every account with offer types gets at least one row; the
        offers sized by affordability (plan, settlement, waiver) are only made when they pass.

    Raises
    ------
    arrears.domain.money.MoneyError
        If an account's currency is not a known ISO 4217 code.
    """
    wanted = _offer_accounts(decided, frames, as_of, limits, affordability)
    if wanted.height == 0:
        return pl.DataFrame(schema={c: pl.String() for c in OFFER_COLUMNS})
    exponents = {c: minor_exponent(c) for c in wanted["currency"].unique().to_list()}
    offers = _batch_offers(wanted, policy, as_of)
    if offers.height == 0:
        return pl.DataFrame(schema={c: pl.String() for c in OFFER_COLUMNS})
    per_account = wanted.select(
        "account_id",
        "currency",
        pl.col("currency").replace_strict(exponents, return_dtype=pl.Int64).alias("_exp"),
        pl.col("amount_over_cap_minor").cast(pl.Int64),
        pl.min_horizontal("_aff_low", "_aff_high").alias("_low"),
        pl.max_horizontal("_aff_low", "_aff_high").alias("_high"),
        pl.max_horizontal(pl.col("arrears_minor") - pl.col("amount_over_cap_minor"), 0).alias(
            "_owed"
        ),
        "strategy_arm",
        "segment",
    )
    # OfferTerms' total_paid_minor, max_installment_minor and cost_of_credit_minor, in bulk
    n, first, last = pl.col("installments"), pl.col("_installment"), pl.col("_last")
    df = (
        pl.concat([per_account[offers["_idx"]], offers], how="horizontal")
        .with_columns(
            pl.when(n > 0).then(first * (n - 1) + last).otherwise(0).alias("_total"),
            pl.max_horizontal(first, last).alias("_max"),
            pl.col("_first_due").cast(pl.String).fill_null("").alias("first_due"),
        )
        .with_columns(
            pl.when(n > 0).then(pl.col("_total") - pl.col("_financed")).otherwise(0).alias("_cost")
        )
    )
    apr = np.where(df["installments"].to_numpy() > 0, "0.00", "").astype(object)
    costly = np.flatnonzero(df["_cost"].to_numpy() != 0)
    if costly.size:
        picked = df[costly]
        apr[costly] = _apr_texts(
            [
                OfferTerms(OfferType(t), 0, f, k, i, la, as_of, d)
                for t, f, k, i, la, d in picked.select(
                    "offer_type", "_financed", "installments", "_installment", "_last", "_first_due"
                ).iter_rows()
            ]
        )
    exp = pl.col("_exp")
    return df.with_columns(
        pl.Series("apr", apr.tolist(), dtype=pl.String),
        *(_amount_text(pl.col(src), exp).alias(out) for out, src in _AMOUNT_COLUMNS.items()),
        pl.when(pl.col("_max") <= pl.col("_high"))
        .then(pl.lit("pass"))
        .otherwise(pl.lit("fail"))
        .alias("affordability_check"),
    ).select(OFFER_COLUMNS)


__all__ = [
    "OFFER_COLUMNS",
    "affordability_for",
    "apply_cadence",
    "apr_percent",
    "build_offers",
    "build_offers_reference",
    "cap_exclusions",
]
