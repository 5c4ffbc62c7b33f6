"""Finding a job the actor may see, and who and what is in it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize
from assay.services.errors import Invalid, NotFound
from assay.store.models import Job, JobAssignee, JobTask, Task


def get_job(session: Session, actor: Actor, job_id: int) -> Job:
    """The job, if the actor may see it: staff and reviewers see all, annotators their own."""
    job = session.get(Job, job_id)
    if job is None or job.deleted_at is not None:
        raise NotFound(f"Job {job_id} not found.")
    authorize(session, actor, Action.TASK_VIEW, job.project_id)
    if not actor.may(Action.JOBS_VIEW_ALL) and not is_assignee(session, job.id, actor.id):
        raise NotFound(f"Job {job_id} not found.")
    return job


def is_assignee(session: Session, job_id: int, user_id: int) -> bool:
    return session.get(JobAssignee, (job_id, user_id)) is not None


def job_task_ids(session: Session, job_id: int) -> list[int]:
    stmt = (
        select(JobTask.task_id)
        .join(Task, Task.id == JobTask.task_id)
        .where(JobTask.job_id == job_id, Task.deleted_at.is_(None))
        .order_by(JobTask.position)
    )
    return list(session.scalars(stmt))


def is_honeypot_for(session: Session, user_id: int, task_id: int) -> bool:
    """Whether the task is a honeypot in one of the user's jobs: they may annotate it like any
    task, with or without naming the job (a refusal would tell them it is one)."""
    stmt = (
        select(JobTask.task_id)
        .join(JobAssignee, JobAssignee.job_id == JobTask.job_id)
        .join(Job, Job.id == JobTask.job_id)
        .where(
            JobTask.task_id == task_id,
            JobTask.is_honeypot.is_(True),
            JobAssignee.user_id == user_id,
            Job.deleted_at.is_(None),
        )
    )
    return session.execute(stmt.limit(1)).first() is not None


def require_task_in_job(
    session: Session, job: Job, task_id: int, shown_id: int | None = None
) -> None:
    """Invalid unless the task is in the job; the error names it `shown_id` (the id the actor
    knows it by) when given."""
    if session.get(JobTask, (job.id, task_id)) is None:
        name = task_id if shown_id is None else shown_id
        raise Invalid.field("task", f"task {name} is not in job {job.id}")
