"""Contact gate: contact ledger, hash-chained audit log and its head row.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

``contact_ledger`` holds every contact the gate let through (``reserved`` until its outcome is
recorded, then ``completed``; ``cancelled`` when it was never made). ``audit_log`` is
append-only: every gate decision (allowed or blocked), every outcome and every replay is one
entry, chained by SHA-256 (see ``arrears.adapters.db.gate_repo``). ``audit_head`` is a single
row holding the chain's last sequence number and hash: writers lock it to append. It is
created by the first append (an empty ledger has no rows at all).

On PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE on ``audit_log``, so even a
program with write access to the table cannot rewrite history without first altering the
schema (which ``arrears audit verify`` would still catch through the chain). SQLite has no
such guard beyond the code, which never updates or deletes an audit entry.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PG_GUARD = """
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
"""


def upgrade() -> None:
    """Create contact_ledger, audit_log and audit_head (+ the PostgreSQL guard)."""
    op.create_table(
        "contact_ledger",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("party", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=24), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=True),
        sa.Column("attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("conversation", sa.Boolean(), nullable=False),
        sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_audit_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "status IN ('reserved', 'completed', 'cancelled')",
            name=op.f("ck_contact_ledger_status"),
        ),
        sa.ForeignKeyConstraint(
            ["borrower_id"],
            ["borrowers.borrower_id"],
            name=op.f("fk_contact_ledger_borrower_id_borrowers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_ledger")),
    )
    op.create_index(
        op.f("ix_contact_ledger_borrower_id_attempt_at"),
        "contact_ledger",
        ["borrower_id", "attempt_at"],
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "kind IN ('decision', 'outcome', 'replay')", name=op.f("ck_audit_log_kind")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute(_PG_GUARD)


def downgrade() -> None:
    """Drop the gate tables (and the PostgreSQL guard)."""
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_refuse_change()")
    op.drop_table("audit_head")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_contact_ledger_borrower_id_attempt_at"), table_name="contact_ledger")
    op.drop_table("contact_ledger")
