"""conflict_decisions: leads' decisions on groups of conflicts with the GT (never deleted)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-04 16:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import assay.store.types

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _fk(table: str, column: str, other: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{other}.id"], name=op.f(f"fk_{table}_{column}_{other}")
    )


def upgrade() -> None:
    op.create_table(
        "conflict_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("group_key", sa.String(length=1000), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("conflicts", JSON, nullable=False),
        sa.Column("task_ids", JSON, nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", assay.store.types.UTCDateTime(), nullable=False),
        _fk("conflict_decisions", "project_id", "projects"),
        _fk("conflict_decisions", "decided_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conflict_decisions")),
    )
    with op.batch_alter_table("conflict_decisions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conflict_decisions_key", ["project_id", "group_key"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("conflict_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_conflict_decisions_key")
    op.drop_table("conflict_decisions")
