"""A job's honeypots as a lead sees them: list them, and reroll them before the job starts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize
from assay.services.errors import Conflict
from assay.services.honeypots.pool import derived_difficulties
from assay.services.honeypots.rotation import job_started, reinject
from assay.services.jobs.lookup import get_job
from assay.store.models import (
    Honeypot,
    JobTask,
)


def reroll(session: Session, actor: Actor, job_id: int) -> list[int]:
    """A new choice of honeypots for a job nobody has started (409 once it has annotations)."""
    job = get_job(session, actor, job_id)
    authorize(session, actor, Action.HONEYPOTS_MANAGE, job.project_id)
    if job_started(session, job.id):
        raise Conflict(f"Job {job.id} has started: its honeypots can no longer be rerolled.")
    return reinject(session, job)


@dataclass(frozen=True)
class JobHoneypot:
    task_id: int
    position: int
    difficulty: str


def list_job_honeypots(session: Session, actor: Actor, job_id: int) -> list[JobHoneypot]:
    job = get_job(session, actor, job_id)
    authorize(session, actor, Action.HONEYPOTS_VIEW, job.project_id)
    rows = session.execute(
        select(JobTask.task_id, JobTask.position, Honeypot.difficulty)
        .join(Honeypot, Honeypot.task_id == JobTask.task_id, isouter=True)
        .where(JobTask.job_id == job.id, JobTask.is_honeypot.is_(True))
        .order_by(JobTask.position)
    ).all()
    derived = derived_difficulties(session, [t for t, _, d in rows if d is None])
    return [JobHoneypot(t, p, d or derived[t]) for t, p, d in rows]
