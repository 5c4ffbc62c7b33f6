"""What of a project's tasks and labels an actor may see: annotators their own jobs' tasks and
their own annotations (and, in a `shared` project, their co-assignees' work in the same job);
everyone else every task and annotation of their projects.

The project's `visibility` policy:
- blind (the default): an annotator sees only their own annotations.
- shared: an annotator also sees the annotations other assignees of one of their jobs made in
  that job, with these exceptions, so that nothing they read depends on ground truth, done
  state or honeypot status (docs/api.md, "Visibility policy", gives the reasoning):
  - only annotations made in the same job (`Annotation.job_id`): a honeypot served in many
    jobs collects attempts from many annotators, so counting every attempt would point at it;
  - in a job with `replicas`, at most `replicas - 1` others per task (the earliest): every
    assignee gets a honeypot, but only `replicas` of them get an ordinary task;
  - never a ground-truth annotation, a consensus annotation or a skip;
  - others' annotations carry no review status, revision history, reviewer's fix or score
    (`shows_annotation_details`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from assay.services.access import (
    SHARED,
    VISIBILITY_POLICIES,
    Action,
    Actor,
    authorize,
    shows_annotation_details,
)
from assay.services.errors import NotFound
from assay.services.projects import ProjectCounts, project_counts
from assay.services.task_aliases import in_my_jobs, is_alias, knows_aliases, my_job_task
from assay.store.models import (
    Annotation,
    Job,
    JobAssignee,
    JobTask,
    Prediction,
    Project,
    Task,
)

__all__ = ["VISIBILITY_POLICIES"]  # re-exported: the policies' names, from access


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


def neighbours(session: Session, actor: Actor, task: Task) -> tuple[int | None, int | None]:
    """The ids of the previous and next live task of the task's project (by id) among those
    the actor may see: the task page's Previous / Next links. None at either end, and none
    for annotators, who know their jobs' tasks by alias: real ids in order would show them
    which tasks are older (honeypots); their job's queue is their way through it."""
    if knows_aliases(actor):
        return None, None
    where = (Task.project_id == task.project_id, Task.deleted_at.is_(None), *task_visibility(actor))
    before = session.scalar(select(func.max(Task.id)).where(*where, Task.id < task.id))
    after = session.scalar(select(func.min(Task.id)).where(*where, Task.id > task.id))
    return before, after


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
    """Filters on Annotation for what this actor may see: reviewers, leads and admins every
    annotation; annotators their own, and in a shared project their co-assignees' work in the
    same job (`_peer_annotations`)."""
    if actor.may(Action.ANNOTATIONS_VIEW_ALL):
        return ()
    return (
        or_(Annotation.completed_by_id == actor.id, Annotation.id.in_(_peer_annotations(actor))),
    )


def _peer_annotations(actor: Actor) -> Any:
    """The ids of others' annotations an annotator sees under the shared policy: made in a
    live job of a shared project that both the actor and the author are assigned to, a
    person's own work (not GT, not consensus, not a skip), at most `replicas - 1` per task and
    job (the earliest) when the job sets replicas."""
    author_assigned = (
        select(JobAssignee.user_id)
        .where(
            JobAssignee.job_id == Annotation.job_id,
            JobAssignee.user_id == Annotation.completed_by_id,
        )
        .exists()
    )
    my_jobs = select(JobAssignee.job_id).where(JobAssignee.user_id == actor.id)
    shared = select(Project.id).where(Project.visibility == SHARED)
    ranked = (
        select(
            Annotation.id.label("id"),
            Job.replicas.label("replicas"),
            func.row_number()
            .over(partition_by=(Annotation.task_id, Annotation.job_id), order_by=Annotation.id)
            .label("rank"),
        )
        .join(Job, Job.id == Annotation.job_id)
        .where(
            Job.deleted_at.is_(None),
            Job.id.in_(my_jobs),
            Job.project_id.in_(shared),
            Annotation.completed_by_id != actor.id,
            Annotation.deleted_at.is_(None),
            Annotation.kind == "manual",
            Annotation.ground_truth.is_(False),
            Annotation.was_cancelled.is_(False),
            author_assigned,
        )
        .subquery()
    )
    return select(ranked.c.id).where(
        or_(ranked.c.replicas.is_(None), ranked.c.rank < ranked.c.replicas)
    )


def annotation_visible(session: Session, actor: Actor, ann: Annotation) -> bool:
    """Whether the actor may see this one annotation (`annotation_visibility`)."""
    if shows_annotation_details(actor, ann):
        return True
    stmt = select(Annotation.id).where(Annotation.id == ann.id, *annotation_visibility(actor))
    return session.scalar(stmt) is not None


def result_seen_by(actor: Actor, ann: Annotation) -> list[Any]:
    """The result the actor is shown: the author's own work for a co-assignee's annotation
    (a reviewer's fix is review), the annotation's result otherwise."""
    return ann.result if shows_annotation_details(actor, ann) else ann.work_result


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
