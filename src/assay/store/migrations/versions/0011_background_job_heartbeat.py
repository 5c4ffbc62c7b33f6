"""background_jobs.heartbeat_at: refreshed by a running job's worker, so that a job whose
worker died can be failed as stalled.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 18:00:00
"""

import sqlalchemy as sa
from alembic import op

import assay.store.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("background_jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("heartbeat_at", assay.store.types.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("background_jobs", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
