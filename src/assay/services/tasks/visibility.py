"""What of a project's tasks and labels an actor may see: annotators their own jobs' tasks and
their own annotations; everyone else every task of their projects."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize
from assay.services.errors import NotFound
from assay.services.projects import ProjectCounts, project_counts
from assay.services.task_aliases import in_my_jobs, is_alias, knows_aliases, my_job_task
from assay.store.models import (
    Annotation,
    Job,
    JobAssignee,
    JobTask,
    Prediction,
    Task,
)


def get_task(session: Session, actor: Actor, task_id: int) -> Task:
    """The task an id the actor sent names (`resolve_task`)."""
    return resolve_task(session, actor, task_id)[0]


def resolve_task(session: Session, actor: Actor, task_id: int) -> tuple[Task, int | None]:
    """The task an id the actor sent names, and the job it names it in (an alias), or None.

    The one place ids from annotators are read (`services.task_aliases`): the tasks of their
    live jobs they know only by alias, so their real id answers NotFound exactly like a task
    they may not see. Every other id is a real one, seen through `task_visibility`.
    """
    if knows_aliases(actor) and is_alias(task_id):
        named = my_job_task(session, actor, task_id)
        if named is None:
            raise NotFound(f"Task {task_id} not found.")
        job_id, real_id = named
        task = session.get(Task, real_id)
        if task is None or task.deleted_at is not None:
            raise NotFound(f"Task {task_id} not found.")
        authorize(session, actor, Action.TASK_VIEW, task.project_id)
        return task, job_id
    task = visible_task(session, actor, task_id)
    if knows_aliases(actor) and in_my_jobs(session, actor, task.id):
        raise NotFound(f"Task {task_id} not found.")
    return task, None


def visible_task(session: Session, actor: Actor, task_id: int) -> Task:
    """The task of this real id, if the actor may see it (`task_visibility`): for checks on a
    row that names its task (a prediction's), never for an id the actor sent."""
    task = session.get(Task, task_id)
    if task is None or task.deleted_at is not None:
        raise NotFound(f"Task {task_id} not found.")
    authorize(session, actor, Action.TASK_VIEW, task.project_id)
    scope = task_visibility(actor)
    if scope and session.scalar(select(Task.id).where(Task.id == task.id, *scope)) is None:
        raise NotFound(f"Task {task_id} not found.")
    return task


def counts_seen_by(
    session: Session, actor: Actor, project_ids: list[int]
) -> dict[int, ProjectCounts]:
    """`project_counts` over what this actor may see: for an annotator their tasks
    (`task_visibility`) and their own annotations only."""
    return project_counts(
        session, project_ids, task_visibility(actor), annotation_visibility(actor)
    )


def task_visibility(actor: Actor) -> tuple[Any, ...]:
    """Filters on Task for what this actor may see among their projects' tasks.

    Annotators work on their own jobs only: in a project that organizes work in jobs they see
    the tasks of the jobs they are assigned to and the tasks they annotated, nothing else.
    In a project without jobs (annotators picking tasks, as in Label Studio) every task.
    """
    if actor.may(Action.ANNOTATIONS_VIEW_ALL):
        return ()
    live_jobs = (Job.deleted_at.is_(None),)
    projects_with_jobs = select(Job.project_id).where(*live_jobs)
    my_jobs_tasks = (
        select(JobTask.task_id)
        .join(JobAssignee, JobAssignee.job_id == JobTask.job_id)
        .join(Job, Job.id == JobTask.job_id)
        .where(JobAssignee.user_id == actor.id, *live_jobs)
    )
    annotated = select(Annotation.task_id).where(
        Annotation.completed_by_id == actor.id, Annotation.deleted_at.is_(None)
    )
    return (
        or_(
            Task.project_id.not_in(projects_with_jobs),
            Task.id.in_(my_jobs_tasks),
            Task.id.in_(annotated),
        ),
    )


def annotation_visibility(actor: Actor) -> tuple[Any, ...]:
    """Filters on Annotation for what this actor may see: annotators see only their own."""
    if actor.may(Action.ANNOTATIONS_VIEW_ALL):
        return ()
    return (Annotation.completed_by_id == actor.id,)


def regions_of(
    session: Session,
    actor: Actor,
    task_ids: list[int],
    with_annotations: bool = True,
    with_predictions: bool = True,
) -> tuple[dict[int, list[Annotation]], dict[int, list[Prediction]]]:
    """The tasks' live annotations the actor may see and their predictions, by task."""
    annotations: dict[int, list[Annotation]] = defaultdict(list)
    predictions: dict[int, list[Prediction]] = defaultdict(list)
    if not task_ids:
        return annotations, predictions
    for a in (
        ()
        if not with_annotations
        else session.scalars(
            select(Annotation)
            .where(
                Annotation.task_id.in_(task_ids),
                Annotation.deleted_at.is_(None),
                *annotation_visibility(actor),
            )
            .order_by(Annotation.id)
        )
    ):
        annotations[a.task_id].append(a)
    if with_predictions and actor.may(Action.PREDICTION_VIEW):
        for p in session.scalars(
            select(Prediction)
            .where(Prediction.task_id.in_(task_ids), Prediction.deleted_at.is_(None))
            .order_by(Prediction.id)
        ):
            predictions[p.task_id].append(p)
    return annotations, predictions
