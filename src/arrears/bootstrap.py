"""Composition root: wires settings, storage, rule packs and models into the use cases.

The CLI (and later the web app) call these functions; nothing else builds engines or reads
settings.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TypeVar

import polars as pl
from sqlalchemy.engine import Connection, Engine

from arrears.adapters.agents_file import load_agents
from arrears.adapters.clock import SystemClock
from arrears.adapters.db import commitments as commitment_db
from arrears.adapters.db import decisions as decision_log
from arrears.adapters.db import gate_repo, ledger
from arrears.adapters.db.commitments import CommitmentRow, HistoryEntry, SqlCommitmentRepository
from arrears.adapters.db.engine import create_engine
from arrears.adapters.db.gate_repo import SqlGateUnitOfWork
from arrears.adapters.db.migrate import upgrade_to_head
from arrears.adapters.offers_file import OfferFileError, read_offer
from arrears.adapters.packhistory import load_pack_ref, substitute
from arrears.adapters.portfolio.reader import portfolio_sha256, read_portfolio
from arrears.adapters.portfolio.schema import PortfolioFrames
from arrears.adapters.portfolio.synthetic import generate_portfolio
from arrears.adapters.portfolio.uci import UCI_AS_OF, load_uci
from arrears.adapters.portfolio.uci_history import uci_status_history
from arrears.adapters.portfolio.writer import write_portfolio
from arrears.adapters.rulepacks import is_public_holiday, load_packs, packs_digest
from arrears.adapters.strategy_file import DEFAULT_STRATEGY_FILE, load_strategy
from arrears.config import Settings
from arrears.domain.agents import Agent
from arrears.domain.audit import AUDIT_CHAINS, AuditEntry, ChainReport, verify_chain
from arrears.domain.compliance.engine import (
    Attempt,
    BorrowerState,
    Decision,
    PastContact,
    applicable_packs,
)
from arrears.domain.compliance.packs import CHANNELS, RulePack, RulePackError
from arrears.domain.compliance.records import DutyRow, RecordingRegister, recording_duty
from arrears.domain.compliance.records import recording_register as build_register
from arrears.domain.money import MoneyError, format_minor, parse_minor
from arrears.domain.plans import (
    DEFAULT_OFFER_POLICY,
    CommitmentStatus,
    OfferPolicy,
    OfferType,
    PlanError,
    PromiseToPay,
    RepaymentPlan,
    ScheduledPayment,
    installment_schedule,
)
from arrears.domain.ports import Clock
from arrears.domain.strategy import Strategy
from arrears.pipeline.arms_report import ArmsReport, arms_report
from arrears.pipeline.assess import assess_portfolio as sim_assess
from arrears.pipeline.daily import DailyResult, run_daily
from arrears.pipeline.modelling.monitoring import MonitorReport
from arrears.pipeline.modelling.registered import load_registered_model
from arrears.pipeline.modelling.train import Evaluation
from arrears.pipeline.portfolio_report import (
    PortfolioReport,
    ledger_as_of,
    portfolio_report,
    write_portfolio_report,
)
from arrears.pipeline.ptp_model import load_default_model
from arrears.pipeline.sim_report import write_comparison
from arrears.pipeline.simulate import Comparison, SimPortfolio, compare, portfolio_from_frames
from arrears.services.commitments import CommitmentEvent, CommitmentTracker
from arrears.services.gate import (
    DEFAULT_LOOKBACK,
    ContactGate,
    GateResult,
    attempt_from_dict,
    borrower_from_dict,
    is_unreachable,
)
from arrears.services.replay import ReplayReport, record_replay, replay_decisions

UCI_SOURCE_NOTE = (
    "UCI Machine Learning Repository dataset #350, 'default of credit card clients' "
    "(Yeh and Lien 2009, doi 10.24432/C55S3H, CC BY 4.0)"
)
DEMO_SYNTHETIC_ACCOUNTS = 30_000


@dataclass(frozen=True)
class ImportOutcome:
    """What an import did: the batch id, whether it was already imported, rows per table."""

    source: str
    sha256: str
    batch_id: int
    already_imported: bool
    counts: dict[str, int]


def open_ledger(url: str) -> Engine:
    """Create the engine for ``url`` and bring its schema to the latest migration."""
    upgrade_to_head(url)
    return create_engine(url)


def file_sha256(path: Path) -> str:
    """SHA-256 of one file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def import_frames_into(
    url: str, frames: PortfolioFrames, sha256: str, source: str, clock: Clock
) -> ImportOutcome:
    """Import normalised frames in one transaction (all or nothing)."""
    engine = open_ledger(url)
    try:
        with engine.begin() as conn:
            res = ledger.import_frames(
                conn, frames, sha256=sha256, source=source, imported_at=clock.now()
            )
    finally:
        engine.dispose()
    return ImportOutcome(source, sha256, res.batch_id, res.already_imported, res.counts)


def import_portfolio(
    settings: Settings, folder: Path, encoding: str | None = None, clock: Clock | None = None
) -> ImportOutcome:
    """Validate and import a canonical portfolio folder.

    Raises
    ------
    arrears.adapters.portfolio.errors.PortfolioInvalid
        With every bad row; nothing is imported.
    """
    frames = read_portfolio(folder, encoding=encoding)
    sha = portfolio_sha256(folder)
    return import_frames_into(
        settings.database_url, frames, sha, str(folder), clock or SystemClock()
    )


def load_rule_packs(settings: Settings) -> tuple[list[RulePack], str]:
    """Load the rule packs and their digest.

    Raises
    ------
    RulePackError
        For a bad pack, or a lender jurisdiction (``ARREARS_LENDER_JURISDICTIONS``) that no
        pack covers: its rules would silently not apply.
    """
    packs = load_packs(settings.rules_dir)
    for code in settings.lender_codes:
        if not any(not p.is_global and p.applies(code) for p in packs):
            covered = sorted({j for p in packs if not p.is_global for j in p.applies_to})
            raise RulePackError(
                "ARREARS_LENDER_JURISDICTIONS",
                "",
                code,
                f"no rule pack in {settings.rules_dir} covers lender jurisdiction {code!r} "
                f"(packs cover {', '.join(covered)})",
            )
    return packs, packs_digest(settings.rules_dir)


def run_daily_from_ledger(
    settings: Settings,
    as_of: date,
    out_dir: Path,
    *,
    data_source: str = "",
    on_stage_done: Callable[[str], None] = lambda _s: None,
    clock: Clock | None = None,
    strategy_file: Path | None = None,
    agents_file: Path | None = None,
) -> DailyResult:
    """Run the daily job on the ledger at ``settings.database_url`` and record the run.

    ``agents_file`` is the agent team (``agents.csv``/``.yaml``, see docs/outputs.md); without
    it the capacity stage uses a generated team sized to the day. Raises AgentFileError for a
    bad team file.

    ``strategy_file`` is a strategy YAML (default ``strategies/default.yaml``); the day's
    decisions are recorded in the ledger's decision log (table ``decisions``).

    Promises to pay and repayment plans are reviewed as of ``as_of`` first (their own
    transaction, with the strategy's grace periods); the accounts whose plan is being kept are
    passed to the run as ``plan_active`` (docs/commitments.md).

    Raises
    ------
    LookupError
        If the ledger holds no imported portfolio.
    RulePackError
        If a rule pack is invalid.
    StrategyInvalid
        If the strategy file is invalid (or uses a channel a portfolio jurisdiction forbids).
    """
    clock = clock or SystemClock()
    packs, rules_sha = load_rule_packs(settings)
    agents = load_agents(agents_file) if agents_file is not None else None
    model = load_registered_model()
    engine = open_ledger(settings.database_url)
    try:
        started = clock.now()
        with engine.connect() as conn:
            # load first, outside any transaction, so SQLite takes the fast read path
            frames = ledger.load_frames(conn)
        with engine.connect() as conn:
            batch = ledger.last_import(conn)
            # what the gate has reserved or recorded around the day counts in the plan too,
            # in the gate's own lookback both ways (rolling caps count later reservations)
            day0 = datetime.combine(as_of, time(0), UTC)
            gate_contacts = gate_repo.gate_contacts_frame(
                conn, day0 - DEFAULT_LOOKBACK, day0 + timedelta(days=2) + DEFAULT_LOOKBACK
            )
        if batch is None:
            raise LookupError("the ledger is empty: import a portfolio first (arrears import DIR)")
        strategy = load_strategy_for(frames, strategy_file)
        # promises and plans reviewed as of the run date; a kept plan is never escalated
        plan_active, promise_pending = review_for_daily(engine, as_of, strategy.offers, clock)
        result = run_daily(
            frames,
            as_of,
            out_dir,
            packs=packs,
            is_holiday=is_public_holiday,
            model=model,
            input_sha256=batch.sha256,
            rules_sha256=rules_sha,
            data_source=data_source or f"ledger import of {batch.source}",
            on_stage_done=on_stage_done,
            strategy=strategy,
            agents=agents,
            plan_active=plan_active,
            promise_pending=promise_pending,
            # accounts the registered model cannot score (no delinquency history yet) get the
            # first, logistic model; each decision row names the model that scored it
            fallback_model=load_default_model(),
            gate_contacts=gate_contacts,
            lender_jurisdictions=settings.lender_codes,
        )
        s = result.summary
        with engine.begin() as conn:
            decision_log.record_decisions(
                conn, as_of, decision_log_rows(result.decisions, strategy.name)
            )
            ledger.record_daily_run(
                conn,
                plan_date=as_of,
                started_at=started,
                finished_at=clock.now(),
                input_sha256=batch.sha256,
                counts={
                    "accounts": s["accounts_total"],
                    "in_arrears": s["accounts_in_arrears"],
                    "contacts": s["contacts_planned"],
                    "blocked": s["contacts_blocked"],
                },
                out_dir=str(out_dir),
            )
    finally:
        engine.dispose()
    return result


@dataclass(frozen=True)
class DemoPlan:
    """What the demo is about to run on."""

    real_data: bool
    message: str
    as_of: date


def run_demo(
    settings: Settings,
    out_dir: Path,
    *,
    say: Callable[[str], None],
    on_stage_done: Callable[[str], None] = lambda _s: None,
    clock: Clock | None = None,
    strategy_file: Path | None = None,
) -> DailyResult:
    """Import the UCI portfolio (or, if absent, a generated one) into a fresh SQLite ledger
    in ``out_dir`` and run the daily job on it.
    """
    clock = clock or SystemClock()
    out_dir.mkdir(parents=True, exist_ok=True)
    db_path = out_dir / "arrears-demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    demo_settings = settings.model_copy(update={"database_url": f"sqlite:///{db_path}"})
    uci = settings.uci_path
    if uci.is_file():
        say(f"Real data: {uci} ({UCI_SOURCE_NOTE}), as of {UCI_AS_OF}.")
        frames = load_uci(uci)
        sha, source, as_of = file_sha256(uci), str(uci), UCI_AS_OF
        note = f"30,000 real Taiwanese card accounts from {UCI_SOURCE_NOTE}"
    else:
        as_of = clock.now().date()
        say(
            f"The real data file was not found at {uci}. It comes from {UCI_SOURCE_NOTE}; "
            f"set ARREARS_DATA_DIR to the folder holding uci_taiwan_credit_default.csv. "
            f"Running on a GENERATED portfolio of {DEMO_SYNTHETIC_ACCOUNTS:,} accounts instead."
        )
        frames = generate_portfolio(DEMO_SYNTHETIC_ACCOUNTS, as_of, seed=7)
        sha = hashlib.sha256(f"synthetic:{DEMO_SYNTHETIC_ACCOUNTS}:7:{as_of}".encode()).hexdigest()
        source = f"generated portfolio ({DEMO_SYNTHETIC_ACCOUNTS} accounts, seed 7)"
        note = f"GENERATED portfolio, not real data: {source}"
    outcome = import_frames_into(demo_settings.database_url, frames, sha, source, clock)
    say(
        f"Imported {outcome.counts.get('accounts', 0):,} accounts into {db_path} "
        f"(batch {outcome.batch_id})."
    )
    return run_daily_from_ledger(
        demo_settings,
        as_of,
        out_dir,
        data_source=note,
        on_stage_done=on_stage_done,
        clock=clock,
        strategy_file=strategy_file,
    )


def generate_to_folder(
    n_accounts: int, out_dir: Path, *, seed: int, as_of: date, fmt: str
) -> list[Path]:
    """Generate a synthetic portfolio and write it as a canonical folder."""
    frames = generate_portfolio(n_accounts, as_of, seed=seed)
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"unknown format {fmt!r}: use csv or parquet")
    return write_portfolio(frames, out_dir, "csv" if fmt == "csv" else "parquet")


# ============================================================================================
# Contact gate, audit log, explain and replay (issue 3). Wiring for `arrears contact ...`,
# `arrears explain`, `arrears audit verify` and `arrears replay`.
# ============================================================================================


@dataclass
class GateHandle:
    """An open gate: the service, its engine and the packs. Close it with :meth:`close`."""

    engine: Engine
    gate: ContactGate
    packs: list[RulePack]
    clock: Clock
    #: Where the lender is regulated (``ARREARS_LENDER_JURISDICTIONS``): part of every
    #: borrower's state, so those packs apply to every contact.
    lender_jurisdictions: tuple[str, ...] = ()

    def uow(self) -> SqlGateUnitOfWork:
        """A fresh unit of work on the gate's engine."""
        return SqlGateUnitOfWork(self.engine)

    def close(self) -> None:
        """Dispose of the engine."""
        self.engine.dispose()

    def __enter__(self) -> GateHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_gate(
    settings: Settings, clock: Clock | None = None, packs: list[RulePack] | None = None
) -> GateHandle:
    """Migrate the ledger, load the packs and build the :class:`ContactGate`.

    Raises
    ------
    RulePackError
        If a rule pack is invalid.
    """
    clock = clock or SystemClock()
    if packs is None:
        packs, _ = load_rule_packs(settings)
    engine = open_ledger(settings.database_url)
    gate = ContactGate(lambda: SqlGateUnitOfWork(engine), packs, is_public_holiday, clock)
    return GateHandle(engine, gate, packs, clock, settings.lender_codes)


def borrower_state(
    handle: GateHandle, borrower_id: str, at: datetime
) -> tuple[BorrowerState, list[PastContact]]:
    """The borrower's state (from the ``borrowers`` row and the handle's lender
    jurisdictions) and history around ``at``.

    ``unreachable`` is derived from the history (:func:`arrears.services.gate.is_unreachable`).

    Raises
    ------
    LookupError
        If the ledger has no such borrower.
    """
    history = handle.gate.history(borrower_id, at)
    with handle.engine.connect() as conn:
        state = gate_repo.load_borrower_state(
            conn,
            borrower_id,
            unreachable=is_unreachable([h for h in history if h.at <= at]),
            lender_jurisdictions=handle.lender_jurisdictions,
        )
    if state is None:
        with handle.engine.connect() as conn:
            some = gate_repo.some_borrower_ids(conn, 3)
        hint = (
            f"ids there look like {', '.join(repr(b) for b in some)}"
            if some
            else "it is empty: import a portfolio first"
        )
        raise LookupError(f"no borrower {borrower_id!r} in the ledger ({hint})")
    return state, history


def gate_attempt(handle: GateHandle, attempt: Attempt) -> GateResult:
    """Make one gated attempt for a borrower of the ledger.

    Raises
    ------
    LookupError
        If the borrower is not in the ledger, or the account given is not one of theirs.
    """
    state, _ = borrower_state(handle, attempt.borrower_id, attempt.at)
    if attempt.account_id is not None:
        with handle.engine.connect() as conn:
            owner = gate_repo.account_owner(conn, attempt.account_id)
        if owner != attempt.borrower_id:
            # a per-debt cap counts by account: a wrong account would dodge it
            where = "not in the ledger" if owner is None else f"borrower {owner!r}'s"
            raise LookupError(
                f"account {attempt.account_id!r} is {where}, not an account of borrower "
                f"{attempt.borrower_id!r}"
            )
    return handle.gate.attempt(attempt, state)


def explain_borrower(
    handle: GateHandle,
    borrower_id: str,
    at: datetime,
    channels: tuple[str, ...] = CHANNELS,
    purpose: str = "collection",
) -> tuple[BorrowerState, list[tuple[str, Decision]]]:
    """What the gate would answer now for a contact with the borrower for ``purpose``, channel
    by channel (nothing is reserved or audited).

    Raises
    ------
    LookupError
        If the borrower is not in the ledger.
    ValueError
        For a purpose the engine does not know.
    """
    state, history = borrower_state(handle, borrower_id, at)
    answers = [
        (
            c,
            handle.gate.explain(Attempt(borrower_id, None, c, at, purpose=purpose), state, history),
        )
        for c in channels
    ]
    return state, answers


def consent_is_taken(handle: GateHandle, state: BorrowerState) -> bool:
    """Whether a rule of the borrower's packs lets agreed hours replace its window
    (``consent_overrides``: CN.HOURS.NIGHT); elsewhere recorded consent hours change nothing."""
    return any(r.consent_overrides for p in applicable_packs(state, handle.packs) for r in p.rules)


def recording_register(settings: Settings, as_of: datetime) -> RecordingRegister:
    """The ledger's recording duties on ``as_of`` (``arrears audit recordings``).

    The duties stored on the rows, plus those found, with the packs loaded now, from the
    decision's audit entry of each row that carries none (a contact reserved before migration
    0009, or the value removed from the row: the audit entry is hash-chained).

    Raises
    ------
    RulePackError
        If a rule pack is invalid.
    """
    packs, _ = load_rule_packs(settings)
    channels = sorted(
        {c for p in packs for r in p.rules if r.type == "record_keeping" for c in r.channels}
    )
    engine = open_ledger(settings.database_url)
    try:
        with engine.connect() as conn:
            rows = [
                DutyRow(
                    r["id"], r["borrower_id"], r["channel"], r["attempt_at"], r["status"],
                    r["outcome"], r["keep_recording_until"], r["recording_ref"],
                )
                for r in gate_repo.recording_rows(conn)
            ]  # fmt: skip
            for r in gate_repo.unstamped_decisions(conn, channels):
                data = json.loads(r["payload"])
                attempt = attempt_from_dict(data["attempt"])
                duty = recording_duty(attempt, borrower_from_dict(data["borrower"]), packs)
                if duty is not None:
                    rows.append(
                        DutyRow(
                            r["id"], attempt.borrower_id, attempt.channel, attempt.at,
                            r["status"], r["outcome"], duty.keep_until, r["recording_ref"],
                            stored=False,
                        )
                    )  # fmt: skip
    finally:
        engine.dispose()
    return build_register(sorted(rows, key=lambda d: d.reservation_id), as_of)


def verify_audit(settings: Settings, anchors: dict[int, str] | None = None) -> ChainReport:
    """Recompute the audit chain of the ledger at ``settings.database_url``."""
    engine = open_ledger(settings.database_url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":  # heads and entries from one snapshot
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():  # SQLite: one read transaction, one snapshot too
                log = gate_repo.SqlAuditLog(conn)
                heads = log.heads()
                return verify_chain(log.entries(), heads, anchors, chains=AUDIT_CHAINS)
    finally:
        engine.dispose()


def replay_period(
    settings: Settings,
    start: date,
    end: date,
    refs: list[str],
    clock: Clock | None = None,
    record: bool = True,
) -> ReplayReport:
    """Re-judge the recorded decisions of ``start`` .. ``end`` with packs ``refs`` swapped in.

    Raises
    ------
    ValueError
        For a malformed pack reference or an empty period.
    RulePackError
        For a pack version that is not kept, or an invalid pack.
    """
    current, _ = load_rule_packs(settings)
    replacements = [load_pack_ref(settings.rules_dir, r) for r in refs]
    packs = substitute(current, replacements)
    with open_gate(settings, clock, packs) as handle:
        lookback = DEFAULT_LOOKBACK
        with handle.engine.connect() as conn:

            def as_of(entry: AuditEntry, attempt: Attempt) -> list[PastContact]:
                return gate_repo.history_as_of(
                    conn,
                    attempt.borrower_id,
                    attempt.at - lookback,
                    attempt.at + lookback,
                    before_seq=entry.seq,
                    as_of=entry.at,
                )

            entries = list(gate_repo.SqlAuditLog(conn).entries())
            report = replay_decisions(entries, start, end, packs, is_public_holiday, as_of)
        if record:
            report = record_replay(report, handle.uow, handle.clock)
    return report


# ============================================================================================
# Strategy files, decision log and the champion/challenger report (issue 5, part A).
# Wiring for `arrears daily/demo --strategy FILE` and `arrears report arms`.
# ============================================================================================


def load_strategy_for(frames: PortfolioFrames, strategy_file: Path | None = None) -> Strategy:
    """Load and validate a strategy file for a portfolio (default ``strategies/default.yaml``).

    The channels of every treatment path are checked against the jurisdictions of the
    portfolio's borrowers (:data:`DEFAULT_FORBIDDEN_CHANNELS`).

    Raises
    ------
    StrategyInvalid
        With every problem found (file, line, segment, field, reason).
    """
    path = strategy_file or DEFAULT_STRATEGY_FILE
    jurisdictions = frames.borrowers["jurisdiction"].unique().to_list()
    return load_strategy(path, jurisdictions=[j for j in jurisdictions if j])


def decision_log_rows(decisions_out: pl.DataFrame, strategy_name: str) -> pl.DataFrame:
    """Rows for the decision log from ``decisions.csv`` columns (``amount_due`` text ->
    ``arrears_minor``: the text has exactly the currency's decimals, so removing the point
    gives minor units; an unknown amount, empty in decisions.csv, is logged as 0, as the
    daily summary counts it)."""
    return decisions_out.select(
        "plan_date",
        "account_id",
        "borrower_id",
        pl.lit(strategy_name).alias("strategy"),
        "strategy_arm",
        "segment",
        "treatment",
        "bucket",
        "dpd",
        pl.col("amount_due")
        .str.replace(".", "", literal=True)
        .cast(pl.Int64)
        .fill_null(0)
        .alias("arrears_minor"),
        "currency",
        pl.col("score").cast(pl.Float64),
    )


def arms_report_from_ledger(settings: Settings, date_from: date, date_to: date) -> ArmsReport:
    """Compare strategy arms over ``[date_from, date_to]`` from the ledger's decision log.

    Raises
    ------
    ValueError
        If ``date_from > date_to``.
    LookupError
        If the decision log has no decision in the window.
    """
    engine = open_ledger(settings.database_url)
    try:
        with engine.connect() as conn:
            frames = ledger.load_frames(conn, tables=("payments", "contact_history"))
        with engine.connect() as conn:
            log = decision_log.load_decisions(conn, date_from, date_to)
    finally:
        engine.dispose()
    if log.height == 0:
        raise LookupError(
            f"no decisions recorded between {date_from} and {date_to}: run `arrears daily` first"
        )
    return arms_report(log, frames.payments, frames.contact_history, date_from, date_to)


# --------------------------------------------------------------------------------------------
# Propensity-to-pay models (issue 4): train, evaluate, explain, monitor
# --------------------------------------------------------------------------------------------


def model_store_dir(store: Path | None = None) -> Path:
    """The model store to use: ``store`` or the one shipped in ``arrears/models``."""
    from arrears.pipeline.modelling.registered import default_store

    return store or default_store()


def evaluate_models(settings: Settings, *, seed: int = 2005, fast: bool = False) -> Evaluation:
    """Fit and measure the three models on the UCI file (held-out and out-of-time).

    ``fast`` uses a small LightGBM and 2 calibration folds (a smoke run, not the shipped model).

    Raises
    ------
    FileNotFoundError, UCIFormatError
        If the UCI file is absent or malformed.
    """
    from arrears.pipeline.modelling.data import load_uci_modelling_data
    from arrears.pipeline.modelling.models import FAST_GBM, GbmParams
    from arrears.pipeline.modelling.train import evaluate_uci

    data = load_uci_modelling_data(settings.uci_path)
    if fast:
        return evaluate_uci(data, seed=seed, gbm=FAST_GBM, folds=2)
    return evaluate_uci(data, seed=seed, gbm=GbmParams())


def train_and_register(
    settings: Settings,
    *,
    store: Path | None = None,
    version: str | None = None,
    seed: int = 2005,
    overwrite: bool = False,
    clock: Clock | None = None,
) -> tuple[Evaluation, Path]:
    """Evaluate the models on the UCI file and register the held-out LightGBM in ``store``.

    Raises
    ------
    arrears.adapters.model_store.ModelStoreError
        If the version exists and ``overwrite`` is false.
    """
    from arrears.pipeline.modelling.train import REGISTERED_VERSION, register

    evaluation = evaluate_models(settings, seed=seed)
    today = (clock or SystemClock()).now().date()
    folder = register(
        evaluation,
        model_store_dir(store),
        version=version or REGISTERED_VERSION,
        trained_on=today,
        source=settings.uci_path.name,
        overwrite=overwrite,
    )
    return evaluation, folder


@dataclass(frozen=True)
class Snapshot:
    """A scored portfolio snapshot: features + ``score`` of the accounts with full features."""

    label: str
    as_of: date
    scored: pl.DataFrame
    outcome: pl.Series | None
    dropped: int


def _snapshot_frames(path: Path, as_of: date | None) -> tuple[PortfolioFrames, date, pl.DataFrame]:
    """Frames, as-of date and assessment of a UCI file (rewound to ``as_of``) or a folder."""
    from arrears.pipeline.assess import assess_portfolio
    from arrears.pipeline.modelling.data import reported_assessment, rewind_reported

    if path.is_file():
        frames = load_uci(path)
        day = as_of or UCI_AS_OF
        if day != UCI_AS_OF:
            frames = rewind_reported(frames, day)
        return frames, day, reported_assessment(frames)
    if as_of is None:
        raise ValueError(
            f"{path}: a portfolio folder needs its as-of date (--old-as-of/--new-as-of)"
        )
    frames = read_portfolio(path)
    assessed = assess_portfolio(frames.accounts, frames.installments, frames.payments, as_of)
    return frames, as_of, assessed


def _uci_outcome(path: Path, as_of: date, ids: pl.Series) -> pl.Series | None:
    """1 = paid at the next cycle, for a UCI snapshot (October label after September)."""
    from arrears.adapters.portfolio.uci import uci_labels

    if not path.is_file():
        return None
    labels = uci_labels(path)
    if as_of == UCI_AS_OF:
        y = labels.select("account_id", (1 - pl.col("default_next_month")).alias("y"))
    else:
        hist = load_uci(path).delinquency_history
        later = hist.filter(pl.col("cycle_date") > as_of)
        if later.height == 0:
            return None
        nxt = later.get_column("cycle_date").min()
        y = later.filter(pl.col("cycle_date") == nxt).select(
            "account_id", (pl.col("dpd") == 0).cast(pl.Int64).alias("y")
        )
    out = pl.DataFrame({"account_id": ids}).join(y, on="account_id", how="left")
    return out.get_column("y")


def score_snapshot(
    path: Path, as_of: date | None = None, store: Path | None = None, version: str | None = None
) -> Snapshot:
    """Features and registered-model scores of every account of a snapshot.

    Accounts lacking a feature the model needs are left out (counted in ``dropped``).
    """
    from arrears.pipeline.features import ledger_features
    from arrears.pipeline.modelling.registered import load_registered_model

    model = load_registered_model(store, version)
    frames, day, assessed = _snapshot_frames(path, as_of)
    feats = ledger_features(frames, day, assessed)
    complete = feats.drop_nulls(list(model.feature_names))
    scored = complete.with_columns(model.score(complete).alias("score"))
    outcome = _uci_outcome(path, day, scored.get_column("account_id"))
    return Snapshot(str(path), day, scored, outcome, feats.height - complete.height)


def monitor_snapshots(
    old: Path,
    new: Path,
    *,
    old_as_of: date | None = None,
    new_as_of: date | None = None,
    plot: Path | None = None,
    store: Path | None = None,
) -> tuple[MonitorReport, Snapshot, Snapshot]:
    """PSI of the score and each feature, and calibration drift, between two snapshots.

    Raises
    ------
    ValueError
        If a folder snapshot comes without its as-of date.
    PortfolioInvalid, UCIFormatError, FileNotFoundError
        For unreadable inputs.
    """
    from arrears.pipeline.modelling.monitoring import monitor, plot_monitor
    from arrears.pipeline.modelling.registered import load_registered_model

    features = load_registered_model(store).feature_names
    a = score_snapshot(old, old_as_of, store)
    b = score_snapshot(new, new_as_of, store)
    report = monitor(
        a.scored,
        b.scored,
        features,
        y_old=None if a.outcome is None else a.outcome.to_numpy(),
        y_new=None if b.outcome is None else b.outcome.to_numpy(),
    )
    if plot is not None:
        plot_monitor(report, a.scored["score"].to_numpy(), b.scored["score"].to_numpy(), plot)
    return report, a, b


@dataclass(frozen=True)
class Explanation:
    """One account's score and its reasons.

    Attributes
    ----------
    score : float
        Calibrated P(pay).
    reasons : tuple of 3 str
        The reason codes (most negative contribution first).
    contributions : tuple of (feature, value, contribution)
        Every feature, contribution in log-odds of paying, most negative first.
    """

    account_id: str
    as_of: date
    model_version: str
    score: float
    reasons: tuple[str, str, str]
    contributions: tuple[tuple[str, float, float], ...]


def explain_account(
    settings: Settings,
    account_id: str,
    *,
    portfolio: Path | None = None,
    as_of: date | None = None,
    store: Path | None = None,
) -> Explanation:
    """Score one account with the registered model and explain it.

    The account comes from ``portfolio`` (a folder, with ``as_of``) or the UCI file.

    Returns
    -------
    Explanation

    Raises
    ------
    LookupError
        If the account is not in the snapshot.
    ModelRefused
        If the account lacks a feature the model needs.
    """
    from arrears.pipeline.features import ledger_features
    from arrears.pipeline.modelling.registered import load_registered_model

    model = load_registered_model(store)
    frames, day, assessed = _snapshot_frames(portfolio or settings.uci_path, as_of)
    feats = ledger_features(frames, day, assessed).filter(pl.col("account_id") == account_id)
    if feats.height == 0:
        raise LookupError(f"account {account_id!r} is not in the snapshot as of {day}")
    score = float(model.score(feats)[0])
    reasons = model.reasons(feats).row(0, named=True)
    contrib = model.contributions(feats).row(0, named=True)
    values = feats.row(0, named=True)
    ranked = sorted(contrib.items(), key=lambda kv: kv[1])
    return Explanation(
        account_id=account_id,
        as_of=day,
        model_version=model.version,
        score=score,
        reasons=(reasons["reason_1"], reasons["reason_2"], reasons["reason_3"]),
        contributions=tuple((k, float(values[k]), float(v)) for k, v in ranked),
    )


# ============================================================================================
# Capacity, simulator and portfolio reports (issue 5, part B).
# Wiring for `arrears daily --agents FILE`, `arrears simulate` and `arrears report portfolio`.
# ============================================================================================

SIM_GENERATED_AS_OF = date(2026, 11, 30)


def load_agents_file(path: Path) -> list[Agent]:
    """Load the agent team (``--agents FILE``). Raises AgentFileError for a bad file."""
    return load_agents(path)


def resolve_strategy(text: str) -> Strategy:
    """``default`` (the shipped default strategy) or a strategy YAML path.

    Raises
    ------
    StrategyInvalid
        For a bad or missing file.
    """
    if text in ("default", ""):
        return load_strategy(DEFAULT_STRATEGY_FILE)
    return load_strategy(Path(text))


def simulation_portfolio(settings: Settings, spec: str, *, seed: int = 7) -> SimPortfolio:
    """The portfolio to simulate: ``uci`` (the real file) or ``generated:N``.

    Scores are those of the registered propensity-to-pay model on the day-0 ledger features.

    Raises
    ------
    ValueError
        For a spec that is neither ``uci`` nor ``generated:N`` with N >= 1.
    FileNotFoundError
        For ``uci`` when the file is missing.
    """
    from arrears.pipeline.features import ledger_features
    from arrears.pipeline.modelling.registered import ModelRefused

    if spec == "uci":
        if not settings.uci_path.is_file():
            raise FileNotFoundError(
                f"{settings.uci_path}: UCI file not found (set ARREARS_DATA_DIR)"
            )
        frames, as_of, name = load_uci(settings.uci_path), UCI_AS_OF, "UCI (30,000 real accounts)"
    elif spec.startswith("generated:") and spec.split(":", 1)[1].isdigit():
        n = int(spec.split(":", 1)[1])
        if n < 1:
            raise ValueError("--portfolio generated:N needs N >= 1")
        frames = generate_portfolio(n, SIM_GENERATED_AS_OF, seed=seed)
        as_of, name = SIM_GENERATED_AS_OF, f"generated ({n:,} accounts, seed {seed})"
    else:
        raise ValueError(f"--portfolio must be uci or generated:N, got {spec!r}")
    assessed = sim_assess(frames.accounts, frames.installments, frames.payments, as_of)
    feats = ledger_features(frames, as_of, assessed)
    try:
        model = load_registered_model()
        scores = feats.select("account_id").with_columns(model.score(feats).alias("score"))
        version = model.version
    except ModelRefused:
        # the registered model needs fields this portfolio lacks: the first (logistic) model
        first = load_default_model()
        scores = feats.select("account_id").with_columns(first.score(feats).alias("score"))
        version = first.version
    return portfolio_from_frames(frames, as_of, scores, name=f"{name}, scores {version}")


def run_simulation(
    settings: Settings,
    strategy_a: str,
    strategy_b: str,
    *,
    days: int,
    portfolio: str,
    replications: int,
    seed: int,
    out_dir: Path | None,
    on_run: Callable[[str, int], None] = lambda _n, _i: None,
) -> tuple[Comparison, list[Path]]:
    """Compare two strategies on a portfolio; write charts and HTML to ``out_dir`` if given.

    Raises
    ------
    StrategyInvalid, RulePackError, ValueError, FileNotFoundError
        For bad input (strategy file, rule packs, portfolio spec, days or replications).
    """
    a = resolve_strategy(strategy_a)
    b = resolve_strategy(strategy_b)
    packs, _ = load_rule_packs(settings)
    port = simulation_portfolio(settings, portfolio)
    comp = compare(
        port,
        a,
        b,
        days=days,
        replications=replications,
        packs=packs,
        is_holiday=is_public_holiday,
        seed=seed,
        on_run=on_run,
    )
    paths = write_comparison(comp, out_dir) if out_dir is not None else []
    return comp, paths


def run_portfolio_report(
    settings: Settings, source: str, out_dir: Path, *, months: int = 6
) -> PortfolioReport:
    """Roll rates, cure rate, vintage curves and recovery rate as tables, PNG and HTML.

    ``source``: ``ledger`` (the ledger at ``settings.database_url``), ``uci`` (the real file's
    monthly repayment status) or ``generated:N``.

    Raises
    ------
    LookupError
        If the ledger is empty.
    ValueError, FileNotFoundError
        For a bad source.
    """
    if source == "ledger":
        engine = open_ledger(settings.database_url)
        try:
            with engine.connect() as conn:
                frames = ledger.load_frames(conn)
            with engine.connect() as conn:
                batch = ledger.last_import(conn)
        finally:
            engine.dispose()
        if batch is None:
            raise LookupError("the ledger is empty: import a portfolio first (arrears import DIR)")
        as_of = ledger_as_of(frames)
        report = portfolio_report(frames, as_of, months=months, name=f"ledger ({batch.source})")
    elif source == "uci":
        if not settings.uci_path.is_file():
            raise FileNotFoundError(
                f"{settings.uci_path}: UCI file not found (set ARREARS_DATA_DIR)"
            )
        frames = load_uci(settings.uci_path)
        report = portfolio_report(
            frames,
            UCI_AS_OF,
            months=months,
            name="UCI (30,000 real accounts)",
            status_history=uci_status_history(settings.uci_path),
        )
    elif source.startswith("generated:") and source.split(":", 1)[1].isdigit():
        n = int(source.split(":", 1)[1])
        frames = generate_portfolio(max(n, 1), SIM_GENERATED_AS_OF, seed=7)
        report = portfolio_report(
            frames, SIM_GENERATED_AS_OF, months=months, name=f"generated ({n:,} accounts, seed 7)"
        )
    else:
        raise ValueError(f"--source must be ledger, uci or generated:N, got {source!r}")
    write_portfolio_report(report, out_dir)
    return report


# ============================================================================================
# Promises to pay and repayment plans (issue 5, part C). Wiring for `arrears ptp add`,
# `arrears plan add|accept|replan`, `arrears commitments review|list|history` and the daily
# run's plan_active accounts. One command = one transaction: a refused input writes nothing.
# ============================================================================================


@dataclass(frozen=True)
class ReviewOutcome:
    """What ``arrears commitments review`` did.

    Attributes
    ----------
    events : list of CommitmentEvent
        Promises kept or broken, plans broken or completed, as of ``as_of``.
    rows : dict of str to CommitmentRow
        The commitments the events are about, as stored after the review.
    plan_active : frozenset of str
        Accounts whose plan is being kept (held by the strategy's ``plan_active`` segment).
    """

    as_of: date
    strategy: str
    promise_grace_days: int
    plan_grace_days: int
    events: list[CommitmentEvent]
    rows: dict[str, CommitmentRow]
    plan_active: frozenset[str]


_T = TypeVar("_T")


def _new_commitment_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12].upper()}"


def _in_commitments_uow(
    settings: Settings,
    policy: OfferPolicy,
    clock: Clock,
    work: Callable[[CommitmentTracker, Connection], _T],
) -> _T:
    """Run ``work`` in one transaction of the ledger (rolled back if it raises)."""
    engine = open_ledger(settings.database_url)
    try:
        with engine.begin() as conn:
            return work(CommitmentTracker(SqlCommitmentRepository(conn, clock.now()), policy), conn)
    finally:
        engine.dispose()


def _amount(text: str, currency: str, option: str) -> int:
    try:
        value = parse_minor(text, currency)
    except MoneyError as exc:
        raise PlanError(f"{option} {text!r}: {exc}") from None
    if value <= 0:
        raise PlanError(f"{option} {text!r}: must be more than zero")
    return value


def _currency_of(tracker: CommitmentTracker, account_id: str) -> str:
    found = tracker.repo.account(account_id)
    if found is None:
        raise LookupError(f"no account {account_id!r} in the ledger (import a portfolio first)")
    return found[0]


def _commitment_strategy(strategy_file: Path | None) -> Strategy:
    return load_strategy(strategy_file or DEFAULT_STRATEGY_FILE)


def add_promise(
    settings: Settings,
    account_id: str,
    amount: str,
    due_on: date,
    *,
    made_on: date | None = None,
    channel: str | None = None,
    clock: Clock | None = None,
) -> CommitmentRow:
    """Record a promise to pay ``amount`` (decimal text, major units of the account's
    currency) by ``due_on``; ``made_on`` defaults to today (UTC).

    Raises
    ------
    LookupError
        If the account is not in the ledger.
    arrears.domain.plans.PlanError
        If the amount is not a valid positive amount of the account's currency, is above the
        balance, the due date is before ``made_on``, the channel is unknown, or the account
        already has a pending promise. Nothing is written.
    """
    clock = clock or SystemClock()
    made = made_on or clock.now().date()

    def work(tracker: CommitmentTracker, conn: Connection) -> CommitmentRow:
        currency = _currency_of(tracker, account_id)
        minor = _amount(amount, currency, "--amount")
        promise = PromiseToPay(_new_commitment_id("PTP"), account_id, minor, made, due_on)
        tracker.record_promise(promise, channel)
        return commitment_db.list_commitments(conn, ids=[promise.promise_id])[0]

    return _in_commitments_uow(settings, DEFAULT_OFFER_POLICY, clock, work)


def _plan_schedule(
    n: int, total: int, first_due: date, installment: int | None, currency: str
) -> tuple[ScheduledPayment, ...]:
    """Interest-free schedule of ``total`` in ``n`` monthly installments (the last absorbs the
    remainder); ``installment``, if given, must be its regular installment."""
    try:
        schedule = installment_schedule(total, n, first_due)
    except PlanError as exc:
        raise PlanError(f"--installments {n}: {exc}") from None
    if installment is not None and installment != schedule[0].amount_minor:
        last = schedule[-1].amount_minor
        exact = (
            f"{n} x {format_minor(last, currency)}"
            if last == schedule[0].amount_minor
            else f"{n - 1} x {format_minor(schedule[0].amount_minor, currency)} + "
            f"{format_minor(last, currency)}"
        )
        raise PlanError(
            f"the plan does not add up: {n} installments of {format_minor(installment, currency)} "
            f"make {format_minor(n * installment, currency)} {currency}, not the "
            f"{format_minor(total, currency)} agreed ({format_minor(total, currency)} in {n} "
            f"installments is {exact})"
        )
    return schedule


def add_plan(
    settings: Settings,
    account_id: str,
    installments: int,
    amount: str,
    first_due: date,
    *,
    installment_amount: str | None = None,
    agreed_on: date | None = None,
    clock: Clock | None = None,
) -> CommitmentRow:
    """Record an interest-free repayment plan: ``amount`` (the total, decimal text) in
    ``installments`` monthly installments from ``first_due``.

    Raises
    ------
    LookupError
        If the account is not in the ledger.
    arrears.domain.plans.PlanError
        If an amount is not valid for the account's currency, the plan does not add up
        (``installment_amount`` is not its regular installment, 2..24 installments, first due
        before ``agreed_on``), its total is above the balance, or the account already has an
        active plan. Nothing is written.
    """
    clock = clock or SystemClock()
    agreed = agreed_on or clock.now().date()

    def work(tracker: CommitmentTracker, conn: Connection) -> CommitmentRow:
        currency = _currency_of(tracker, account_id)
        total = _amount(amount, currency, "--amount")
        each = (
            None
            if installment_amount is None
            else _amount(installment_amount, currency, "--installment-amount")
        )
        schedule = _plan_schedule(installments, total, first_due, each, currency)
        plan = RepaymentPlan(_new_commitment_id("PLN"), account_id, agreed, schedule)
        tracker.record_plan(plan)
        return commitment_db.list_commitments(conn, ids=[plan.plan_id])[0]

    return _in_commitments_uow(settings, DEFAULT_OFFER_POLICY, clock, work)


def accept_offer(
    settings: Settings,
    offers_file: Path,
    account_id: str,
    offer_type: str = "installment_plan",
    *,
    agreed_on: date | None = None,
    strategy_file: Path | None = None,
    clock: Clock | None = None,
) -> CommitmentRow:
    """Record the plan of an ``installment_plan`` offer of ``offers.csv`` the borrower accepted.

    The schedule is rebuilt exactly as the daily run built it (amount owed, installments, first
    due date, the strategy's plan rate) and must match the row's installment and total.

    Raises
    ------
    arrears.adapters.offers_file.OfferFileError
        If the file or row is bad, or has no such offer (file, line, field, reason).
    StrategyInvalid
        For a bad strategy file.
    LookupError
        If the account is not in the ledger.
    arrears.domain.plans.PlanError
        If the offer type has no plan to accept, the row does not match the schedule, its
        currency is not the account's, or :meth:`CommitmentTracker.record_plan` refuses it.
    """
    clock = clock or SystemClock()
    agreed = agreed_on or clock.now().date()
    if offer_type != OfferType.INSTALLMENT_PLAN.value:
        raise PlanError(
            f"--offer-type {offer_type!r}: only installment_plan offers can be accepted as a "
            "plan for now (record other offers by hand with `arrears plan add`)"
        )
    row = read_offer(offers_file, account_id, offer_type)
    strategy = _commitment_strategy(strategy_file)

    def bad(field: str, reason: str) -> OfferFileError:
        return OfferFileError(row.path, row.line, field, reason)

    if row.first_due is None:
        raise bad("first_due", "an installment plan needs its first due date")
    try:
        schedule = installment_schedule(
            row.amount_owed_minor, row.installments, row.first_due, strategy.offers.plan_annual_rate
        )
    except PlanError as exc:
        raise bad("installments", str(exc)) from None
    total = sum(p.amount_minor for p in schedule)
    if (schedule[0].amount_minor, total) != (row.installment_minor, row.total_minor):
        c = row.currency
        raise bad(
            "installment_amount",
            f"{format_minor(row.installment_minor, c)} {c} (total "
            f"{format_minor(row.total_minor, c)}) does not match the schedule of "
            f"{format_minor(row.amount_owed_minor, c)} in {row.installments} installments at "
            f"{strategy.offers.plan_annual_rate} a year "
            f"({format_minor(schedule[0].amount_minor, c)}, total {format_minor(total, c)}): "
            "was the offer made under another --strategy?",
        )

    def work(tracker: CommitmentTracker, conn: Connection) -> CommitmentRow:
        currency = _currency_of(tracker, account_id)
        if currency != row.currency:
            raise bad("currency", f"{row.currency} is not the account's currency {currency}")
        plan = RepaymentPlan(_new_commitment_id("PLN"), account_id, agreed, schedule)
        tracker.record_plan(plan)
        return commitment_db.list_commitments(conn, ids=[plan.plan_id])[0]

    return _in_commitments_uow(settings, strategy.offers, clock, work)


def replan_plan(
    settings: Settings,
    plan_id: str,
    installments: int,
    amount: str,
    first_due: date,
    *,
    agreed_on: date | None = None,
    strategy_file: Path | None = None,
    clock: Clock | None = None,
) -> tuple[CommitmentRow, CommitmentRow]:
    """Replace a plan by a new interest-free plan; returns ``(old plan, new plan)``.

    Raises
    ------
    LookupError
        If there is no such plan.
    arrears.domain.plans.PlanError
        If the plan is completed or already re-planned, was re-planned the strategy's
        ``max_replans`` times (hardship review instead), or the new plan does not add up.
    """
    clock = clock or SystemClock()
    agreed = agreed_on or clock.now().date()
    strategy = _commitment_strategy(strategy_file)

    def work(tracker: CommitmentTracker, conn: Connection) -> tuple[CommitmentRow, CommitmentRow]:
        old = tracker.repo.get_plan(plan_id)
        if old is None:
            raise LookupError(f"no plan {plan_id!r} in the ledger")
        currency = _currency_of(tracker, old.account_id)
        total = _amount(amount, currency, "--amount")
        schedule = _plan_schedule(installments, total, first_due, None, currency)
        new, _ = tracker.replan(old, _new_commitment_id("PLN"), schedule, agreed)
        rows = {
            r.commitment_id: r
            for r in commitment_db.list_commitments(conn, ids=[plan_id, new.plan_id])
        }
        return rows[plan_id], rows[new.plan_id]

    return _in_commitments_uow(settings, strategy.offers, clock, work)


def review_commitments(
    settings: Settings,
    as_of: date,
    *,
    strategy_file: Path | None = None,
    clock: Clock | None = None,
) -> ReviewOutcome:
    """Review every open promise and plan as of ``as_of`` with the strategy's grace periods
    and store the changes (what ``arrears daily`` does before planning).

    Raises
    ------
    StrategyInvalid
        For a bad strategy file.
    """
    clock = clock or SystemClock()
    strategy = _commitment_strategy(strategy_file)

    def work(tracker: CommitmentTracker, conn: Connection) -> ReviewOutcome:
        events, active, _ = tracker.review_day(as_of)
        ids = sorted({e.commitment_id for e in events})
        rows = {r.commitment_id: r for r in commitment_db.list_commitments(conn, ids=ids)}
        p = strategy.offers
        return ReviewOutcome(
            as_of, strategy.name, p.promise_grace_days, p.plan_grace_days, events, rows, active
        )

    return _in_commitments_uow(settings, strategy.offers, clock, work)


def review_for_daily(
    engine: Engine, as_of: date, policy: OfferPolicy, clock: Clock
) -> tuple[frozenset[str], frozenset[str]]:
    """Review commitments as of the run date (own transaction) and return the accounts whose
    plan is being kept and those with a pending promise: the daily run's ``plan_active`` and
    ``promise_pending``."""
    with engine.begin() as conn:
        tracker = CommitmentTracker(SqlCommitmentRepository(conn, clock.now()), policy)
        review = tracker.review_day(as_of)
        return review.plan_active, review.promise_pending


def list_commitments(
    settings: Settings,
    *,
    status: str | None = None,
    account_id: str | None = None,
    kind: str | None = None,
) -> list[CommitmentRow]:
    """Promises and plans of the ledger, filtered by status, account or kind.

    Raises
    ------
    ValueError
        For an unknown status or kind.
    """
    if status is not None and status not in {s.value for s in CommitmentStatus}:
        raise ValueError(
            f"--status must be one of {', '.join(s.value for s in CommitmentStatus)}, "
            f"got {status!r}"
        )
    if kind not in (None, "promise", "plan"):
        raise ValueError(f"--kind must be promise or plan, got {kind!r}")
    engine = open_ledger(settings.database_url)
    try:
        with engine.connect() as conn:
            return commitment_db.list_commitments(
                conn, status=status, account_id=account_id, kind=kind
            )
    finally:
        engine.dispose()


def commitment_history(settings: Settings, key: str) -> list[HistoryEntry]:
    """History of a promise or plan (by id) or of an account's commitments (by account id).

    Raises
    ------
    LookupError
        If nothing was ever recorded for ``key``.
    """
    engine = open_ledger(settings.database_url)
    try:
        with engine.connect() as conn:
            rows = commitment_db.commitment_history(conn, commitment_id=key)
            if not rows:
                rows = commitment_db.commitment_history(conn, account_id=key)
    finally:
        engine.dispose()
    if not rows:
        raise LookupError(f"no promise, plan or account {key!r} with a recorded commitment")
    return rows
