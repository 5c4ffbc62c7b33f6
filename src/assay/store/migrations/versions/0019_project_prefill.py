"""projects.show_collab_predictions, projects.model_version: predictions pre-fill the editor

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 20:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "show_collab_predictions", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column("model_version", sa.String(length=200), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("model_version")
        batch_op.drop_column("show_collab_predictions")
