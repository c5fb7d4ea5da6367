"""Consent hours per channel: ``borrowers.consent_hours`` widened from 11 to 200 characters.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

A cell may now hold hours for every channel and per channel (``09:00-21:00|call=07:30-00:00``).
On SQLite the table is rebuilt (batch mode; migrations/env.py checks every foreign key after).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Widen the column."""
    _retype(sa.String(11), sa.String(200))


def _retype(old: sa.String, new: sa.String) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("borrowers", "consent_hours", type_=new, existing_type=old)
        return
    # SQLite rebuilds the table (env.py turns foreign keys off meanwhile and checks them all
    # before the commit)
    with op.batch_alter_table("borrowers") as batch:
        batch.alter_column("consent_hours", type_=new, existing_type=old)


def downgrade() -> None:
    """Narrow it back; per-channel hours no longer fit, so they are dropped (PostgreSQL), and
    on SQLite cleared, leaving only cells in the single-window form."""
    op.execute("UPDATE borrowers SET consent_hours = NULL WHERE length(consent_hours) > 11")
    _retype(sa.String(200), sa.String(11))
