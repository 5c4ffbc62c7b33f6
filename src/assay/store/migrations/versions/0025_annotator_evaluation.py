"""annotator evaluation (#21): projects.evaluation_settings, evaluation_pauses (never deleted),
onboarding_servings (GT tasks served to onboarding annotators), evaluation_standings

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 15:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import assay.store.types

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC = assay.store.types.UTCDateTime


def _fk(table: str, column: str, other: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{other}.id"], name=op.f(f"fk_{table}_{column}_{other}")
    )


def upgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("evaluation_settings", JSON, server_default=sa.text("'{}'"), nullable=False)
        )
    op.create_table(
        "evaluation_pauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("trigger", sa.String(length=10), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("scored", sa.Integer(), nullable=True),
        sa.Column("paused_by_id", sa.Integer(), nullable=True),
        sa.Column("paused_at", UTC(), nullable=False),
        sa.Column("unpaused_by_id", sa.Integer(), nullable=True),
        sa.Column("unpaused_at", UTC(), nullable=True),
        _fk("evaluation_pauses", "project_id", "projects"),
        _fk("evaluation_pauses", "user_id", "users"),
        _fk("evaluation_pauses", "paused_by_id", "users"),
        _fk("evaluation_pauses", "unpaused_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_pauses")),
    )
    with op.batch_alter_table("evaluation_pauses", schema=None) as batch_op:
        batch_op.create_index("ix_evaluation_pauses_member", ["project_id", "user_id"])
    op.create_table(
        "onboarding_servings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("served_at", UTC(), nullable=False),
        _fk("onboarding_servings", "project_id", "projects"),
        _fk("onboarding_servings", "user_id", "users"),
        _fk("onboarding_servings", "job_id", "jobs"),
        _fk("onboarding_servings", "task_id", "tasks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onboarding_servings")),
    )
    with op.batch_alter_table("onboarding_servings", schema=None) as batch_op:
        batch_op.create_index("ix_onboarding_servings_member", ["project_id", "user_id"])
    op.create_table(
        "evaluation_standings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=True),
        sa.Column("below", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("verdict", sa.String(length=10), nullable=True),
        sa.Column("verdict_at", UTC(), nullable=True),
        sa.Column("updated_at", UTC(), nullable=False),
        _fk("evaluation_standings", "project_id", "projects"),
        _fk("evaluation_standings", "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_standings")),
    )
    with op.batch_alter_table("evaluation_standings", schema=None) as batch_op:
        batch_op.create_index(
            "uq_evaluation_standings_member", ["project_id", "user_id"], unique=True
        )


def downgrade() -> None:
    for table, index in (
        ("evaluation_standings", "uq_evaluation_standings_member"),
        ("onboarding_servings", "ix_onboarding_servings_member"),
        ("evaluation_pauses", "ix_evaluation_pauses_member"),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(index)
        op.drop_table(table)
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("evaluation_settings")
