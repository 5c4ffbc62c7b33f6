"""guidelines (#19 items 3, 4): guideline_versions (never deleted), guideline_reads, the GT
re-check queue (guideline_rechecks), the edge-case log (edge_cases); the guideline version in
force on projects, annotation_revisions and ground_truth_changes

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04 16:00:00
"""

import sqlalchemy as sa
from alembic import op

import assay.store.types

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

UTC = assay.store.types.UTCDateTime
IN_FORCE = ("projects", "annotation_revisions", "ground_truth_changes")


def _fk(table: str, column: str, other: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{other}.id"], name=op.f(f"fk_{table}_{column}_{other}")
    )


def upgrade() -> None:
    for table in IN_FORCE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("guideline_version", sa.Integer(), nullable=True))
    op.create_table(
        "guideline_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("markdown", sa.Text(), nullable=False),
        sa.Column("change_log", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        _fk("guideline_versions", "project_id", "projects"),
        _fk("guideline_versions", "author_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guideline_versions")),
    )
    with op.batch_alter_table("guideline_versions", schema=None) as batch_op:
        batch_op.create_index(
            "uq_guideline_versions_version", ["project_id", "version"], unique=True
        )
    op.create_table(
        "guideline_reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("read_at", UTC(), nullable=False),
        _fk("guideline_reads", "project_id", "projects"),
        _fk("guideline_reads", "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guideline_reads")),
    )
    with op.batch_alter_table("guideline_reads", schema=None) as batch_op:
        batch_op.create_index("uq_guideline_reads_member", ["project_id", "user_id"], unique=True)
    op.create_table(
        "guideline_rechecks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("guideline_version", sa.Integer(), nullable=False),
        sa.Column("gt_annotation_id", sa.Integer(), nullable=False),
        sa.Column("gt_revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("resolved_annotation_id", sa.Integer(), nullable=True),
        sa.Column("resolved_revision", sa.Integer(), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", UTC(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        _fk("guideline_rechecks", "project_id", "projects"),
        _fk("guideline_rechecks", "task_id", "tasks"),
        _fk("guideline_rechecks", "gt_annotation_id", "annotations"),
        _fk("guideline_rechecks", "resolved_annotation_id", "annotations"),
        _fk("guideline_rechecks", "resolved_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guideline_rechecks")),
    )
    with op.batch_alter_table("guideline_rechecks", schema=None) as batch_op:
        batch_op.create_index("ix_guideline_rechecks_project", ["project_id", "status", "task_id"])
    op.create_table(
        "edge_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", UTC(), nullable=True),
        sa.Column("guideline_version", sa.Integer(), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", UTC(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        _fk("edge_cases", "project_id", "projects"),
        _fk("edge_cases", "task_id", "tasks"),
        _fk("edge_cases", "job_id", "jobs"),
        _fk("edge_cases", "answered_by_id", "users"),
        _fk("edge_cases", "resolved_by_id", "users"),
        _fk("edge_cases", "created_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edge_cases")),
    )
    with op.batch_alter_table("edge_cases", schema=None) as batch_op:
        batch_op.create_index("ix_edge_cases_project", ["project_id", "status"])
        batch_op.create_index("ix_edge_cases_author", ["project_id", "created_by_id"])


def downgrade() -> None:
    for table, indexes in (
        ("edge_cases", ("ix_edge_cases_project", "ix_edge_cases_author")),
        ("guideline_rechecks", ("ix_guideline_rechecks_project",)),
        ("guideline_reads", ("uq_guideline_reads_member",)),
        ("guideline_versions", ("uq_guideline_versions_version",)),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for index in indexes:
                batch_op.drop_index(index)
        op.drop_table(table)
    for table in reversed(IN_FORCE):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("guideline_version")
