"""Composition root: wires settings, storage, rule packs and models into the use cases.

The CLI (and later the web app) call these functions; nothing else builds engines or reads
settings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy.engine import Engine

from arrears.adapters.clock import SystemClock
from arrears.adapters.db import ledger
from arrears.adapters.db.engine import create_engine
from arrears.adapters.db.migrate import upgrade_to_head
from arrears.adapters.portfolio.reader import portfolio_sha256, read_portfolio
from arrears.adapters.portfolio.schema import PortfolioFrames
from arrears.adapters.portfolio.synthetic import generate_portfolio
from arrears.adapters.portfolio.uci import UCI_AS_OF, load_uci
from arrears.adapters.portfolio.writer import write_portfolio
from arrears.adapters.rulepacks import is_public_holiday, load_packs, packs_digest
from arrears.config import Settings
from arrears.domain.compliance.packs import RulePack
from arrears.domain.ports import Clock
from arrears.pipeline.daily import DailyResult, run_daily
from arrears.pipeline.ptp_model import load_default_model

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
    """Load the rule packs and their digest. Raises RulePackError for a bad pack."""
    return load_packs(settings.rules_dir), packs_digest(settings.rules_dir)


def run_daily_from_ledger(
    settings: Settings,
    as_of: date,
    out_dir: Path,
    *,
    data_source: str = "",
    on_stage_done: Callable[[str], None] = lambda _s: None,
    clock: Clock | None = None,
) -> DailyResult:
    """Run the daily job on the ledger at ``settings.database_url`` and record the run.

    Raises
    ------
    LookupError
        If the ledger holds no imported portfolio.
    RulePackError
        If a rule pack is invalid.
    """
    clock = clock or SystemClock()
    packs, rules_sha = load_rule_packs(settings)
    model = load_default_model()
    engine = open_ledger(settings.database_url)
    try:
        started = clock.now()
        with engine.connect() as conn:
            # load first, outside any transaction, so SQLite takes the fast read path
            frames = ledger.load_frames(conn)
        with engine.connect() as conn:
            batch = ledger.last_import(conn)
        if batch is None:
            raise LookupError("the ledger is empty: import a portfolio first (arrears import DIR)")
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
        )
        s = result.summary
        with engine.begin() as conn:
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
    )


def generate_to_folder(
    n_accounts: int, out_dir: Path, *, seed: int, as_of: date, fmt: str
) -> list[Path]:
    """Generate a synthetic portfolio and write it as a canonical folder."""
    frames = generate_portfolio(n_accounts, as_of, seed=seed)
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"unknown format {fmt!r}: use csv or parquet")
    return write_portfolio(frames, out_dir, "csv" if fmt == "csv" else "parquet")
