"""The daily run: assess, score, choose treatments, plan and check contacts, write outputs.

Outputs in the run folder (a stable contract, documented in ``docs/outputs.md``):
``decisions.csv``, ``contacts.csv``, ``blocked.csv``, ``summary.json`` and ``report.html``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from arrears.adapters.portfolio.schema import PortfolioFrames
from arrears.adapters.portfolio.writer import amount_text
from arrears.domain.agents import Agent
from arrears.domain.compliance.check import HolidayLookup
from arrears.domain.compliance.packs import RulePack
from arrears.domain.delinquency import DEFAULT_BUCKETS, BucketScheme
from arrears.domain.money import MINOR_UNITS
from arrears.domain.strategy import DEFAULT_STRATEGY, NOTHING_DUE, Strategy
from arrears.pipeline.affordability import AFFORDABILITY_COLUMNS, affordability
from arrears.pipeline.assess import assess_portfolio
from arrears.pipeline.capacity import CAPACITY_COLUMNS, assign_agents
from arrears.pipeline.features import ledger_features
from arrears.pipeline.offers import apply_cadence, build_offers
from arrears.pipeline.plan import PLAN_COLUMNS, borrower_flags, choose_treatments, plan_contacts
from arrears.pipeline.report import render_report

STAGES = (
    "assess arrears",
    "score propensity to pay",
    "choose treatments",
    "plan and check contacts",
    "write outputs",
)

DECISION_COLUMNS = [
    "plan_date",
    "account_id",
    "borrower_id",
    "dpd",
    "bucket",
    "amount_due",
    "currency",
    "score",
    "segment",
    "strategy_arm",
    "treatment",
    "reason",
    "model_version",
    "dpd_source",
    # strategy treatment path (issue 5)
    "channels",
    "templates",
    "offer_types",
    "next_contact_on",
    # propensity-to-pay reason codes and affordability (issue 4)
    "reason_1",
    "reason_2",
    "reason_3",
    "affordability_low",
    "affordability_high",
]
REASON_COLUMNS = ("reason_1", "reason_2", "reason_3")


class ScoringModel(Protocol):
    """What the daily run needs of a propensity-to-pay model."""

    @property
    def version(self) -> str:
        """Model version recorded with each score."""
        ...

    def score(self, features: pl.DataFrame) -> pl.Series:
        """Probability of paying, one per row of ``features``, in [0, 1]."""
        ...


# A model may also offer ``reasons(features) -> DataFrame`` with columns ``reason_1..3`` (the
# registered model of arrears.pipeline.modelling does); without it the reason columns are empty.


@dataclass
class DailyResult:
    """What a daily run produced: the output paths and the summary written to summary.json."""

    out_dir: Path
    summary: dict[str, Any]
    decisions: pl.DataFrame = field(repr=False)
    contacts: pl.DataFrame = field(repr=False)
    blocked: pl.DataFrame = field(repr=False)
    offers: pl.DataFrame = field(default_factory=pl.DataFrame, repr=False)


StageHook = Callable[[str], None]


def _noop(_: str) -> None:
    return None


def run_daily(
    frames: PortfolioFrames,
    as_of: date,
    out_dir: Path,
    *,
    packs: Sequence[RulePack],
    is_holiday: HolidayLookup,
    model: ScoringModel,
    input_sha256: str,
    rules_sha256: str = "",
    data_source: str = "",
    strategy: Strategy = DEFAULT_STRATEGY,
    scheme: BucketScheme = DEFAULT_BUCKETS,
    on_stage_done: StageHook = _noop,
    plan_active: frozenset[str] = frozenset(),
    promise_pending: frozenset[str] = frozenset(),
    agents: Sequence[Agent] | None = None,
    capacity_time_limit_s: float = 5.0,
    fallback_model: ScoringModel | None = None,
    gate_contacts: pl.DataFrame | None = None,
    lender_jurisdictions: tuple[str, ...] = (),
) -> DailyResult:
    """Run the day's collection plan for ``frames`` as of ``as_of`` and write it to ``out_dir``.

    Parameters
    ----------
    frames : PortfolioFrames
        The ledger, normalised.
    as_of : date
        Assessment date; also the (borrower-local) day the contacts are planned for.
    out_dir : Path
        Created if absent; the five output files are overwritten.
    packs, is_holiday
        Rule packs and the public-holiday lookup for the compliance check.
    model : ScoringModel
        Propensity-to-pay model.
    input_sha256 : str
        SHA-256 of the input snapshot, recorded in the summary.
    on_stage_done : callable
        Called with each stage name in ``STAGES`` when it finishes (for progress bars).
    strategy : Strategy
        Segments, treatment paths, offer policy and legal limits (``--strategy FILE``).
    plan_active : frozenset of str
        Accounts whose repayment plan is being kept (the strategy's ``plan_active`` flag:
        such accounts are not escalated).
    promise_pending : frozenset of str
        Accounts with a promise to pay made and not yet due (the strategy's
        ``promise_pending`` flag: the shipped strategies do not chase them).
    agents : sequence of Agent, optional
        The agent team for the capacity stage (``--agents FILE``); default a generated team
        sized to the day (:func:`arrears.pipeline.capacity.default_team`).
    capacity_time_limit_s : float
        CP-SAT deterministic time limit for placing calls (greedy above the size limit).
    fallback_model : ScoringModel, optional
        Scores the accounts ``model`` cannot (a model with ``feature_names`` refuses rows
        where one of them is null, e.g. an account with no delinquency history yet); each
        decision row's ``model_version`` names the model that scored it. Without it, such
        accounts make ``model`` raise (``ModelRefused``) and nothing is written.
    gate_contacts : pl.DataFrame, optional
        The contact gate's ledger rows around the day, shaped like ``contact_history``
        (:func:`arrears.adapters.db.gate_repo.gate_contacts_frame`; ``reserved`` rows count
        for every cap). The cadence and the contact check count them with the imported
        history, so the plan leaves out what the gate would now refuse; the scoring features
        read the imported history only.
    lender_jurisdictions : tuple of str
        Where the lender is regulated (``ARREARS_LENDER_JURISDICTIONS``): those packs apply
        to every borrower on top of the borrower's own, as in the gate; recorded in
        summary.json (``lender_jurisdictions``).

    Returns
    -------
    DailyResult
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    assessed = assess_portfolio(
        frames.accounts, frames.installments, frames.payments, as_of, scheme
    )
    on_stage_done(STAGES[0])

    in_arrears = assessed.filter(pl.col("dpd") > 0)
    # Features and affordability are per account or per borrower: compute them on the
    # borrowers with an account in arrears only (a quarter of a typical book), every account
    # of those borrowers kept so per-borrower figures are whole.
    owing = _borrowers_in_arrears(frames, in_arrears)
    feats = ledger_features(
        owing,
        as_of,
        assessed.join(owing.accounts.select("account_id"), on="account_id", how="semi"),
    ).join(in_arrears.select("account_id"), on="account_id", how="semi")
    primary, rest = _split_scorable(model, fallback_model, feats)
    scored = primary.select("account_id").with_columns(
        (model.score(primary) if primary.height else pl.Series([], dtype=pl.Float64)).alias(
            "score"
        ),
        pl.lit(model.version).alias("model_version"),
    )
    if rest.height and fallback_model is not None:
        scored = pl.concat(
            [
                scored,
                rest.select("account_id").with_columns(
                    fallback_model.score(rest).alias("score"),
                    pl.lit(fallback_model.version).alias("model_version"),
                ),
            ]
        )
    # Reason codes (TreeSHAP) are the costliest model call and only the decision rows need
    # them: compute them on a worker thread (LightGBM releases the GIL) while the treatment,
    # contact and offer stages run, and join them in before writing.
    with ThreadPoolExecutor(1, thread_name_prefix="reason-codes") as pool:
        reasons_job = pool.submit(_reasons_of, model, primary, fallback_model, rest)
        result = _decide_and_write(
            frames, owing, as_of, out_dir, assessed, in_arrears, scored, reasons_job,
            packs=packs, is_holiday=is_holiday, model=model, input_sha256=input_sha256,
            rules_sha256=rules_sha256, data_source=data_source, strategy=strategy,
            scheme=scheme, on_stage_done=on_stage_done, plan_active=plan_active,
            promise_pending=promise_pending,
            agents=agents, capacity_time_limit_s=capacity_time_limit_s,
            gate_contacts=gate_contacts, lender_jurisdictions=lender_jurisdictions,
        )  # fmt: skip
    return result


def _borrowers_in_arrears(frames: PortfolioFrames, in_arrears: pl.DataFrame) -> PortfolioFrames:
    """``frames`` cut to the borrowers with an account in ``in_arrears``: all their accounts
    and those accounts' rows (portfolio-level tables are filtered, never changed)."""
    accounts = frames.accounts.join(
        frames.accounts.join(in_arrears.select("account_id"), on="account_id", how="semi")
        .select("borrower_id")
        .unique(),
        on="borrower_id",
        how="semi",
    )
    ids = accounts.select("account_id")

    def of(df: pl.DataFrame) -> pl.DataFrame:
        return df.join(ids, on="account_id", how="semi")

    return PortfolioFrames(
        borrowers=frames.borrowers.join(
            accounts.select("borrower_id").unique(), on="borrower_id", how="semi"
        ),
        accounts=accounts,
        installments=of(frames.installments),
        payments=of(frames.payments),
        statements=of(frames.statements),
        contact_history=frames.contact_history,
        delinquency_history=of(frames.delinquency_history),
    )


def _decide_and_write(
    frames: PortfolioFrames,
    owing: PortfolioFrames,
    as_of: date,
    out_dir: Path,
    assessed: pl.DataFrame,
    in_arrears: pl.DataFrame,
    scored: pl.DataFrame,
    reasons_job: Future[pl.DataFrame],
    *,
    packs: Sequence[RulePack],
    is_holiday: HolidayLookup,
    model: ScoringModel,
    input_sha256: str,
    rules_sha256: str,
    data_source: str,
    strategy: Strategy,
    scheme: BucketScheme,
    on_stage_done: StageHook,
    plan_active: frozenset[str],
    promise_pending: frozenset[str],
    agents: Sequence[Agent] | None,
    capacity_time_limit_s: float,
    gate_contacts: pl.DataFrame | None,
    lender_jurisdictions: tuple[str, ...],
) -> DailyResult:
    """The stages after scoring (see :func:`run_daily`); ``owing`` is ``frames`` cut to the
    borrowers in arrears; ``reasons_job`` yields the reason codes (``account_id,
    reason_1..3``) and is waited for just before decisions.csv."""
    afford = affordability(owing, as_of).rename({c: f"{c}_minor" for c in AFFORDABILITY_COLUMNS})
    on_stage_done(STAGES[1])

    base = (
        in_arrears.join(
            frames.accounts.select("account_id", "borrower_id", "currency", "balance_minor"),
            on="account_id",
        )
        .join(scored, on="account_id", how="left")
        .join(afford, on="account_id", how="left")
        .join(borrower_flags(frames.borrowers, lender_jurisdictions), on="borrower_id", how="left")
        .with_columns(
            pl.col("account_id").is_in(list(plan_active)).alias("plan_active"),
            pl.col("account_id").is_in(list(promise_pending)).alias("promise_pending"),
        )
    )
    history = frames.contact_history
    if gate_contacts is not None and gate_contacts.height:
        history = pl.concat([history, gate_contacts.select(history.columns)], how="vertical")
    decided = apply_cadence(choose_treatments(base, strategy), history, as_of)
    decided = decided.with_columns(
        pl.lit(as_of).alias("plan_date"),
        # empty when the amount is unknown (a reported DPD without a reported amount)
        pl.when(pl.col("amount_known"))
        .then(
            amount_text(
                pl.col("arrears_minor"),
                pl.col("currency").replace_strict(MINOR_UNITS, default=2, return_dtype=pl.Int64),
            )
        )
        .alias("amount_due"),
        *(
            amount_text(
                pl.col(f"{c}_minor"),
                pl.col("currency").replace_strict(MINOR_UNITS, default=2, return_dtype=pl.Int64),
            ).alias(c)
            for c in AFFORDABILITY_COLUMNS
        ),
    ).sort("account_id")
    on_stage_done(STAGES[2])

    contacts, blocked = plan_contacts(
        decided, frames.borrowers, history, as_of, packs, is_holiday, lender_jurisdictions
    )
    contacts, placement = assign_agents(
        contacts, decided, frames.borrowers, as_of, agents, time_limit_s=capacity_time_limit_s
    )
    on_stage_done(STAGES[3])

    decided = decided.join(reasons_job.result(), on="account_id", how="left")
    decisions_out = decided.select(DECISION_COLUMNS).with_columns(pl.col("score").round(4))
    contacts_out = contacts.select(*PLAN_COLUMNS, *CAPACITY_COLUMNS).with_columns(
        pl.col("score").round(4)
    )
    blocked_out = blocked.with_columns(pl.col("score").round(4))
    decisions_out.write_csv(out_dir / "decisions.csv")
    offers_out = build_offers(decided, frames, as_of, strategy.offers, strategy.limits)
    offers_out.write_csv(out_dir / "offers.csv")
    contacts_out.write_csv(out_dir / "contacts.csv")
    blocked_out.write_csv(out_dir / "blocked.csv")

    summary = _summary(
        frames=frames,
        assessed=assessed,
        decided=decided,
        contacts=contacts_out,
        blocked=blocked_out,
        as_of=as_of,
        model=model,
        packs=packs,
        input_sha256=input_sha256,
        rules_sha256=rules_sha256,
        strategy=strategy,
        scheme=scheme,
        data_source=data_source,
    )
    summary["lender_jurisdictions"] = list(lender_jurisdictions)
    summary["offers"] = _offer_summary(offers_out)
    summary["capacity"] = placement.summary()
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    (out_dir / "report.html").write_text(
        render_report(summary, decided["score"].drop_nulls().to_list()), encoding="utf-8"
    )
    on_stage_done(STAGES[4])
    return DailyResult(out_dir, summary, decisions_out, contacts_out, blocked_out, offers_out)


def _split_scorable(
    model: ScoringModel, fallback: ScoringModel | None, feats: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows ``model`` can score, rows left for ``fallback``): with a fallback, rows where a
    feature of ``model.feature_names`` is null go to it; without one, every row stays."""
    needed = [c for c in getattr(model, "feature_names", ()) if c in feats.columns]
    if fallback is None or not needed:
        return feats, feats.clear()
    complete = pl.all_horizontal(pl.col(c).is_not_null() for c in needed)
    return feats.filter(complete), feats.filter(~complete)


def _reasons_of(
    model: ScoringModel,
    primary: pl.DataFrame,
    fallback: ScoringModel | None,
    rest: pl.DataFrame,
) -> pl.DataFrame:
    """Reason codes of the rows each model scored (see :func:`_reason_frame`)."""
    parts = [_reason_frame(m, f) for m, f in ((model, primary), (fallback, rest)) if f.height and m]
    if not parts:
        schema = {"account_id": pl.String(), **dict.fromkeys(REASON_COLUMNS, pl.String())}
        return pl.DataFrame(schema=schema)
    return pl.concat(parts)


def _reason_frame(model: ScoringModel, feats: pl.DataFrame) -> pl.DataFrame:
    """``account_id, reason_1..3`` of each row of ``feats``: the model's reason codes, or empty
    text without them."""
    explain = getattr(model, "reasons", None)
    if explain is None:
        return feats.select("account_id", *(pl.lit("").alias(c) for c in REASON_COLUMNS))
    reasons: pl.DataFrame = explain(feats)
    return pl.concat([feats.select("account_id"), reasons.select(REASON_COLUMNS)], how="horizontal")


def _offer_summary(offers: pl.DataFrame) -> dict[str, Any]:
    """Offers written to offers.csv: counts by type, accounts offered, over-cap accounts."""
    if offers.height == 0:
        return {"rows": 0, "accounts": 0, "by_type": {}, "accounts_over_cap": 0}
    over = offers.filter(pl.col("amount_over_cap").str.replace_all(r"[0.]", "") != "")
    return {
        "rows": offers.height,
        "accounts": offers["account_id"].n_unique(),
        "by_type": _counts(offers, "offer_type"),
        "accounts_over_cap": over["account_id"].n_unique(),
    }


def _counts(df: pl.DataFrame, col: str, order: Sequence[str] | None = None) -> dict[str, int]:
    got = dict(df.group_by(col).len().sort(col).iter_rows())
    if order is None:
        return {str(k): int(v) for k, v in got.items()}
    return {k: int(got.get(k, 0)) for k in order}


#: A plan date more than this many days after the newest dated record of the ledger is flagged
#: stale: DPD and amounts then assume that nothing was paid since (monthly data is up to 31
#: days apart, hence the margin).
STALE_AFTER_DAYS = 35


def data_freshness(frames: PortfolioFrames, as_of: date) -> dict[str, Any]:
    """How old the ledger's evidence is on the plan date.

    The newest record on or before ``as_of`` among payments (``paid_on``), statements
    (``statement_date``) and delinquency cycles (``cycle_date``): what says what is owed.
    Contact history is left out: a recent call must not hide a payments feed that stopped.
    Returns ``{"newest_record": ISO date or None,
    "days_before_plan": int or None, "stale": bool}``; ``stale`` is true when the gap exceeds
    :data:`STALE_AFTER_DAYS` or there is no dated record at all.
    """
    dates = [
        frames.payments["paid_on"],
        frames.statements["statement_date"],
        frames.delinquency_history["cycle_date"],
    ]
    newest = max(
        (v for v in (d.filter(d <= as_of).max() for d in dates) if v is not None),
        default=None,
    )
    if newest is None:
        return {"newest_record": None, "days_before_plan": None, "stale": True}
    assert isinstance(newest, date)
    gap = (as_of - newest).days
    return {
        "newest_record": newest.isoformat(),
        "days_before_plan": gap,
        "stale": gap > STALE_AFTER_DAYS,
    }


def _summary(
    *,
    frames: PortfolioFrames,
    assessed: pl.DataFrame,
    decided: pl.DataFrame,
    contacts: pl.DataFrame,
    blocked: pl.DataFrame,
    as_of: date,
    model: ScoringModel,
    packs: Sequence[RulePack],
    input_sha256: str,
    rules_sha256: str,
    strategy: Strategy,
    scheme: BucketScheme,
    data_source: str,
) -> dict[str, Any]:
    amounts = (
        decided.group_by("currency")
        .agg(pl.col("arrears_minor").sum())
        .sort("currency")
        .with_columns(
            amount_text(
                pl.col("arrears_minor"),
                pl.col("currency").replace_strict(MINOR_UNITS, default=2, return_dtype=pl.Int64),
            ).alias("text")
        )
    )
    blocked_by_rule: dict[str, int] = {}
    if blocked.height:
        exploded = blocked.select(pl.col("rule_ids").str.split("|")).explode("rule_ids")
        blocked_by_rule = _counts(exploded, "rule_ids")
    return {
        "plan_date": as_of.isoformat(),
        "data_source": data_source,
        "input_sha256": input_sha256,
        "accounts_total": frames.accounts.height,
        "borrowers_total": frames.borrowers.height,
        "accounts_in_arrears": decided.height,
        "accounts_by_bucket": _counts(assessed, "bucket", scheme.names),
        "arrears_amount": dict(amounts.select("currency", "text").iter_rows()),
        "arrears_amount_minor": {
            c: int(v) for c, v in amounts.select("currency", "arrears_minor").iter_rows()
        },
        "accounts_nothing_due": int((decided["segment"] == NOTHING_DUE.name).sum()),
        "data_freshness": data_freshness(frames, as_of),
        "decisions_by_treatment": _counts(decided, "treatment"),
        "decisions_by_arm": _counts(decided, "strategy_arm"),
        "decisions_by_segment": _counts(decided, "segment"),
        "contacts_planned": contacts.height,
        "contacts_by_channel": _counts(contacts, "channel") if contacts.height else {},
        "contacts_blocked": blocked.height,
        "blocked_by_rule": blocked_by_rule,
        "model": {
            "version": model.version,
            "accounts_by_model": _counts(decided, "model_version") if decided.height else {},
        },
        "rule_packs": [p.ref for p in packs],
        "rule_packs_sha256": rules_sha256,
        "strategy": strategy.name,
        "bucket_scheme": [[b.name, b.low, b.high] for b in scheme.buckets],
    }
