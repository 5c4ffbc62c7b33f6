"""Ground truth: at most one answer-key annotation per task, changed atomically, with history.

Every change locks the task row first (PostgreSQL `SELECT ... FOR UPDATE`; on SQLite the
writer's `BEGIN IMMEDIATE` already serialises), so concurrent requests starring different
annotations of one task queue up and leave exactly one GT. The partial unique index
`uq_annotations_one_gt_per_task` backs this up in the database itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from assay.services import changes
from assay.services.access import Action, Actor, authorize
from assay.services.errors import Invalid, NotFound
from assay.services.pagination import Page, page_of
from assay.services.selection import BulkResult, selected_task_ids
from assay.store.models import Annotation, AnnotationRevision, GroundTruthChange, Task
from assay.store.types import utcnow

CHUNK = 5_000


@dataclass(frozen=True)
class AnswerKeyEntry:
    task_id: int
    annotation_id: int
    revision: int
    result: list[Any]


def _chunks(ids: list[int], size: int = CHUNK) -> Iterator[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def lock_tasks(session: Session, task_ids: Select[tuple[int]] | list[int]) -> None:
    """Take the row lock of each task whose answer key changes (no-op on SQLite)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    stmt = select(Task.id).where(Task.id.in_(task_ids)).order_by(Task.id).with_for_update()
    session.execute(stmt)


def record_changes(
    session: Session,
    actor: Actor,
    rows: Iterable[tuple[int, int, str, int | None, int | None, int | None]],
) -> None:
    """Rows of (project_id, task_id, action, from_annotation_id, to_annotation_id, revision)."""
    now = utcnow()
    values = [
        {"project_id": p, "task_id": t, "action": a, "from_annotation_id": f,
         "to_annotation_id": to, "revision": r, "changed_by_id": actor.id, "changed_at": now}
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
    lock_tasks(session, [ann.task_id])
    session.refresh(ann)
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
    lock_tasks(session, [ann.task_id])
    session.refresh(ann)
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


# Bulk actions (data manager). Set-based: a few statements whatever the selection size.


def bulk_set_from_annotator(
    session: Session, actor: Actor, project_id: int, selection: Any, annotator_id: Any
) -> BulkResult:
    """On each selected task, that annotator's latest live annotation becomes GT."""
    authorize(session, actor, Action.GROUND_TRUTH_CHANGE, project_id)
    if not isinstance(annotator_id, int) or isinstance(annotator_id, bool):
        raise Invalid.field(
            "annotator", "is required: the id of the user whose annotations become GT"
        )
    selected = selected_task_ids(session, project_id, selection)
    lock_tasks(session, selected)
    pick = func.max(Annotation.id)
    target = _candidates(session, selected, pick, Annotation.completed_by_id == annotator_id)
    return _apply(session, actor, project_id, selected, target)


def bulk_assign_earliest(
    session: Session, actor: Actor, project_id: int, selection: Any
) -> BulkResult:
    """On each selected task, the earliest non-cancelled annotation becomes GT."""
    authorize(session, actor, Action.GROUND_TRUTH_CHANGE, project_id)
    selected = selected_task_ids(session, project_id, selection)
    lock_tasks(session, selected)
    target = _candidates(session, selected, func.min(Annotation.id))
    return _apply(session, actor, project_id, selected, target)


def bulk_delete(session: Session, actor: Actor, project_id: int, selection: Any) -> BulkResult:
    """Clear GT on the selected tasks; the annotations themselves stay."""
    authorize(session, actor, Action.GROUND_TRUTH_CHANGE, project_id)
    selected = selected_task_ids(session, project_id, selection)
    lock_tasks(session, selected)
    n_selected = _count(session, selected)
    current = _current_gts(session, selected)
    for ids in _chunks([a for a, _ in current.values()]):
        session.execute(update(Annotation).where(Annotation.id.in_(ids)).values(ground_truth=False))
    record_changes(
        session, actor, [(project_id, t, "unset", a, None, r) for t, (a, r) in current.items()]
    )
    return BulkResult(n_selected, len(current), 0, n_selected - len(current))


def _count(session: Session, selected: Select[tuple[int]]) -> int:
    return session.scalar(select(func.count()).select_from(selected.subquery())) or 0


def _candidates(
    session: Session, selected: Select[tuple[int]], pick: Any, *where: Any
) -> dict[int, int]:
    stmt = (
        select(Annotation.task_id, pick)
        .where(
            Annotation.task_id.in_(selected),
            Annotation.deleted_at.is_(None),
            Annotation.was_cancelled.is_(False),
            *where,
        )
        .group_by(Annotation.task_id)
    )
    return {t: a for t, a in session.execute(stmt)}


def _current_gts(session: Session, selected: Select[tuple[int]]) -> dict[int, tuple[int, int]]:
    stmt = select(Annotation.task_id, Annotation.id, Annotation.revision).where(
        Annotation.task_id.in_(selected),
        Annotation.ground_truth.is_(True),
        Annotation.deleted_at.is_(None),
    )
    return {t: (a, r) for t, a, r in session.execute(stmt)}


def _apply(
    session: Session,
    actor: Actor,
    project_id: int,
    selected: Select[tuple[int]],
    target: dict[int, int],
) -> BulkResult:
    n_selected = _count(session, selected)
    current = _current_gts(session, selected)
    new_gt = {t: a for t, a in target.items() if current.get(t, (None,))[0] != a}
    unset = [current[t][0] for t in new_gt if t in current]
    for ids in _chunks(unset):
        session.execute(update(Annotation).where(Annotation.id.in_(ids)).values(ground_truth=False))
    revisions: dict[int, int] = {}
    for ids in _chunks(list(new_gt.values())):
        session.execute(update(Annotation).where(Annotation.id.in_(ids)).values(ground_truth=True))
        stmt = select(Annotation.id, Annotation.revision).where(Annotation.id.in_(ids))
        revisions.update({a: r for a, r in session.execute(stmt)})
    rows = [
        (
            project_id,
            t,
            "replaced" if t in current else "set",
            current.get(t, (None,))[0],
            a,
            revisions[a],
        )
        for t, a in new_gt.items()
    ]
    record_changes(session, actor, rows)
    return BulkResult(n_selected, len(new_gt), len(target) - len(new_gt), n_selected - len(target))


# History and time travel.


def history(
    session: Session,
    actor: Actor,
    project_id: int,
    task_id: int | None = None,
    page: int = 1,
    page_size: int = 100,
) -> tuple[list[GroundTruthChange], Page]:
    """The project's GT changes, newest first, optionally for one task."""
    authorize(session, actor, Action.GROUND_TRUTH_VIEW, project_id)
    stmt = select(GroundTruthChange).where(GroundTruthChange.project_id == project_id)
    if task_id is not None:
        stmt = stmt.where(GroundTruthChange.task_id == task_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pg = page_of(page, page_size, total)
    rows = session.scalars(
        stmt.order_by(GroundTruthChange.id.desc()).offset(pg.offset).limit(pg.size)
    )
    return list(rows), pg


def tasks_as_of(project_id: int, as_of: datetime | None) -> Any:
    """Filter for the tasks of a project that existed, undeleted, at `as_of` (now if None)."""
    if as_of is None:
        return and_(Task.project_id == project_id, Task.deleted_at.is_(None))
    return and_(
        Task.project_id == project_id,
        Task.created_at <= as_of,
        or_(Task.deleted_at.is_(None), Task.deleted_at > as_of),
    )


def answer_key(
    session: Session, task_ids: list[int], as_of: datetime | None = None
) -> dict[int, AnswerKeyEntry]:
    """Each task's GT regions now, or exactly as they were at `as_of`.

    At `as_of`: the GT annotation is the one the task's last change up to then pointed to,
    and its regions are that annotation's last revision up to then.
    """
    if not task_ids:
        return {}
    if as_of is None:
        rows = session.execute(
            select(Annotation.task_id, Annotation.id, Annotation.revision, Annotation.result).where(
                Annotation.task_id.in_(task_ids),
                Annotation.ground_truth.is_(True),
                Annotation.deleted_at.is_(None),
            )
        )
        return {t: AnswerKeyEntry(t, a, r, res) for t, a, r, res in rows}
    last_change = (
        select(func.max(GroundTruthChange.id))
        .where(GroundTruthChange.task_id.in_(task_ids), GroundTruthChange.changed_at <= as_of)
        .group_by(GroundTruthChange.task_id)
    )
    pointers = {
        t: a
        for t, a in session.execute(
            select(GroundTruthChange.task_id, GroundTruthChange.to_annotation_id).where(
                GroundTruthChange.id.in_(last_change),
                GroundTruthChange.to_annotation_id.is_not(None),
            )
        )
    }
    if not pointers:
        return {}
    last_rev = (
        select(AnnotationRevision.annotation_id, func.max(AnnotationRevision.revision).label("rev"))
        .where(
            AnnotationRevision.annotation_id.in_(list(pointers.values())),
            AnnotationRevision.changed_at <= as_of,
        )
        .group_by(AnnotationRevision.annotation_id)
        .subquery()
    )
    rows = session.execute(
        select(
            AnnotationRevision.annotation_id, AnnotationRevision.revision, AnnotationRevision.result
        ).join(
            last_rev,
            and_(
                AnnotationRevision.annotation_id == last_rev.c.annotation_id,
                AnnotationRevision.revision == last_rev.c.rev,
            ),
        )
    )
    by_annotation = {a: (r, res) for a, r, res in rows}
    return {
        t: AnswerKeyEntry(t, a, *by_annotation[a])
        for t, a in pointers.items()
        if a in by_annotation
    }
