"""Audit log as 64 hash chains by borrower, numbered by one sequence.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

With one chain every gate transaction queued for the single ``audit_head`` row and held it
across its commit (the WAL flush), which capped the gate at one commit at a time. Now:

* ``audit_log.chain`` (0 .. 63): the chain of the entry, ``arrears.domain.audit.chain_of``
  of its borrower (0 for entries without one). Entries written before this migration form
  chain 0 as they are: their hashes and links stay valid.
* ``audit_head`` has one row per chain (column ``id`` renamed ``chain``; the single-row check
  dropped); the existing head becomes chain 0's and the other 63 start at the genesis hash.
* PostgreSQL: ``seq`` comes from the sequence ``audit_log_seq`` (taken after the chain head is
  locked, so it increases along each chain; a rolled-back transaction leaves a gap). SQLite
  has one writer at a time and numbers entries ``max(seq) + 1``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHAINS = 64  # arrears.domain.audit.AUDIT_CHAINS when this migration was written
GENESIS = "0" * 64


def upgrade() -> None:
    """Add audit_log.chain, one audit_head row per chain and (PostgreSQL) audit_log_seq."""
    op.add_column(
        "audit_log",
        sa.Column("chain", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
    )
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_constraint(op.f("ck_audit_head_single_row"), type_="check")
        batch.alter_column("id", new_column_name="chain", existing_type=sa.Integer(),
                           existing_nullable=False)  # fmt: skip
        batch.create_check_constraint(op.f("ck_audit_head_chain"), "chain >= 0")
    op.execute("UPDATE audit_head SET chain = 0 WHERE chain = 1")
    heads = sa.table(
        "audit_head",
        sa.column("chain", sa.Integer()),
        sa.column("seq", sa.BigInteger()),
        sa.column("hash", sa.String()),
        sa.column("prev_hash", sa.String()),
    )
    present = {r[0] for r in op.get_bind().execute(sa.select(heads.c.chain))}
    rows = [
        {"chain": c, "seq": 0, "hash": GENESIS, "prev_hash": GENESIS}
        for c in range(CHAINS)
        if c not in present
    ]
    if rows:
        op.bulk_insert(heads, rows)
    if op.get_context().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE audit_log_seq AS bigint OWNED BY audit_log.seq")
        op.execute(
            "SELECT setval('audit_log_seq', COALESCE((SELECT max(seq) FROM audit_log), 0) + 1, "
            "false)"
        )


def downgrade() -> None:
    """Back to one chain; refused once any entry was written to a chain other than 0."""
    bind = op.get_bind()
    other = bind.execute(sa.text("SELECT count(*) FROM audit_log WHERE chain <> 0")).scalar()
    if other:
        raise RuntimeError(
            f"{other} audit entries are in chains other than 0: a single-chain log cannot "
            "hold them without rewriting history (to discard the ledger, drop its database "
            "or schema instead)"
        )
    # The single-chain verifier wants seq 1, 2, 3 ... without gaps (PostgreSQL's sequence
    # leaves one per rolled-back append).
    count, top = bind.execute(
        sa.text("SELECT count(*), coalesce(max(seq), 0) FROM audit_log")
    ).one()
    if count != top:
        raise RuntimeError(
            f"the audit log has gaps in its numbering ({count} entries up to seq {top}): the "
            "single-chain log before 0006 would read them as removed entries"
        )
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE IF EXISTS audit_log_seq")
    op.execute("DELETE FROM audit_head WHERE chain <> 0")
    op.execute("UPDATE audit_head SET chain = 1 WHERE chain = 0")
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_constraint(op.f("ck_audit_head_chain"), type_="check")
        batch.alter_column("chain", new_column_name="id", existing_type=sa.Integer(),
                           existing_nullable=False)  # fmt: skip
        batch.create_check_constraint(op.f("ck_audit_head_single_row"), "id = 1")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("chain")
