"""Monthly delinquency history: reported DPD at each billing-cycle end (optional table).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

Mirrors ``arrears.adapters.db.tables.delinquency_history``: one row per account and cycle end,
``dpd`` a non-negative whole number of days. Constraint names follow the metadata's naming
convention (SQLite batch migrations need them).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``delinquency_history``."""
    op.create_table(
        "delinquency_history",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("cycle_date", sa.Date(), nullable=False),
        sa.Column("dpd", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("dpd >= 0", name=op.f("ck_delinquency_history_dpd_non_negative")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_delinquency_history_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("account_id", "cycle_date", name=op.f("pk_delinquency_history")),
    )


def downgrade() -> None:
    """Drop ``delinquency_history``."""
    op.drop_table("delinquency_history")
