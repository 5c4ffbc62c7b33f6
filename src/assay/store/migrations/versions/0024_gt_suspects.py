"""gt_suspects (suspected GT errors as last computed), gt_suspect_decisions (confirmed or
dismissed, by whom, when, why) and ground_truth_changes.note (why a GT changed)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 20:45:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import assay.store.types

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _fk(table: str, column: str, other: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{other}.id"], name=op.f(f"fk_{table}_{column}_{other}")
    )


def upgrade() -> None:
    with op.batch_alter_table("ground_truth_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))
    op.create_table(
        "gt_suspects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("gt_annotation_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.String(length=200), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("annotator_score", sa.Float(), nullable=True),
        sa.Column("model_score", sa.Float(), nullable=True),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("computed_at", assay.store.types.UTCDateTime(), nullable=False),
        _fk("gt_suspects", "project_id", "projects"),
        _fk("gt_suspects", "task_id", "tasks"),
        _fk("gt_suspects", "gt_annotation_id", "annotations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gt_suspects")),
    )
    with op.batch_alter_table("gt_suspects", schema=None) as batch_op:
        batch_op.create_index("uq_gt_suspects_key", ["project_id", "key"], unique=True)
        batch_op.create_index("ix_gt_suspects_task", ["task_id", "score"], unique=False)
    op.create_table(
        "gt_suspect_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("gt_revision", sa.Integer(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", assay.store.types.UTCDateTime(), nullable=False),
        _fk("gt_suspect_decisions", "project_id", "projects"),
        _fk("gt_suspect_decisions", "task_id", "tasks"),
        _fk("gt_suspect_decisions", "decided_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gt_suspect_decisions")),
    )
    with op.batch_alter_table("gt_suspect_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_gt_suspect_decisions_key", ["project_id", "key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("gt_suspect_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_gt_suspect_decisions_key")
    op.drop_table("gt_suspect_decisions")
    with op.batch_alter_table("gt_suspects", schema=None) as batch_op:
        batch_op.drop_index("ix_gt_suspects_task")
        batch_op.drop_index("uq_gt_suspects_key")
    op.drop_table("gt_suspects")
    with op.batch_alter_table("ground_truth_changes", schema=None) as batch_op:
        batch_op.drop_column("note")
