"""SQLAlchemy table definitions of the ledger (SQLAlchemy 2 Core).

The ledger tables mirror the normalised frames of
:data:`arrears.adapters.portfolio.schema.FRAME_SCHEMAS` column for column: amounts are
``BigInteger`` minor units of the account's currency (columns ending in ``_minor``), dates are
``Date``, instants are ``DateTime(timezone=True)`` stored in UTC, enums are plain strings,
borrower flags are booleans.

Every constraint and index is named through :data:`NAMING_CONVENTION` (Alembic batch mode on
SQLite needs names to find constraints again). The Alembic migrations in ``migrations/`` must
describe exactly this metadata; ``tests/integration/test_storage.py`` checks that they do.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    text,
)

from arrears.adapters.portfolio.schema import FLAG_COLUMNS

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

ID_LENGTH = 64  # identifiers are at most 64 characters (see the portfolio format)


class UtcDateTime(TypeDecorator[datetime]):
    """An instant stored in UTC; refuses naive datetimes, returns UTC-aware datetimes.

    SQLite has no time zone support: SQLAlchemy stores the wall-clock text and drops the
    offset, so values are converted to UTC before they are bound and marked UTC when read.
    PostgreSQL stores ``timestamptz``; values read back are converted to UTC as well.

    Raises
    ------
    ValueError
        When a naive datetime is bound.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert an aware datetime to UTC; refuse naive ones."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: instants must be aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return the stored instant as a UTC-aware datetime."""
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - drivers return datetimes
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _id(name: str, *args: Any, **kw: Any) -> Column[str]:
    return Column(name, String(ID_LENGTH), *args, **kw)


def _minor(name: str, *, nullable: bool = True) -> Column[int]:
    return Column(name, BigInteger, nullable=nullable)


borrowers = Table(
    "borrowers",
    metadata,
    _id("borrower_id", primary_key=True),
    Column("jurisdiction", String(16), nullable=False),
    Column("timezone", String(64), nullable=True),  # null = unknown
    Column("language", String(35), nullable=True),
    Column("phone", String(32), nullable=True),
    Column("email", String(254), nullable=True),
    *(Column(flag, Boolean, nullable=False) for flag in FLAG_COLUMNS),
    Column("opt_out_channels", String(128), nullable=True),  # "|"-joined channel names
    # "[CHANNEL=]HH:MM-HH:MM|...", migrations 0007 and 0010 (per-channel hours, wider)
    Column("consent_hours", String(200), nullable=True),
)

accounts = Table(
    "accounts",
    metadata,
    _id("account_id", primary_key=True),
    _id("borrower_id", ForeignKey("borrowers.borrower_id"), nullable=False, index=True),
    Column("product", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("opened_on", Date, nullable=False),
    _minor("principal_minor"),
    _minor("credit_limit_minor"),
    _minor("balance_minor"),
    Column("term_days", BigInteger, nullable=True),
    Column("reported_dpd", BigInteger, nullable=True),
    _minor("reported_past_due_minor"),
    CheckConstraint("product IN ('loan', 'card')", name="product"),
)

installments = Table(
    "installments",
    metadata,
    _id("account_id", ForeignKey("accounts.account_id"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("due_date", Date, nullable=False),
    _minor("principal_minor", nullable=False),
    _minor("interest_minor"),
    _minor("fees_minor"),
    # The primary key leads with account_id, so it doubles as the index on the foreign key.
    PrimaryKeyConstraint("account_id", "seq"),
    CheckConstraint("seq >= 1", name="seq_positive"),
)

payments = Table(
    "payments",
    metadata,
    _id("payment_id", primary_key=True),
    _id("account_id", ForeignKey("accounts.account_id"), nullable=False, index=True),
    Column("paid_on", Date, nullable=False),
    _minor("amount_minor", nullable=False),
)

statements = Table(
    "statements",
    metadata,
    _id("account_id", ForeignKey("accounts.account_id"), nullable=False),
    Column("statement_date", Date, nullable=False),
    _minor("balance_minor", nullable=False),
    _minor("minimum_due_minor"),
    PrimaryKeyConstraint("account_id", "statement_date"),
)

contact_history = Table(
    "contact_history",
    metadata,
    _id("contact_id", primary_key=True),
    _id("borrower_id", ForeignKey("borrowers.borrower_id"), nullable=False, index=True),
    _id("account_id", nullable=True, index=True),  # no FK: may name an account since closed
    Column("channel", String(16), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("agent_id", String(ID_LENGTH), nullable=True),
    CheckConstraint("direction IN ('outbound', 'inbound')", name="direction"),
)

delinquency_history = Table(
    "delinquency_history",
    metadata,
    _id("account_id", ForeignKey("accounts.account_id"), nullable=False),
    Column("cycle_date", Date, nullable=False),
    Column("dpd", BigInteger, nullable=False),
    # The primary key leads with account_id, so it doubles as the index on the foreign key.
    PrimaryKeyConstraint("account_id", "cycle_date"),
    CheckConstraint("dpd >= 0", name="dpd_non_negative"),
)

import_batches = Table(
    "import_batches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("source", Text, nullable=False),
    Column("imported_at", UtcDateTime(), nullable=False),
    Column("row_counts", JSON, nullable=False),  # {table name: rows in the snapshot}
)

daily_runs = Table(
    "daily_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("plan_date", Date, nullable=False, index=True),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
    Column("input_sha256", String(64), nullable=True),
    Column("counts", JSON, nullable=False),
    Column("out_dir", Text, nullable=True),
)

# --- contact gate (issue 3): contact ledger, audit log and its head -------------------------

#: Statuses of a contact-ledger row. ``reserved`` counts against caps like a made contact.
CONTACT_STATUSES = ("reserved", "completed", "cancelled")
#: Kinds of audit-log entries.
AUDIT_KINDS = ("decision", "outcome", "replay")

contact_ledger = Table(
    "contact_ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _id("borrower_id", ForeignKey("borrowers.borrower_id"), nullable=False),
    _id("account_id", nullable=True),
    Column("channel", String(16), nullable=False),
    Column("party", String(16), nullable=False),
    Column("purpose", String(24), nullable=False),
    _id("agency_id", nullable=False),
    Column("number", String(32), nullable=True),
    Column("attempt_at", UtcDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("outcome", String(32), nullable=True),
    Column("conversation", Boolean, nullable=False),
    Column("reserved_at", UtcDateTime(), nullable=False),
    Column("completed_at", UtcDateTime(), nullable=True),
    Column("decision_audit_seq", BigInteger, nullable=False),
    Column("keep_recording_until", UtcDateTime(), nullable=True),  # migration 0009
    Column("recording_ref", String(200), nullable=True),  # migration 0009
    CheckConstraint("status IN ('reserved', 'completed', 'cancelled')", name="status"),
    Index(None, "borrower_id", "attempt_at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("kind", String(16), nullable=False),
    _id("borrower_id", nullable=True),
    Column("payload", Text, nullable=False),  # canonical JSON: sorted keys, no spaces
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # arrears.domain.audit.chain_of(borrower_id); entries older than migration 0006 are chain 0
    Column("chain", SmallInteger, nullable=False, server_default=text("0")),
    CheckConstraint("kind IN ('decision', 'outcome', 'replay')", name="kind"),
)

#: One row per audit chain (0 .. AUDIT_CHAINS - 1, created by migration 0006): the last
#: sequence number and hash of that chain. Writers lock their chain's row to append; ``audit
#: verify`` checks each matches its chain's last entry. On PostgreSQL ``seq`` values come from
#: the sequence ``audit_log_seq`` (migration 0006).
audit_head = Table(
    "audit_head",
    metadata,
    Column("chain", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    CheckConstraint("chain >= 0", name="chain"),
)

# --- strategy decisions (issue 5): one row per account in arrears per plan date ------------

#: What the daily run decided for each account in arrears (migration 0004), so that
#: champion/challenger arms can be evaluated later (``arrears report arms``). A re-run of the
#: same plan date replaces that date's rows. No foreign key: the decision log outlives changes
#: to the portfolio tables.
decisions = Table(
    "decisions",
    metadata,
    Column("plan_date", Date, nullable=False),
    _id("account_id", nullable=False),
    _id("borrower_id", nullable=False),
    Column("strategy", String(64), nullable=False),
    Column("strategy_arm", String(64), nullable=False),
    Column("segment", String(64), nullable=False),
    Column("treatment", String(32), nullable=False),
    Column("bucket", String(16), nullable=False),
    Column("dpd", BigInteger, nullable=False),
    _minor("arrears_minor", nullable=False),
    Column("currency", String(3), nullable=False),
    Column("score", Float, nullable=True),  # propensity to pay, 0..1 (a probability, not money)
    PrimaryKeyConstraint("plan_date", "account_id"),
    Index(None, "account_id"),
)

#: Ledger tables that hold portfolio frames, parents first (insert order).
FRAME_TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        borrowers,
        accounts,
        installments,
        payments,
        statements,
        contact_history,
        delinquency_history,
    )
}

# --- promises to pay and repayment plans (issue 5, part C): migration 0005 -----------------

#: Statuses a promise to pay can have (``arrears.domain.plans.CommitmentStatus``).
PROMISE_STATUSES = ("pending", "kept", "broken")
#: Statuses a repayment plan can have: ``kept`` is the active plan being paid as agreed.
PLAN_STATUSES = ("kept", "broken", "completed", "replanned")
#: Events of the commitment history, past tense (``arrears.services.commitments``).
COMMITMENT_EVENTS = (
    "PromiseMade",
    "PromiseKept",
    "PromiseBroken",
    "PlanAgreed",
    "PlanKept",
    "PlanBroken",
    "PlanCompleted",
    "PlanReplanned",
)

#: A borrower's promise to pay ``amount_minor`` (of the account's ``currency``) by ``due_on``.
promises = Table(
    "promises",
    metadata,
    _id("promise_id", primary_key=True),
    _id("account_id", ForeignKey("accounts.account_id"), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    _minor("amount_minor", nullable=False),
    Column("made_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("channel", String(16), nullable=True),  # how the promise was taken
    Column("status", String(16), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    CheckConstraint("amount_minor > 0", name="amount_positive"),
    CheckConstraint("due_on >= made_on", name="due_after_made"),
    CheckConstraint("status IN ('pending', 'kept', 'broken')", name="status"),
    Index(None, "status"),
)

#: An agreed repayment plan; its schedule is in ``plan_installments``. ``replaces`` names the
#: plan it re-planned (``replans`` counts the re-plans of the chain so far).
repayment_plans = Table(
    "repayment_plans",
    metadata,
    _id("plan_id", primary_key=True),
    _id("account_id", ForeignKey("accounts.account_id"), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("agreed_on", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("replans", Integer, nullable=False),
    _id("replaces", ForeignKey("repayment_plans.plan_id"), nullable=True),
    Column("recorded_at", UtcDateTime(), nullable=False),
    CheckConstraint("replans >= 0", name="replans_non_negative"),
    CheckConstraint("status IN ('kept', 'broken', 'completed', 'replanned')", name="status"),
    Index(None, "status"),
)

plan_installments = Table(
    "plan_installments",
    metadata,
    _id("plan_id", ForeignKey("repayment_plans.plan_id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("due_on", Date, nullable=False),
    _minor("amount_minor", nullable=False),
    _minor("principal_minor", nullable=False),
    _minor("interest_minor", nullable=False),
    _minor("fees_minor", nullable=False),
    # The primary key leads with plan_id, so it doubles as the index on the foreign key.
    PrimaryKeyConstraint("plan_id", "seq"),
    CheckConstraint("seq >= 1", name="seq_positive"),
    CheckConstraint("amount_minor > 0", name="amount_positive"),
    CheckConstraint(
        "amount_minor = principal_minor + interest_minor + fees_minor", name="amount_adds_up"
    ),
)

#: Append-only history of every promise and plan: made/agreed, kept, broken, completed,
#: re-planned. ``event_on`` is the business date (the review's as-of date, or the day the
#: commitment was made); ``status`` the commitment's status after the event. No foreign key:
#: ``commitment_id`` names a promise or a plan (``kind``).
commitment_events = Table(
    "commitment_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(8), nullable=False),
    _id("commitment_id", nullable=False, index=True),
    _id("account_id", nullable=False, index=True),
    Column("event", String(24), nullable=False),
    Column("status", String(16), nullable=False),
    Column("event_on", Date, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    CheckConstraint("kind IN ('promise', 'plan')", name="kind"),
    CheckConstraint(
        "event IN ('PromiseMade', 'PromiseKept', 'PromiseBroken', 'PlanAgreed', 'PlanKept', "
        "'PlanBroken', 'PlanCompleted', 'PlanReplanned')",
        name="event",
    ),
)
