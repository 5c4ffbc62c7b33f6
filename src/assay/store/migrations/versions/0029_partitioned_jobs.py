"""partitioned background jobs (#20): a job's parts are child rows (parent_id), the parent
counts the parts not done (parts_left); each row records its attempts and the worker that ran it

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05 17:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("background_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("parts_left", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(
            sa.Column("worker", sa.String(length=120), nullable=False, server_default="")
        )
        batch_op.create_foreign_key(
            op.f("fk_background_jobs_parent_id_background_jobs"),
            "background_jobs",
            ["parent_id"],
            ["id"],
        )
        batch_op.create_index("ix_background_jobs_parent", ["parent_id", "status"])


def downgrade() -> None:
    with op.batch_alter_table("background_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_background_jobs_parent")
        batch_op.drop_constraint(
            op.f("fk_background_jobs_parent_id_background_jobs"), type_="foreignkey"
        )
        batch_op.drop_column("worker")
        batch_op.drop_column("attempts")
        batch_op.drop_column("parts_left")
        batch_op.drop_column("parent_id")
