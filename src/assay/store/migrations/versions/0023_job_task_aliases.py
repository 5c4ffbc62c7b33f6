"""job_tasks.alias: the id a job's annotators know each of its tasks by (issue #16 H2)

A random integer in [2**30, 2**31 - 1), unique over the table (index uq_job_tasks_alias):
out of the range real task ids reach, and saying nothing of the task's age, so that a
honeypot (an older task with GT) looks like the job's new tasks. Existing rows get one each.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 20:30:00
"""

import random

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

ALIAS_MIN = 2**30  # as services.task_aliases: a migration keeps its own copy of the numbers
ALIAS_END = 2**31 - 1


def upgrade() -> None:
    with op.batch_alter_table("job_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alias", sa.Integer(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT job_id, task_id FROM job_tasks")).all()
    aliases = random.SystemRandom().sample(range(ALIAS_MIN, ALIAS_END), len(rows))
    if rows:
        bind.execute(
            sa.text("UPDATE job_tasks SET alias = :alias WHERE job_id = :job AND task_id = :task"),
            [
                {"alias": alias, "job": job, "task": task}
                for (job, task), alias in zip(rows, aliases, strict=True)
            ],
        )
    with op.batch_alter_table("job_tasks", schema=None) as batch_op:
        batch_op.alter_column("alias", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index("uq_job_tasks_alias", ["alias"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("job_tasks", schema=None) as batch_op:
        batch_op.drop_index("uq_job_tasks_alias")
        batch_op.drop_column("alias")
