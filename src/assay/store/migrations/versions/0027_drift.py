"""drift monitoring (#19 item 5): drift_settings, drift_audits, drift_feedback

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04 16:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import assay.store.types

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC = assay.store.types.UTCDateTime


def _fk(table: str, column: str, other: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{other}.id"], name=op.f(f"fk_{table}_{column}_{other}")
    )


def upgrade() -> None:
    op.create_table(
        "drift_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("psi_threshold", sa.Float(), nullable=False),
        sa.Column("ks_p_threshold", sa.Float(), nullable=False),
        sa.Column("mean_drop_threshold", sa.Float(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", UTC(), nullable=False),
        _fk("drift_settings", "project_id", "projects"),
        _fk("drift_settings", "changed_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_settings")),
    )
    with op.batch_alter_table("drift_settings", schema=None) as batch_op:
        batch_op.create_index("uq_drift_settings_project", ["project_id"], unique=True)
    op.create_table(
        "drift_audits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=200), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("sampling", JSON, nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        _fk("drift_audits", "project_id", "projects"),
        _fk("drift_audits", "job_id", "jobs"),
        _fk("drift_audits", "created_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_audits")),
    )
    with op.batch_alter_table("drift_audits", schema=None) as batch_op:
        batch_op.create_index("ix_drift_audits_project", ["project_id", "created_at"])
    op.create_table(
        "drift_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("prediction_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        _fk("drift_feedback", "project_id", "projects"),
        _fk("drift_feedback", "task_id", "tasks"),
        _fk("drift_feedback", "prediction_id", "predictions"),
        _fk("drift_feedback", "audit_id", "drift_audits"),
        _fk("drift_feedback", "created_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_feedback")),
    )
    with op.batch_alter_table("drift_feedback", schema=None) as batch_op:
        batch_op.create_index("ix_drift_feedback_project", ["project_id", "created_at"])
        batch_op.create_index("ix_drift_feedback_task", ["task_id"])


def downgrade() -> None:
    op.drop_table("drift_feedback")
    op.drop_table("drift_audits")
    op.drop_table("drift_settings")
