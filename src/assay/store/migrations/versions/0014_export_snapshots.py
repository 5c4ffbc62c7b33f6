"""export_snapshots and export_snapshot_files: Label Studio's export snapshots, written by a
background job as one file per export type

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 10:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import assay.store.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "export_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=2048), nullable=False),
        sa.Column(
            "options",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("background_job_id", sa.Integer(), nullable=True),
        sa.Column("task_number", sa.Integer(), nullable=True),
        sa.Column("md5", sa.String(length=32), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", assay.store.types.UTCDateTime(), nullable=False),
        sa.Column("deleted_at", assay.store.types.UTCDateTime(), nullable=True),
        sa.Column("deleted_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["background_job_id"],
            ["background_jobs.id"],
            name=op.f("fk_export_snapshots_background_job_id_background_jobs"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_export_snapshots_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["deleted_by_id"], ["users.id"], name=op.f("fk_export_snapshots_deleted_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_export_snapshots_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_snapshots")),
    )
    with op.batch_alter_table("export_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_export_snapshots_project", ["project_id", "deleted_at"], unique=False
        )

    op.create_table(
        "export_snapshot_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("export_type", sa.String(length=20), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("md5", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("finished_at", assay.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["export_snapshots.id"],
            name=op.f("fk_export_snapshot_files_snapshot_id_export_snapshots"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_snapshot_files")),
    )
    with op.batch_alter_table("export_snapshot_files", schema=None) as batch_op:
        batch_op.create_index(
            "uq_export_snapshot_files_type", ["snapshot_id", "export_type"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("export_snapshot_files", schema=None) as batch_op:
        batch_op.drop_index("uq_export_snapshot_files_type")
    op.drop_table("export_snapshot_files")
    with op.batch_alter_table("export_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_export_snapshots_project")
    op.drop_table("export_snapshots")
