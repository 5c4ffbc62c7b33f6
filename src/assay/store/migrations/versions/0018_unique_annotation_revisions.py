"""annotation_revisions: one row per annotation and revision number (unique index), after
renumbering the duplicates that concurrent edits wrote on PostgreSQL before edits locked the
annotation row (issue #16 M3)

An annotation whose history has a number twice (say 1, 2, 2, 2: three edits that each read
revision 1) gets its rows numbered 1..n again, oldest first (by number, then row id), except that
among the rows of its current number the one equal to the annotation as it stands goes last,
so that the current revision is still its state. The revision numbers other tables hold are
moved along: the annotation's own, a review's `reviewed_revision` and `fixed_revision`, a GT
change's `revision` and a score's `gt_revision`. Where a number named several rows, a fix or
GT change takes the row its own person wrote (each row once, oldest first) and anything else
the last row of that number: which of the lost updates a reviewer saw is not recorded.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 18:00:00
"""

import json
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    duplicated = bind.execute(
        sa.text(
            "SELECT DISTINCT annotation_id FROM annotation_revisions "
            "GROUP BY annotation_id, revision HAVING count(*) > 1 ORDER BY annotation_id"
        )
    ).scalars()
    for annotation_id in list(duplicated):
        _renumber(bind, annotation_id)
    op.drop_index("ix_annotation_revisions_annotation", table_name="annotation_revisions")
    op.create_index(
        "uq_annotation_revisions_revision",
        "annotation_revisions",
        ["annotation_id", "revision"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_annotation_revisions_revision", table_name="annotation_revisions")
    op.create_index(
        "ix_annotation_revisions_annotation",
        "annotation_revisions",
        ["annotation_id", "revision"],
        unique=False,
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _renumber(bind: sa.Connection, annotation_id: int) -> None:
    params = {"a": annotation_id}
    current = bind.execute(
        sa.text("SELECT revision, result, was_cancelled FROM annotations WHERE id = :a"), params
    ).one()
    rows = bind.execute(
        sa.text(
            "SELECT id, revision, action, result, was_cancelled, changed_by_id "
            "FROM annotation_revisions WHERE annotation_id = :a ORDER BY revision, id"
        ),
        params,
    ).all()
    groups: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        groups[row.revision].append(row)
    standing = groups.get(current.revision, [])
    now = (_json(current.result), bool(current.was_cancelled))
    is_current = [(_json(r.result), bool(r.was_cancelled)) == now for r in standing]
    if any(is_current):  # the last row equal to the annotation as it stands goes last
        last = max(i for i, same in enumerate(is_current) if same)
        standing.append(standing.pop(last))
    new_number: dict[int, int] = {}  # row id -> its new revision number
    for old in sorted(groups):
        for row in groups[old]:
            new_number[row.id] = len(new_number) + 1
    for row in rows:
        if new_number[row.id] != row.revision:
            bind.execute(
                sa.text("UPDATE annotation_revisions SET revision = :n WHERE id = :id"),
                {"n": new_number[row.id], "id": row.id},
            )

    def last_of(old: int | None) -> int | None:
        group = groups.get(old) if old is not None else None
        return new_number[group[-1].id] if group else old

    taken: set[int] = set()

    def written_by(old: int | None, who: int | None, actions: tuple[str, ...]) -> int | None:
        for row in groups.get(old, []) if old is not None else []:
            if row.id not in taken and row.changed_by_id == who and row.action in actions:
                taken.add(row.id)
                return new_number[row.id]
        return last_of(old)

    bind.execute(
        sa.text("UPDATE annotations SET revision = :n WHERE id = :a"),
        {"n": last_of(current.revision), **params},
    )
    for review_id, reviewer, reviewed, fixed in bind.execute(
        sa.text(
            "SELECT id, reviewer_id, reviewed_revision, fixed_revision FROM reviews "
            "WHERE annotation_id = :a ORDER BY id"
        ),
        params,
    ).all():
        bind.execute(
            sa.text(
                "UPDATE reviews SET reviewed_revision = :r, fixed_revision = :f WHERE id = :id"
            ),
            {"r": last_of(reviewed), "f": written_by(fixed, reviewer, ("fixed",)), "id": review_id},
        )
    for change_id, who, action, old in bind.execute(
        sa.text(
            "SELECT id, changed_by_id, action, revision FROM ground_truth_changes "
            "WHERE to_annotation_id = :a OR (to_annotation_id IS NULL AND from_annotation_id = :a) "
            "ORDER BY id"
        ),
        params,
    ).all():
        new = written_by(old, who, ("updated",)) if action == "edited" else last_of(old)
        bind.execute(
            sa.text("UPDATE ground_truth_changes SET revision = :r WHERE id = :id"),
            {"r": new, "id": change_id},
        )
    for score_id, old in bind.execute(
        sa.text("SELECT id, gt_revision FROM quality_scores WHERE gt_annotation_id = :a"), params
    ).all():
        bind.execute(
            sa.text("UPDATE quality_scores SET gt_revision = :n WHERE id = :id"),
            {"n": last_of(old), "id": score_id},
        )
