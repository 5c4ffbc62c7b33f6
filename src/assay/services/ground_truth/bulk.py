"""GT for many tasks at once (data-manager actions): from a chosen annotator, the earliest
annotation, or cleared; chunked, all or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize
from assay.services.checks import is_id
from assay.services.errors import Invalid
from assay.services.ground_truth.truth import lock_tasks, record_changes
from assay.services.selection import BulkResult, selected_task_ids
from assay.store.models import Annotation, Task

CHUNK = 5_000


def _chunks(ids: list[int], size: int = CHUNK) -> Iterator[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def annotator_coverage(session: Session, actor: Actor, project_id: int) -> dict[int, int]:
    """How many of the project's live tasks each annotator has a live, not skipped annotation
    on: the tasks "Set ground truths from annotator" could take from them. One query."""
    authorize(session, actor, Action.GROUND_TRUTH_CHANGE, project_id)
    stmt = (
        select(Annotation.completed_by_id, func.count(func.distinct(Annotation.task_id)))
        .join(Task, Task.id == Annotation.task_id)
        .where(
            Task.project_id == project_id,
            Task.deleted_at.is_(None),
            Annotation.deleted_at.is_(None),
            Annotation.was_cancelled.is_(False),
            Annotation.completed_by_id.is_not(None),
        )
        .group_by(Annotation.completed_by_id)
    )
    return {user: n for user, n in session.execute(stmt)}


def bulk_set_from_annotator(
    session: Session, actor: Actor, project_id: int, selection: Any, annotator_id: Any
) -> BulkResult:
    """On each selected task, that annotator's latest live annotation becomes GT."""
    authorize(session, actor, Action.GROUND_TRUTH_CHANGE, project_id)
    if not is_id(annotator_id):
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
