"""Handing in a job: the annotator's honeypot answers are scored; below the project's
`target_accuracy` the job goes back as "needs fixes" with the score and hints; after
`max_attempts` failed attempts it goes to a lead, who sees every attempt."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize
from assay.services.errors import Conflict, Invalid
from assay.services.honeypots.answers import score_answers
from assay.services.honeypots.settings import settings_of
from assay.services.jobs.lookup import get_job, is_assignee, job_task_ids
from assay.services.jobs.queue import remaining_by_job
from assay.services.projects import quality_settings_of
from assay.store.models import (
    Job,
    JobSubmission,
    Project,
)


@dataclass(frozen=True)
class Feedback:
    """An annotator's attempts at a job, newest last, and what they may still do."""

    job: Job
    user_id: int
    attempts: list[JobSubmission]
    max_attempts: int

    @property
    def status(self) -> str:
        """open (not submitted yet) | accepted | needs_fixes | to_lead."""
        return self.attempts[-1].status if self.attempts else "open"

    @property
    def attempts_left(self) -> int:
        if self.status in ("accepted", "to_lead"):
            return 0
        return max(0, self.max_attempts - len(self.attempts))


def _attempts(session: Session, job_id: int, user_id: int | None = None) -> list[JobSubmission]:
    stmt = select(JobSubmission).where(JobSubmission.job_id == job_id)
    if user_id is not None:
        stmt = stmt.where(JobSubmission.user_id == user_id)
    return list(session.scalars(stmt.order_by(JobSubmission.user_id, JobSubmission.attempt)))


def submit_job(session: Session, actor: Actor, job_id: int) -> Feedback:
    """Hand in the actor's work on a job: score its honeypots and accept it or send it back.

    Conflict (and no attempt used) when tasks are still unannotated by the actor (however
    they annotate: `annotator_work.work_on`), or the job was accepted or went to a lead.
    """
    job = get_job(session, actor, job_id)
    authorize(session, actor, Action.JOB_SUBMIT, job.project_id)
    if not is_assignee(session, job.id, actor.id):
        raise Invalid.field("job", f"you are not an assignee of job {job.id}")
    project = session.get(Project, job.project_id)
    assert project is not None
    cfg = settings_of(project)
    before = _attempts(session, job.id, actor.id)
    fb = Feedback(job, actor.id, before, cfg.max_attempts)
    if fb.status == "accepted":
        raise Conflict(f"Job {job.id} is already accepted.")
    if fb.status == "to_lead":
        raise Conflict(f"Job {job.id} went to a lead after {len(before)} attempts.")
    # Unannotated tasks are refused, not scored as empty answers: no attempt is used up.
    remaining = remaining_by_job(session, [job.id], actor.id)[job.id]
    if remaining:
        total = len(job_task_ids(session, job.id))
        raise Conflict(
            f"{remaining} of {total} tasks of job {job.id} are still unannotated: annotate "
            "or skip them, then hand the job in."
        )
    quality = quality_settings_of(project)
    score, details, hints = score_answers(session, project, job.id, actor.id)
    attempt = len(before) + 1
    if quality.meets_target(score):
        status = "accepted"
    elif attempt >= cfg.max_attempts:
        status = "to_lead"
    else:
        status = "needs_fixes"
    sub = JobSubmission(
        job_id=job.id,
        project_id=job.project_id,
        user_id=actor.id,
        attempt=attempt,
        status=status,
        score=None if score is None else round(score, 6),
        target=quality.target_accuracy,
        honeypots=len(details),
        hints=hints if status != "accepted" else [],
        details=details,
    )
    session.add(sub)
    session.flush()
    return Feedback(job, actor.id, [*before, sub], cfg.max_attempts)


def feedback(session: Session, actor: Actor, job_id: int) -> Feedback:
    """The actor's own attempts at a job (annotators: score and hints, nothing else)."""
    job = get_job(session, actor, job_id)
    project = session.get(Project, job.project_id)
    assert project is not None
    return Feedback(
        job, actor.id, _attempts(session, job.id, actor.id), settings_of(project).max_attempts
    )


def submissions(session: Session, actor: Actor, job_id: int) -> list[JobSubmission]:
    """Every attempt of every assignee at a job, with per-honeypot scores (leads)."""
    job = get_job(session, actor, job_id)
    authorize(session, actor, Action.HONEYPOTS_VIEW, job.project_id)
    return _attempts(session, job.id)
