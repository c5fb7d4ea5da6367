"""Promises to pay and repayment plans tracked in the ledger, with their history.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Mirrors ``arrears.adapters.db.tables``: ``promises`` (amount in BIGINT minor units of the
account's currency, made and due dates, channel, status pending | kept | broken),
``repayment_plans`` (agreed date, status kept | broken | completed | replanned, re-plan count
and the plan it replaces) with ``plan_installments`` (the exact schedule, one row per
installment, amount = principal + interest + fees), and ``commitment_events``, the
append-only history of every status change with its business date and the UTC instant it
was recorded. Constraint names follow the metadata's naming convention (SQLite batch
migrations need them).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create promises, repayment_plans, plan_installments and commitment_events."""
    op.create_table(
        "promises",
        sa.Column("promise_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("made_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_promises_amount_positive")),
        sa.CheckConstraint("due_on >= made_on", name=op.f("ck_promises_due_after_made")),
        sa.CheckConstraint(
            "status IN ('pending', 'kept', 'broken')", name=op.f("ck_promises_status")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name=op.f("fk_promises_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("promise_id", name=op.f("pk_promises")),
    )
    op.create_index(op.f("ix_promises_account_id"), "promises", ["account_id"])
    op.create_index(op.f("ix_promises_status"), "promises", ["status"])

    op.create_table(
        "repayment_plans",
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("agreed_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("replans", sa.Integer(), nullable=False),
        sa.Column("replaces", sa.String(length=64), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("replans >= 0", name=op.f("ck_repayment_plans_replans_non_negative")),
        sa.CheckConstraint(
            "status IN ('kept', 'broken', 'completed', 'replanned')",
            name=op.f("ck_repayment_plans_status"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_repayment_plans_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["replaces"],
            ["repayment_plans.plan_id"],
            name=op.f("fk_repayment_plans_replaces_repayment_plans"),
        ),
        sa.PrimaryKeyConstraint("plan_id", name=op.f("pk_repayment_plans")),
    )
    op.create_index(op.f("ix_repayment_plans_account_id"), "repayment_plans", ["account_id"])
    op.create_index(op.f("ix_repayment_plans_status"), "repayment_plans", ["status"])

    op.create_table(
        "plan_installments",
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("principal_minor", sa.BigInteger(), nullable=False),
        sa.Column("interest_minor", sa.BigInteger(), nullable=False),
        sa.Column("fees_minor", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_plan_installments_seq_positive")),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_plan_installments_amount_positive")),
        sa.CheckConstraint(
            "amount_minor = principal_minor + interest_minor + fees_minor",
            name=op.f("ck_plan_installments_amount_adds_up"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["repayment_plans.plan_id"],
            name=op.f("fk_plan_installments_plan_id_repayment_plans"),
        ),
        sa.PrimaryKeyConstraint("plan_id", "seq", name=op.f("pk_plan_installments")),
    )

    op.create_table(
        "commitment_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("commitment_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("event_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('promise', 'plan')", name=op.f("ck_commitment_events_kind")),
        sa.CheckConstraint(
            "event IN ('PromiseMade', 'PromiseKept', 'PromiseBroken', 'PlanAgreed', 'PlanKept', "
            "'PlanBroken', 'PlanCompleted', 'PlanReplanned')",
            name=op.f("ck_commitment_events_event"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitment_events")),
    )
    op.create_index(
        op.f("ix_commitment_events_commitment_id"), "commitment_events", ["commitment_id"]
    )
    op.create_index(op.f("ix_commitment_events_account_id"), "commitment_events", ["account_id"])


def downgrade() -> None:
    """Drop the commitment tables (and their history)."""
    op.drop_index(op.f("ix_commitment_events_account_id"), table_name="commitment_events")
    op.drop_index(op.f("ix_commitment_events_commitment_id"), table_name="commitment_events")
    op.drop_table("commitment_events")
    op.drop_table("plan_installments")
    op.drop_index(op.f("ix_repayment_plans_status"), table_name="repayment_plans")
    op.drop_index(op.f("ix_repayment_plans_account_id"), table_name="repayment_plans")
    op.drop_table("repayment_plans")
    op.drop_index(op.f("ix_promises_status"), table_name="promises")
    op.drop_index(op.f("ix_promises_account_id"), table_name="promises")
    op.drop_table("promises")
