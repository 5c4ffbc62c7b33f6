"""projects.visibility and projects.hourly_rate, annotations.active_time, saved_views:
who sees whose work (blind | shared), what an hour of annotation costs, the active seconds the
editor measured, and the Data Manager's saved filters (personal or project-wide)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 20:30:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import assay.store.types

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("visibility", sa.String(length=10), nullable=False, server_default="blind")
        )
        batch_op.add_column(sa.Column("hourly_rate", sa.Float(), nullable=True))
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("active_time", sa.Float(), nullable=True))
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", assay.store.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", assay.store.types.UTCDateTime(), nullable=False),
        sa.Column("deleted_at", assay.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_saved_views_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_saved_views_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
    )
    op.create_index(op.f("ix_saved_views_project_id"), "saved_views", ["project_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_saved_views_project_id"), table_name="saved_views")
    op.drop_table("saved_views")
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.drop_column("active_time")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("hourly_rate")
        batch_op.drop_column("visibility")
