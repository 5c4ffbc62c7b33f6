"""Versioned quality settings: projects.quality_settings_version, quality_scores.settings_version
(the version each score was computed with) and quality_settings_history (one row per version:
values, who, when). Existing projects and scores are version 1.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 20:30:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import assay.store.types

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "quality_settings_version",
                sa.Integer(),
                server_default=sa.text("1"),
                nullable=False,
            )
        )
    with op.batch_alter_table("quality_scores", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("settings_version", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
    op.create_table(
        "quality_settings_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "settings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", assay.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["users.id"],
            name=op.f("fk_quality_settings_history_changed_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_quality_settings_history_project_id_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_settings_history")),
    )
    with op.batch_alter_table("quality_settings_history", schema=None) as batch_op:
        batch_op.create_index("uq_quality_settings_history", ["project_id", "version"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("quality_settings_history", schema=None) as batch_op:
        batch_op.drop_index("uq_quality_settings_history")
    op.drop_table("quality_settings_history")
    with op.batch_alter_table("quality_scores", schema=None) as batch_op:
        batch_op.drop_column("settings_version")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("quality_settings_version")
