"""Storage layer on SQLite and PostgreSQL: migrations, bulk import/load, idempotence, atomicity.

Every test runs once per backend through the ``db_url`` / ``ledger_engine`` fixtures of
``tests/conftest.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import polars as pl
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from polars.testing import assert_frame_equal
from sqlalchemy.engine import Connection, Engine
from tests.builders import small_portfolio

from arrears.adapters.db import ledger
from arrears.adapters.db.engine import create_engine
from arrears.adapters.db.migrate import (
    alembic_config,
    current_revision,
    downgrade_to_base,
    upgrade_to_head,
)
from arrears.adapters.db.tables import metadata
from arrears.adapters.portfolio.schema import FRAME_SCHEMAS, UTC_DT, PortfolioFrames
from arrears.domain.audit import AUDIT_CHAINS

SHA_A = "a" * 64
SHA_B = "b" * 64
SHA_C = "c" * 64
T0 = datetime(2025, 4, 1, 6, 0, tzinfo=UTC)
LEDGER_TABLES = set(metadata.tables)
#: Row counts of a freshly migrated ledger: every table empty but the audit chain heads
#: (migration 0006 creates one per chain).
EMPTY = {**dict.fromkeys(LEDGER_TABLES, 0), "audit_head": AUDIT_CHAINS}


def _sorted(frames: PortfolioFrames) -> dict[str, pl.DataFrame]:
    from arrears.adapters.portfolio.schema import TABLES_BY_NAME

    return {n: f.sort(list(TABLES_BY_NAME[n].key)) for n, f in frames.items()}


def assert_frames_equal(actual: PortfolioFrames, expected: PortfolioFrames) -> None:
    """Same rows (order by key), same columns, same dtypes, table by table."""
    got, want = _sorted(actual), _sorted(expected)
    for name in FRAME_SCHEMAS:
        assert got[name].schema == want[name].schema, name
        assert_frame_equal(got[name], want[name], check_exact=True)


def _import(conn: Connection, frames: PortfolioFrames, sha: str) -> ledger.ImportResult:
    return ledger.import_frames(conn, frames, sha256=sha, source="test", imported_at=T0)


def _snapshot(engine: Engine) -> tuple[dict[str, int], PortfolioFrames]:
    with engine.connect() as conn:
        return ledger.counts(conn), ledger.load_frames(conn)


# --- migrations -----------------------------------------------------------------------------


def test_upgrade_to_head_builds_the_schema_of_the_metadata(db_url: str) -> None:
    assert current_revision(db_url) is None
    upgrade_to_head(db_url)
    upgrade_to_head(db_url)  # idempotent

    head = ScriptDirectory.from_config(alembic_config(db_url)).get_current_head()
    assert current_revision(db_url) == head
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert set(sa.inspect(conn).get_table_names()) == LEDGER_TABLES | {"alembic_version"}
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(ctx, metadata) == []
    finally:
        engine.dispose()


def test_every_constraint_is_named_by_the_convention(ledger_engine: Engine) -> None:
    with ledger_engine.connect() as conn:
        insp = sa.inspect(conn)
        assert insp.get_pk_constraint("installments")["name"] == "pk_installments"
        assert insp.get_pk_constraint("statements")["constrained_columns"] == [
            "account_id",
            "statement_date",
        ]
        fks = {fk["name"] for t in LEDGER_TABLES for fk in insp.get_foreign_keys(t)}
        assert fks == {
            "fk_accounts_borrower_id_borrowers",
            "fk_installments_account_id_accounts",
            "fk_payments_account_id_accounts",
            "fk_statements_account_id_accounts",
            "fk_contact_history_borrower_id_borrowers",
            "fk_contact_ledger_borrower_id_borrowers",
            "fk_delinquency_history_account_id_accounts",
            "fk_promises_account_id_accounts",
            "fk_repayment_plans_account_id_accounts",
            "fk_repayment_plans_replaces_repayment_plans",
            "fk_plan_installments_plan_id_repayment_plans",
        }
        indexes = {ix["name"] for t in LEDGER_TABLES for ix in insp.get_indexes(t)}
        assert {
            "ix_accounts_borrower_id",
            "ix_payments_account_id",
            "ix_contact_history_borrower_id",
            "ix_contact_history_account_id",
        } <= indexes
        uniques = {u["name"] for u in insp.get_unique_constraints("import_batches")}
        assert uniques == {"uq_import_batches_sha256"}
        checks = {c["name"] for t in LEDGER_TABLES for c in insp.get_check_constraints(t)}
        assert {
            "ck_accounts_product",
            "ck_installments_seq_positive",
            "ck_contact_history_direction",
        } <= checks
        for table in LEDGER_TABLES:
            assert insp.get_pk_constraint(table)["name"] == f"pk_{table}"


def test_downgrade_to_base_drops_everything(ledger_engine: Engine, db_url: str) -> None:
    with ledger_engine.begin() as conn:
        _import(conn, small_portfolio(), SHA_A)
    downgrade_to_base(db_url)
    assert current_revision(db_url) is None
    with ledger_engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
    upgrade_to_head(db_url)  # and back up again, empty
    with ledger_engine.connect() as conn:
        assert ledger.counts(conn) == EMPTY


# --- import and load ------------------------------------------------------------------------


def test_round_trip_keeps_rows_nulls_and_dtypes(ledger_engine: Engine) -> None:
    frames = small_portfolio()
    with ledger_engine.begin() as conn:
        result = _import(conn, frames, SHA_A)
    assert not result.already_imported
    assert result.counts == {n: f.height for n, f in frames.items()}

    with ledger_engine.connect() as conn:
        loaded = ledger.load_frames(conn)
    assert_frames_equal(loaded, frames)
    for name, schema in FRAME_SCHEMAS.items():
        assert dict(loaded.table(name).schema) == schema
    started = loaded.contact_history["started_at"]
    assert started.dtype == UTC_DT
    assert started.to_list()[0] == datetime(2025, 3, 3, 14, 30, 5, 123456, tzinfo=UTC)
    # null and "" are different things and stay different
    cn = loaded.borrowers.filter(pl.col("borrower_id") == "B-CN-1").row(0, named=True)
    tw = loaded.borrowers.filter(pl.col("borrower_id") == "B-TW-1").row(0, named=True)
    assert (cn["timezone"], cn["email"], tw["opt_out_channels"]) == (None, "", "")


def test_fast_and_transactional_reads_agree(ledger_engine: Engine) -> None:
    # SQLite files read outside a transaction go through connectorx; inside one, through the
    # DBAPI cursor. Both must give the same frames (PostgreSQL always uses COPY).
    frames = small_portfolio()
    with ledger_engine.begin() as conn:
        _import(conn, frames, SHA_A)
    with ledger_engine.connect() as conn:
        fast = ledger.load_frames(conn)
    with ledger_engine.begin() as conn:
        slow = ledger.load_frames(conn)
    assert_frames_equal(fast, slow)
    assert_frames_equal(fast, frames)


def test_round_trip_of_instants_given_in_another_zone(ledger_engine: Engine) -> None:
    frames = small_portfolio()
    taipei = timezone(timedelta(hours=8))
    frames.contact_history = frames.contact_history.with_columns(
        pl.col("started_at").dt.convert_time_zone("Asia/Taipei")
    )
    with ledger_engine.begin() as conn:
        _import(conn, frames, SHA_A)
    with ledger_engine.connect() as conn:
        started = ledger.load_frames(conn, tables=["contact_history"]).contact_history
    assert started["started_at"].dtype == UTC_DT
    assert datetime(2025, 3, 20, 9, 0, tzinfo=taipei) in started["started_at"].to_list()


def test_load_selected_tables_leaves_the_others_empty(ledger_engine: Engine) -> None:
    with ledger_engine.begin() as conn:
        _import(conn, small_portfolio(), SHA_A)
    with ledger_engine.connect() as conn:
        loaded = ledger.load_frames(conn, tables=["accounts"])
        with pytest.raises(KeyError, match="loans"):
            ledger.load_frames(conn, tables=["loans"])
    assert loaded.accounts.height == 4
    assert loaded.installments.height == 0
    assert dict(loaded.installments.schema) == FRAME_SCHEMAS["installments"]


def test_empty_portfolio_round_trips(ledger_engine: Engine) -> None:
    with ledger_engine.begin() as conn:
        result = _import(conn, PortfolioFrames.empty(), SHA_A)
    assert set(result.counts.values()) == {0}
    with ledger_engine.connect() as conn:
        assert_frames_equal(ledger.load_frames(conn), PortfolioFrames.empty())
        assert ledger.counts(conn)["import_batches"] == 1


def test_reimport_of_the_same_sha256_changes_nothing(ledger_engine: Engine) -> None:
    with ledger_engine.begin() as conn:
        first = _import(conn, small_portfolio(), SHA_A)
    before = _snapshot(ledger_engine)

    changed = small_portfolio()
    changed.accounts = changed.accounts.with_columns(balance_minor=pl.lit(1, pl.Int64))
    with ledger_engine.begin() as conn:
        again = ledger.import_frames(
            conn, changed, sha256=SHA_A, source="elsewhere", imported_at=T0 + timedelta(days=1)
        )
    assert again == ledger.ImportResult(first.batch_id, True, first.counts)
    after = _snapshot(ledger_engine)
    assert after[0] == before[0]
    assert_frames_equal(after[1], before[1])
    with ledger_engine.connect() as conn:
        batch = ledger.last_import(conn)
    assert batch is not None
    assert (batch.source, batch.imported_at) == ("test", T0)


def test_second_snapshot_upserts_without_duplicates(ledger_engine: Engine) -> None:
    with ledger_engine.begin() as conn:
        _import(conn, small_portfolio(), SHA_A)

    second = small_portfolio()
    second.accounts = second.accounts.with_columns(
        balance_minor=pl.when(pl.col("account_id") == "A-TW-LOAN")
        .then(pl.lit(1_025_000, pl.Int64))
        .otherwise(pl.col("balance_minor"))
    )
    new_payment = pl.DataFrame(
        [("P-0003", "A-TW-LOAN", date(2025, 2, 14), 1_025_000)],
        schema=FRAME_SCHEMAS["payments"],
        orient="row",
    )
    second.payments = pl.concat([second.payments, new_payment])
    with ledger_engine.begin() as conn:
        result = _import(conn, second, SHA_B)
    assert not result.already_imported

    counts, loaded = _snapshot(ledger_engine)
    assert counts["accounts"] == 4
    assert counts["payments"] == 3
    assert counts["import_batches"] == 2
    balance = loaded.accounts.filter(pl.col("account_id") == "A-TW-LOAN")["balance_minor"]
    assert balance.to_list() == [1_025_000]
    assert_frames_equal(loaded, second)
    with ledger_engine.connect() as conn:
        last = ledger.last_import(conn)
    assert last is not None
    assert (last.id, last.sha256) == (result.batch_id, SHA_B)


def test_failed_import_leaves_the_ledger_unchanged(ledger_engine: Engine) -> None:
    with ledger_engine.begin() as conn:
        _import(conn, small_portfolio(), SHA_A)
    before = _snapshot(ledger_engine)

    bad = small_portfolio()
    bad.accounts = bad.accounts.with_columns(balance_minor=pl.lit(7, pl.Int64))
    orphan = pl.DataFrame(
        [("A-MISSING", 1, date(2025, 1, 1), 100, None, None)],
        schema=FRAME_SCHEMAS["installments"],
        orient="row",
    )
    bad.installments = pl.concat([bad.installments, orphan])
    with pytest.raises(sa.exc.IntegrityError), ledger_engine.begin() as conn:
        _import(conn, bad, SHA_B)

    after = _snapshot(ledger_engine)
    assert after[0] == before[0]
    assert_frames_equal(after[1], before[1])
    with ledger_engine.connect() as conn:
        last = ledger.last_import(conn)
    assert last is not None
    assert last.sha256 == SHA_A


def test_failed_first_import_leaves_an_empty_ledger(ledger_engine: Engine) -> None:
    bad = small_portfolio()
    bad.accounts = bad.accounts.with_columns(borrower_id=pl.lit("B-NOBODY"))
    with pytest.raises(sa.exc.IntegrityError), ledger_engine.begin() as conn:
        _import(conn, bad, SHA_A)
    with ledger_engine.connect() as conn:
        assert ledger.counts(conn) == EMPTY
        assert ledger.last_import(conn) is None


@pytest.mark.parametrize(
    ("change", "sha", "imported_at", "message"),
    [
        (None, "A" * 64, T0, "sha256"),
        (None, "abc", T0, "sha256"),
        (None, SHA_A, datetime(2025, 4, 1, 6, 0), "aware"),
        ("duplicate", SHA_A, T0, "installments: duplicate key"),
        ("missing column", SHA_A, T0, "lacks columns"),
    ],
)
def test_bad_import_arguments_are_refused_before_writing(
    ledger_engine: Engine, change: str | None, sha: str, imported_at: datetime, message: str
) -> None:
    frames = small_portfolio()
    if change == "duplicate":
        frames.installments = pl.concat([frames.installments, frames.installments.head(1)])
    elif change == "missing column":
        frames.payments = frames.payments.drop("paid_on")
    with pytest.raises(ValueError, match=message), ledger_engine.begin() as conn:
        ledger.import_frames(conn, frames, sha256=sha, source="test", imported_at=imported_at)
    with ledger_engine.connect() as conn:
        assert ledger.counts(conn) == EMPTY


# --- runs and batches -----------------------------------------------------------------------


def test_daily_runs_are_recorded_in_utc(ledger_engine: Engine) -> None:
    taipei = timezone(timedelta(hours=8))
    with ledger_engine.begin() as conn:
        run_id = ledger.record_daily_run(
            conn,
            plan_date=date(2025, 4, 1),
            started_at=datetime(2025, 4, 1, 9, 0, tzinfo=taipei),
            finished_at=None,
            input_sha256=SHA_A,
            counts={"accounts": 4, "contacts_planned": 2},
            out_dir="out/2025-04-01",
        )
    with ledger_engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM daily_runs")).one()
        assert ledger.counts(conn)["daily_runs"] == 1
        stored = conn.execute(
            sa.select(metadata.tables["daily_runs"]).where(
                metadata.tables["daily_runs"].c.id == run_id
            )
        ).one()
    assert row.id == run_id
    assert stored.started_at == datetime(2025, 4, 1, 1, 0, tzinfo=UTC)
    assert stored.started_at.utcoffset() == timedelta(0)
    assert stored.finished_at is None
    assert stored.counts == {"accounts": 4, "contacts_planned": 2}

    with pytest.raises(sa.exc.StatementError, match="naive"), ledger_engine.begin() as conn:
        ledger.record_daily_run(
            conn,
            plan_date=date(2025, 4, 1),
            started_at=datetime(2025, 4, 1, 9, 0),
            finished_at=None,
            input_sha256=None,
            counts={},
            out_dir=None,
        )


def test_last_import_is_none_on_an_empty_ledger(ledger_engine: Engine) -> None:
    with ledger_engine.connect() as conn:
        assert ledger.last_import(conn) is None
        assert ledger.counts(conn) == EMPTY


def test_migrations_0009_and_0010_keep_rows_and_foreign_keys(db_url: str) -> None:
    """0010 rebuilds ``borrowers`` on SQLite (other tables point at it): rows and references
    survive; per-channel consent fits after it, and a downgrade clears only what no longer
    fits. 0009 adds the recording columns to a ledger that already has contacts."""
    from alembic import command

    cfg = alembic_config(db_url)
    command.upgrade(cfg, "0008")
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            ledger.import_frames(
                conn, small_portfolio(), sha256="a" * 64, source="t", imported_at=T0
            )
        with engine.begin() as conn:
            n_borrowers = conn.execute(sa.text("SELECT count(*) FROM borrowers")).scalar()
            first = conn.execute(sa.text("SELECT min(borrower_id) FROM borrowers")).scalar()
            conn.execute(
                sa.text(
                    "UPDATE borrowers SET consent_hours = '07:00-22:00' WHERE borrower_id = :b"
                ),
                {"b": first},
            )
        command.upgrade(cfg, "head")
        long_cell = "09:00-21:00|call=07:30-00:00|sms=08:00-22:00"
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM borrowers")).scalar() == n_borrowers
            conn.execute(
                sa.text("UPDATE borrowers SET consent_hours = :c WHERE borrower_id = :b"),
                {"c": long_cell, "b": first},
            )
            if conn.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
            # a reference to a missing borrower is still refused after the rebuild
            with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
                conn.execute(
                    sa.text(
                        "INSERT INTO accounts (account_id, borrower_id, product, currency, "
                        "opened_on, principal_minor, balance_minor) VALUES "
                        "('X1', 'NOBODY', 'loan', 'USD', '2026-01-01', 1, 1)"
                    )
                )
        command.downgrade(cfg, "0009")
        with engine.connect() as conn:
            cell = conn.execute(
                sa.text("SELECT consent_hours FROM borrowers WHERE borrower_id = :b"), {"b": first}
            ).scalar()
            assert cell is None  # per-channel hours do not fit the old column
            assert conn.execute(sa.text("SELECT count(*) FROM borrowers")).scalar() == n_borrowers
        command.upgrade(cfg, "head")
        assert current_revision(db_url) == ScriptDirectory.from_config(cfg).get_current_head()
    finally:
        engine.dispose()
