"""Four more borrower status flags the rules already read.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

``borrowers.complaint_open`` (ALL.HOLD.COMPLAINT), ``hardship_pause`` (ALL.HOLD.VULNERABLE),
``no_workplace_contact`` (ALL.NO_WORKPLACE, US.NO_WORKPLACE) and ``validation_sent`` (lifts
the dispute holds): the portfolio columns of the same names. Booleans, false for every
existing borrower.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLAGS = ("complaint_open", "hardship_pause", "no_workplace_contact", "validation_sent")


def upgrade() -> None:
    """Add the four flag columns, false for existing rows."""
    for flag in FLAGS:
        op.add_column(
            "borrowers",
            sa.Column(flag, sa.Boolean(), nullable=False, server_default=sa.false()),
        )


def downgrade() -> None:
    """Drop them (in place: a batch copy of ``borrowers`` would trip its foreign keys)."""
    for flag in FLAGS:
        op.execute(f"ALTER TABLE borrowers DROP COLUMN {flag}")
