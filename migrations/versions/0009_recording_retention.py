"""Recording duties on the contact ledger.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

``contact_ledger.keep_recording_until``: until when the contact's recording must be kept, set
by the gate when a ``record_keeping`` rule applies (TW.RECORDING.RETENTION: six months), null
otherwise; ``contact_ledger.recording_ref``: the recording's reference, given with the outcome.
Both null for existing rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the two nullable columns."""
    op.add_column(
        "contact_ledger",
        sa.Column("keep_recording_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column("contact_ledger", sa.Column("recording_ref", sa.String(200), nullable=True))


def downgrade() -> None:
    """Drop them (in place: a batch copy would trip the table's foreign keys)."""
    op.execute("ALTER TABLE contact_ledger DROP COLUMN recording_ref")
    op.execute("ALTER TABLE contact_ledger DROP COLUMN keep_recording_until")
