"""Strategy decisions: what the daily run decided per account in arrears and plan date.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

Mirrors ``arrears.adapters.db.tables.decisions``: one row per (plan date, account) naming the
strategy, its arm, segment and treatment, with the bucket, DPD and arrears amount (BIGINT minor
units) of that day, so that champion/challenger arms can be evaluated later. No foreign key.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``decisions`` and its account index."""
    op.create_table(
        "decisions",
        sa.Column("plan_date", sa.Date(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("strategy", sa.String(length=64), nullable=False),
        sa.Column("strategy_arm", sa.String(length=64), nullable=False),
        sa.Column("segment", sa.String(length=64), nullable=False),
        sa.Column("treatment", sa.String(length=32), nullable=False),
        sa.Column("bucket", sa.String(length=16), nullable=False),
        sa.Column("dpd", sa.BigInteger(), nullable=False),
        sa.Column("arrears_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("plan_date", "account_id", name=op.f("pk_decisions")),
    )
    op.create_index(op.f("ix_decisions_account_id"), "decisions", ["account_id"], unique=False)


def downgrade() -> None:
    """Drop ``decisions``."""
    op.drop_index(op.f("ix_decisions_account_id"), table_name="decisions")
    op.drop_table("decisions")
