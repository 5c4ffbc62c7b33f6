"""What an annotator gets next in a job: first their rejected work that came back to them
(services.rework), then the job's tasks still open to them, in the job's own shuffled order.
An accepted (closed) job offers nothing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from assay.services import evaluation, rework
from assay.services.access import Actor
from assay.services.annotator_work import work_on
from assay.services.errors import Forbidden, Invalid
from assay.services.jobs.lookup import get_job, is_assignee
from assay.services.task_aliases import knows_aliases
from assay.store.models import Annotation, Job, JobTask, Task


def _open_to(user_id: int) -> list[Any]:
    """Conditions on a JobTask joined to its Task: open for this user, before replicas: not
    worked on by them (`annotator_work.work_on`: however the annotation was made), not done
    (a honeypot is served even though its GT is final)."""
    mine = work_on(JobTask.task_id, JobTask.job_id, user_id)
    return [
        Task.deleted_at.is_(None),
        or_(Task.gt_status == "none", JobTask.is_honeypot.is_(True)),
        ~mine,
    ]


def _replicas_done() -> Any:
    """How many people annotated the JobTask's task in its job (replicas count these)."""
    return (
        select(func.count(func.distinct(Annotation.completed_by_id)))
        .where(
            Annotation.task_id == JobTask.task_id,
            Annotation.job_id == JobTask.job_id,
            Annotation.deleted_at.is_(None),
            Annotation.was_cancelled.is_(False),
        )
        .scalar_subquery()
    )


def _queue(job: Job, user_id: int) -> Any:
    """The user's open tasks of the job, in job order (`_open_to`), and with `replicas` set
    not yet annotated in this job by that many people (honeypots go to every assignee)."""
    where = [JobTask.job_id == job.id, *_open_to(user_id)]
    if job.replicas is not None:
        where.append(or_(JobTask.is_honeypot.is_(True), _replicas_done() < job.replicas))
    return select(Task).join(JobTask, JobTask.task_id == Task.id).where(*where)


def _rework(session: Session, job_ids: list[int], user_id: int) -> list[tuple[int, int]]:
    """(job id, annotation id) of the user's rejected work back in the jobs' queues, oldest
    reject first; none in a closed job or a project that does not return rejected work."""
    jobs = list(
        session.execute(
            select(Job.id, Job.project_id).where(Job.id.in_(job_ids), Job.accepted_at.is_(None))
        )
    )
    returning = rework.returning_projects(session, sorted({p for _, p in jobs}))
    open_ids = [j for j, p in jobs if p in returning]
    if not open_ids:
        return []
    return [(j, a) for j, a in session.execute(rework.rework_of(user_id, open_ids))]


def remaining_by_job(session: Session, job_ids: list[int], user_id: int) -> dict[int, int]:
    """How many tasks each job's queue holds for this user: rejected work back in it
    (`_rework`) and open tasks (`_queue`), in three queries; 0 for an accepted job."""
    if not job_ids:
        return {}
    again: dict[int, int] = {}
    for j, _ in _rework(session, job_ids, user_id):
        again[j] = again.get(j, 0) + 1
    counts = dict(
        session.execute(
            select(JobTask.job_id, func.count())
            .join(Task, Task.id == JobTask.task_id)
            .join(Job, Job.id == JobTask.job_id)
            .where(
                JobTask.job_id.in_(job_ids),
                Job.accepted_at.is_(None),
                *_open_to(user_id),
                or_(
                    Job.replicas.is_(None),
                    JobTask.is_honeypot.is_(True),
                    _replicas_done() < Job.replicas,
                ),
            )
            .group_by(JobTask.job_id)
        ).all()
    )
    return {j: int(counts.get(j, 0)) + again.get(j, 0) for j in job_ids}


@dataclass(frozen=True)
class NextTask:
    task: Task | None  # None when the queue is empty or the job is closed
    remaining: int  # tasks left in the queue, this one included
    annotation: Annotation | None = None  # rejected work back for rework: the one to fix
    rejection: rework.Rejection | None = None  # why it came back
    closed: bool = False  # the job was accepted by a lead: nothing more to do in it


def next_to_annotate(session: Session, actor: Actor, job_id: int) -> NextTask:
    """The assignee's next task: their rejected work first (with the rejection and the
    annotation to fix), then their queue (see `_queue`); how many remain for them.

    Evaluation comes first (services.evaluation): a paused annotator, or one at the
    annotation limit, is refused (Paused / Forbidden); an onboarding one gets a GT task put
    at the front of the job (so this may write: ask it in a writing session).

    With replicas, two assignees asking at once may both get a task that needs one more
    replica; both answers are kept (the task then has one replica too many), no reservation.
    """
    job = get_job(session, actor, job_id)
    if not is_assignee(session, job.id, actor.id):
        raise Invalid.field("job", f"you are not an assignee of job {job.id}")
    evaluation.require_not_paused(session, actor, job.project_id)
    if job.accepted_at is not None:
        return NextTask(None, 0, closed=True)
    again = _rework(session, [job.id], actor.id)
    if again:  # their rejected work comes back whatever the limit: it is not new work
        remaining = remaining_by_job(session, [job.id], actor.id)[job.id]
        ann = session.get(Annotation, again[0][1])
        assert ann is not None
        task = session.get(Task, ann.task_id)
        return NextTask(task, remaining, ann, rework.rejection(session, ann.id))
    evaluation.require_within_limit(session, actor, job.project_id)
    evaluation.serve_onboarding(session, actor, job)
    remaining = remaining_by_job(session, [job.id], actor.id)[job.id]
    task = session.scalars(_queue(job, actor.id).order_by(JobTask.position).limit(1)).first()
    return NextTask(task, remaining)


def job_to_annotate(session: Session, actor: Actor, job_id: int) -> Job:
    """The job, for one of its assignees to annotate (the annotate page's gate).

    NotFound if the actor may not see the job; Forbidden when they see it (leads, reviewers)
    but are not among its assignees.
    """
    job = get_job(session, actor, job_id)
    if not is_assignee(session, job.id, actor.id):
        raise Forbidden(f"Only the people assigned to job {job.id} annotate it.")
    return job


def worked_on(session: Session, actor: Actor, job_id: int) -> list[int]:
    """The job's tasks the actor annotated or skipped in it, in the order they did so: where
    Back goes. The same for every task of the job, honeypot or not. By the ids the actor
    knows them by (an annotator: the aliases, `task_aliases`)."""
    job = job_to_annotate(session, actor, job_id)
    first = (
        select(Annotation.task_id, func.min(Annotation.id).label("first"))
        .join(Task, Task.id == Annotation.task_id)
        .where(
            Annotation.job_id == job.id,
            Annotation.completed_by_id == actor.id,
            Annotation.deleted_at.is_(None),
            Task.deleted_at.is_(None),
        )
        .group_by(Annotation.task_id)
        .subquery()
    )
    shown_id = JobTask.alias if knows_aliases(actor) else JobTask.task_id
    return list(
        session.scalars(
            select(shown_id)
            .join(first, first.c.task_id == JobTask.task_id)
            .where(JobTask.job_id == job.id)
            .order_by(first.c.first)
        )
    )


def shuffled(job_id: int, task_ids: list[int]) -> list[int]:
    """A random-looking order that is stable for a job, so a reload shows the same next task."""
    return sorted(
        task_ids, key=lambda t: hashlib.blake2b(f"{job_id}:{t}".encode(), digest_size=8).digest()
    )
