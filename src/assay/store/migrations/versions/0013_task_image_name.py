"""tasks.image_name: the file name of a task's image, indexed per project, so that a label file
naming `a.png` finds the task whose image is /data/media/project-2/a.png

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 18:00:00
"""

import sqlalchemy as sa
from alembic import op

from assay.formats.image_names import image_name_of
from assay.formats.label_config import LabelConfigError, parse_label_config

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("image_name", sa.String(length=255), nullable=True))
        batch_op.create_index(
            "ix_tasks_project_image_name", ["project_id", "image_name"], unique=False
        )
    bind = op.get_bind()
    tasks = sa.table(
        "tasks",
        sa.column("id", sa.Integer),
        sa.column("project_id", sa.Integer),
        sa.column("data", sa.JSON),
        sa.column("image_name", sa.String),
    )
    for project_id, xml in bind.execute(sa.text("SELECT id, label_config FROM projects")):
        try:
            field = parse_label_config(xml or "").image_key()
        except LabelConfigError:
            field = None
        if field is None:
            continue
        rows = bind.execute(
            sa.select(tasks.c.id, tasks.c.data).where(tasks.c.project_id == project_id)
        ).all()
        names = [{"task_id": i, "name": image_name_of((data or {}).get(field))} for i, data in rows]
        for start in range(0, len(names), BATCH):
            bind.execute(
                tasks.update()
                .where(tasks.c.id == sa.bindparam("task_id"))
                .values(image_name=sa.bindparam("name")),
                names[start : start + BATCH],
            )


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_project_image_name")
        batch_op.drop_column("image_name")
