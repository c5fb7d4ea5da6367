"""Borrowers' consent hours.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

``borrowers.consent_hours``: the hours the borrower agreed to be contacted, local time,
``HH:MM-HH:MM`` (end ``00:00`` = midnight), null when none (the portfolio column of the same
name). The gate and the daily plan pass them to the engine, where they replace the window of
the hours rules marked ``consent_overrides`` (CN).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add borrowers.consent_hours (nullable)."""
    op.add_column("borrowers", sa.Column("consent_hours", sa.String(length=11), nullable=True))


def downgrade() -> None:
    """Drop borrowers.consent_hours (SQLite 3.35+ drops a column in place; a batch copy of
    ``borrowers`` would trip the foreign keys that point at it)."""
    op.execute("ALTER TABLE borrowers DROP COLUMN consent_hours")
