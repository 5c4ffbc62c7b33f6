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
    # Annotations fixed before this column: the result their first standing fix reviewed.
    op.execute(
        """
        UPDATE annotations SET own_result = (
            SELECT r.result FROM reviews v
            JOIN annotation_revisions r
              ON r.annotation_id = v.annotation_id AND r.revision = v.reviewed_revision
            WHERE v.annotation_id = annotations.id
              AND v.action = 'fix_accept' AND v.undone_at IS NULL
            ORDER BY v.id, r.id DESC
            LIMIT 1
        )
        WHERE id IN (
            SELECT annotation_id FROM reviews WHERE action = 'fix_accept' AND undone_at IS NULL
        )
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.drop_column("own_result")
