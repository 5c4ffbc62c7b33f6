"""A lead's acceptance gate: accepting a job closes it, so its annotators can no longer create,
change or delete annotations in it and their queue of it is empty; reopening undoes that."""

from __future__ import annotations

from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize
from assay.services.errors import Conflict, Forbidden
from assay.services.jobs.lookup import get_job
from assay.store.models import Job
from assay.store.types import utcnow


def accept_job(session: Session, actor: Actor, job_id: int) -> Job:
    """Close the job (leads and admins). Conflict when it is already accepted."""
    job = get_job(session, actor, job_id)
    authorize(session, actor, Action.JOB_ACCEPT, job.project_id)
    if job.accepted_at is not None:
        raise Conflict(f"Job {job.id} is already accepted.")
    job.accepted_at = utcnow()
    job.accepted_by_id = actor.id
    session.flush()
    return job


def reopen_job(session: Session, actor: Actor, job_id: int) -> Job:
    """Open an accepted job again (leads and admins): its annotators work in it as before.
    Conflict when it is not accepted."""
    job = get_job(session, actor, job_id)
    authorize(session, actor, Action.JOB_ACCEPT, job.project_id)
    if job.accepted_at is None:
        raise Conflict(f"Job {job.id} is not accepted: there is nothing to reopen.")
    job.accepted_at = None
    job.accepted_by_id = None
    session.flush()
    return job


def closed_sentence(job: Job) -> str:
    return (
        f"Job {job.id} was accepted by a lead and is closed: annotations in it can no longer "
        "be created, changed or deleted."
    )


def require_open(session: Session, actor: Actor, job_id: int | None) -> None:
    """Forbidden when the annotation's job is accepted, unless the actor may accept jobs."""
    if job_id is None or actor.may(Action.JOB_ACCEPT):
        return
    job = session.get(Job, job_id)
    if job is not None and job.accepted_at is not None:
        raise Forbidden(closed_sentence(job))
