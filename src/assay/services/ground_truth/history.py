"""The answer key over time: every GT change (who, when, from which annotation to which), and
each task's GT regions now or exactly as they were at a moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize
from assay.services.pagination import Page, page_of
from assay.store.models import Annotation, AnnotationRevision, GroundTruthChange, Task


@dataclass(frozen=True)
class AnswerKeyEntry:
    task_id: int
    annotation_id: int
    revision: int
    result: list[Any]


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
