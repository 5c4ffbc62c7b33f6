"""tasks.media_path: the media file a task shows, for per-project access to media

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 16:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("media_path", sa.String(length=1000), nullable=True))
        batch_op.create_index("ix_tasks_media_path", ["media_path"], unique=False)
    # Existing tasks: the first data value under /data/media/ (as services.tasks.media_path_of).
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            UPDATE tasks SET media_path = (
                SELECT left(substr(e.value, 13), 1000) FROM jsonb_each_text(tasks.data) e
                WHERE e.value LIKE '/data/media/%' LIMIT 1)
            WHERE tasks.data::text LIKE '%/data/media/%'
            """
        )
    else:
        op.execute(
            """
            UPDATE tasks SET media_path = (
                SELECT substr(substr(e.value, 13), 1, 1000) FROM json_each(tasks.data) e
                WHERE e.type = 'text' AND e.value LIKE '/data/media/%' LIMIT 1)
            WHERE tasks.data LIKE '%/data/media/%'
            """
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_media_path")
        batch_op.drop_column("media_path")
