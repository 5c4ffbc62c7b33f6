"""annotations.own_result: the annotator's own result while a reviewer's fix stands, so that
scores and agreement measure the annotator's work, not the fix

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 19:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    json = sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql"
    )
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("own_result", json, nullable=True))
    # Annotations someone else rewrote after their author's last change (a reviewer's fix, a
    # lead's edit): the author's own is their latest revision. GT and consensus stay as they are.
    op.execute(
        """
        UPDATE annotations SET own_result = (
            SELECT r.result FROM annotation_revisions r
            WHERE r.annotation_id = annotations.id
              AND r.changed_by_id = annotations.completed_by_id
            ORDER BY r.revision DESC, r.id DESC
            LIMIT 1
        )
        WHERE ground_truth = false AND kind = 'manual' AND completed_by_id IS NOT NULL
          AND EXISTS (
            SELECT 1 FROM annotation_revisions later
            WHERE later.annotation_id = annotations.id
              AND (later.changed_by_id IS NULL
                   OR later.changed_by_id <> annotations.completed_by_id)
              AND later.revision > (
                SELECT max(own.revision) FROM annotation_revisions own
                WHERE own.annotation_id = annotations.id
                  AND own.changed_by_id = annotations.completed_by_id
              )
          )
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.drop_column("own_result")
