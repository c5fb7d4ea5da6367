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
    ForeignKey,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
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

#: Ledger tables that hold portfolio frames, parents first (insert order).
FRAME_TABLES: dict[str, Table] = {
    t.name: t for t in (borrowers, accounts, installments, payments, statements, contact_history)
}
