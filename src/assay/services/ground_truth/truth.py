"""One GT annotation per task at most, changed atomically and recorded.

Every change locks the task row first (PostgreSQL `SELECT ... FOR UPDATE`; on SQLite the
writer's `BEGIN IMMEDIATE` already serialises), so concurrent requests starring different
annotations of one task queue up and leave exactly one GT. The partial unique index
`uq_annotations_one_gt_per_task` backs this up in the database itself.

The lock order of every writer of labels, here and in tasks, review, gt_stage and consensus:
first the task rows (in id order, `lock_tasks`), then the annotation rows (`lock_annotation`).
Edits, deletes, reviews and fixes of an annotation, stars and GT creates all take them so, so
they queue on one lock instead of deadlocking on two, and each reads the annotation as the
previous writer committed it (its revision, its GT flag) before changing it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, insert, select
from sqlalchemy.orm import Session

from assay.services import changes
from assay.services.access import Action, Actor, authorize
from assay.services.errors import NotFound
from assay.store.models import Annotation, GroundTruthChange, Project, Task
from assay.store.types import utcnow


def lock_tasks(
    session: Session, task_ids: Select[tuple[int]] | list[int], *, exclusive: bool = True
) -> None:
    """Take the row lock of each task whose labels change, in id order (no-op on SQLite).

    `exclusive=False` takes `FOR NO KEY UPDATE`: it queues behind every other lock taker of the
    task as well, but lets annotations referencing the task be inserted meanwhile (their
    foreign key share-locks the task). Rescoring takes it after its request's own insert;
    `FOR UPDATE` there would deadlock two concurrent inserts on one task.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    stmt = (
        select(Task.id)
        .where(Task.id.in_(task_ids))
        .order_by(Task.id)
        .with_for_update(key_share=not exclusive)
    )
    session.execute(stmt)


def lock_annotation(session: Session, ann: Annotation) -> Annotation:
    """Lock the annotation's task row, then its own row (no-ops on SQLite), and read it again
    as it is now committed: what another request changed meanwhile is not overwritten.

    Returns `ann`, refreshed; the caller checks `deleted_at` and whatever else it relies on.
    """
    session.flush()  # a reload must not drop what the caller changed already
    lock_tasks(session, [ann.task_id])
    locked = session.get(Annotation, ann.id, with_for_update=True, populate_existing=True)
    assert locked is ann  # one identity map: the same object, reloaded
    return locked


def record_changes(
    session: Session,
    actor: Actor,
    rows: Iterable[tuple[int, int, str, int | None, int | None, int | None]],
) -> None:
    """Rows of (project_id, task_id, action, from_annotation_id, to_annotation_id, revision)."""
    now = utcnow()
    rows = list(rows)
    in_force = {
        pid: version
        for pid, version in session.execute(
            select(Project.id, Project.guideline_version).where(
                Project.id.in_({r[0] for r in rows})
            )
        )
    }
    values = [
        {"project_id": p, "task_id": t, "action": a, "from_annotation_id": f,
         "to_annotation_id": to, "revision": r, "guideline_version": in_force.get(p),
         "changed_by_id": actor.id, "changed_at": now}
        for p, t, a, f, to, r in rows
    ]  # fmt: skip
    if values:
        session.execute(insert(GroundTruthChange), values)
        for project_id in {v["project_id"] for v in values}:
            changes.record(
                session, project_id, (v["task_id"] for v in values if v["project_id"] == project_id)
            )


def current_gt(session: Session, task_id: int) -> Annotation | None:
    return session.scalar(
        select(Annotation).where(
            Annotation.task_id == task_id,
            Annotation.ground_truth.is_(True),
            Annotation.deleted_at.is_(None),
        )
    )


def make_ground_truth(session: Session, actor: Actor, ann: Annotation) -> bool:
    """Make `ann` its task's GT, unsetting the previous one; False when it already was.

    The caller has checked the actor may change ground truth in the annotation's project.
    """
    lock_annotation(session, ann)
    if ann.deleted_at is not None:
        raise NotFound(f"Annotation {ann.id} not found.")
    current = current_gt(session, ann.task_id)
    if current is not None and current.id == ann.id:
        return False
    if current is not None:
        current.ground_truth = False
        session.flush()  # free the unique index slot before taking it
    ann.ground_truth = True
    session.flush()
    action = "replaced" if current is not None else "set"
    from_id = current.id if current is not None else None
    record_changes(
        session, actor, [(ann.project_id, ann.task_id, action, from_id, ann.id, ann.revision)]
    )
    return True


def clear_ground_truth(session: Session, actor: Actor, ann: Annotation) -> bool:
    """Unset `ann` as GT, keeping the annotation; False when it was not GT."""
    lock_annotation(session, ann)
    if not ann.ground_truth:
        return False
    ann.ground_truth = False
    session.flush()
    record_changes(
        session, actor, [(ann.project_id, ann.task_id, "unset", ann.id, None, ann.revision)]
    )
    return True


def record_gt_edit(session: Session, actor: Actor, ann: Annotation) -> None:
    """The GT annotation's regions changed: the answer key has a new revision."""
    record_changes(
        session, actor, [(ann.project_id, ann.task_id, "edited", ann.id, ann.id, ann.revision)]
    )


def set_ground_truth(session: Session, actor: Actor, annotation_id: int, value: bool) -> bool:
    """Star or unstar one annotation; returns whether anything changed."""
    ann = session.get(Annotation, annotation_id)
    if ann is None or ann.deleted_at is not None:
        raise NotFound(f"Annotation {annotation_id} not found.")
    authorize(session, actor, Action.GROUND_TRUTH_CHANGE, ann.project_id)
    return (
        make_ground_truth(session, actor, ann) if value else clear_ground_truth(session, actor, ann)
    )
