"""one standing review per reviewer and annotation; unique job hand-in attempts

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 17:25:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(
            "uq_reviews_standing",
            ["annotation_id", "reviewer_id"],
            unique=True,
            sqlite_where=sa.text("undone_at IS NULL"),
            postgresql_where=sa.text("undone_at IS NULL"),
        )
    with op.batch_alter_table("job_submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_job_submissions_job_user")
        batch_op.create_index(
            "uq_job_submissions_attempt", ["job_id", "user_id", "attempt"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("job_submissions", schema=None) as batch_op:
        batch_op.drop_index("uq_job_submissions_attempt")
        batch_op.create_index(
            "ix_job_submissions_job_user", ["job_id", "user_id", "attempt"], unique=False
        )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index("uq_reviews_standing")
