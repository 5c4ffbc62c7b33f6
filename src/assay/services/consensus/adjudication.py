"""Adjudication: a lead decides the tasks whose annotators disagree; the decision becomes their
ground truth. Also a task's consensus as it stands, and removing it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize
from assay.services.consensus.merge import retire_consensus
from assay.services.errors import Conflict, Invalid, NotFound
from assay.services.ground_truth import make_ground_truth
from assay.services.tasks import checked_result, label_config_of_project
from assay.services.tasks.annotations import add_annotation
from assay.store.models import Annotation, ConsensusResult, Task
from assay.store.types import utcnow


@dataclass(frozen=True)
class TaskConsensus:
    task: Task
    result: ConsensusResult | None
    annotation: Annotation | None
    annotations: list[Annotation]  # the annotators' (manual, live, non-cancelled), by id


def task_consensus(session: Session, actor: Actor, task_id: int) -> TaskConsensus:
    task = session.get(Task, task_id)
    if task is None or task.deleted_at is not None:
        raise NotFound(f"Task {task_id} not found.")
    authorize(session, actor, Action.QUALITY_VIEW, task.project_id)
    row = session.get(ConsensusResult, task_id)
    ann = session.get(Annotation, row.annotation_id) if row and row.annotation_id else None
    if ann is not None and ann.deleted_at is not None:
        ann = None
    anns = list(
        session.scalars(
            select(Annotation)
            .where(
                Annotation.task_id == task_id,
                Annotation.deleted_at.is_(None),
                Annotation.was_cancelled.is_(False),
                Annotation.kind == "manual",
            )
            .order_by(Annotation.id)
        )
    )
    return TaskConsensus(task, row, ann, anns)


def remove_consensus(session: Session, actor: Actor, task_id: int) -> None:
    """Take a task's consensus away: its annotation is soft-deleted (unless it became GT)."""
    task = session.get(Task, task_id)
    if task is None or task.deleted_at is not None:
        raise NotFound(f"Task {task_id} not found.")
    authorize(session, actor, Action.GROUND_TRUTH_CHANGE, task.project_id)
    row = session.get(ConsensusResult, task_id)
    if row is None:
        raise NotFound(f"Task {task_id} has no consensus.")
    if row.annotation_id is not None:
        retire_consensus(session, actor, row.annotation_id)
    session.delete(row)
    session.flush()


def _waiting(project_id: int) -> Select[tuple[ConsensusResult]]:
    """The project's live tasks in the adjudication queue."""
    return (
        select(ConsensusResult)
        .join(Task, Task.id == ConsensusResult.task_id)
        .where(
            ConsensusResult.project_id == project_id,
            ConsensusResult.status == "adjudicate",
            Task.deleted_at.is_(None),
        )
    )


def waiting_count(session: Session, actor: Actor, project_id: int) -> int:
    """How many of the project's tasks wait for adjudication (one count query)."""
    authorize(session, actor, Action.GROUND_TRUTH_CHANGE, project_id)
    return session.scalar(select(func.count()).select_from(_waiting(project_id).subquery())) or 0


def next_to_adjudicate(session: Session, actor: Actor, project_id: int) -> tuple[Task | None, int]:
    """The waiting task with the lowest agreement first (ties: tied votes first, then id)."""
    remaining = waiting_count(session, actor, project_id)
    waiting = _waiting(project_id)
    row = session.scalars(
        waiting.order_by(
            ConsensusResult.agreement, ConsensusResult.tied.desc(), ConsensusResult.task_id
        ).limit(1)
    ).first()
    return (session.get(Task, row.task_id) if row else None), remaining


def adjudicate(session: Session, actor: Actor, task_id: int, result: Any) -> Annotation:
    """The lead's result for a task in the queue becomes its GT (a new annotation by them)."""
    task = session.get(Task, task_id)
    if task is None or task.deleted_at is not None:
        raise NotFound(f"Task {task_id} not found.")
    authorize(session, actor, Action.GROUND_TRUTH_CHANGE, task.project_id)
    row = session.get(ConsensusResult, task_id)
    if row is None or row.status != "adjudicate":
        raise Conflict(f"Task {task_id} is not waiting for adjudication.")
    if result is None:
        raise Invalid.field("result", "is required: the adjudicated regions")
    checked = checked_result(result, label_config_of_project(session, task.project_id), "result")
    ann = add_annotation(session, actor, task, checked)
    make_ground_truth(session, actor, ann)
    row.status = "adjudicated"
    row.adjudicated_by_id = actor.id
    row.adjudicated_at = utcnow()
    session.flush()
    return ann
