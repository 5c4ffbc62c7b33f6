"""the rework loop (#18): a project's review settings, a reject's reason, reviews superseded by a
resubmission (no longer standing), a job accepted (closed) by a lead

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 20:30:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import assay.store.types

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

STANDING = "undone_at IS NULL AND superseded_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "review_settings",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                server_default=sa.text("'{}'"),
                nullable=False,
            )
        )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("superseded_at", assay.store.types.UTCDateTime(), nullable=True)
        )
        batch_op.drop_index("uq_reviews_standing")
        batch_op.create_index(
            "uq_reviews_standing",
            ["annotation_id", "reviewer_id"],
            unique=True,
            sqlite_where=sa.text(STANDING),
            postgresql_where=sa.text(STANDING),
        )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("accepted_at", assay.store.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("accepted_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_jobs_accepted_by_id_users", "users", ["accepted_by_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint("fk_jobs_accepted_by_id_users", type_="foreignkey")
        batch_op.drop_column("accepted_by_id")
        batch_op.drop_column("accepted_at")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index("uq_reviews_standing")
        batch_op.create_index(
            "uq_reviews_standing",
            ["annotation_id", "reviewer_id"],
            unique=True,
            sqlite_where=sa.text("undone_at IS NULL"),
            postgresql_where=sa.text("undone_at IS NULL"),
        )
        batch_op.drop_column("superseded_at")
        batch_op.drop_column("reason")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("review_settings")
