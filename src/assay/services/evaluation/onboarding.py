"""Onboarding: with method "onboarding", a new annotator's first `onboarding_tasks` served
tasks are GT tasks of the honeypot pool. Each is put into the job they ask `next` of, as a
honeypot of that job (an alias like every task, chosen by the honeypot rotation's rules), at
its front, so the queue serves it like any other task: same keys, same shapes."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.services.access import Actor, Role
from assay.services.annotator_work import work_on
from assay.services.evaluation.pauses import lock_member
from assay.services.evaluation.settings import ONBOARDING, settings_of
from assay.services.honeypots import put_first
from assay.store.evaluation_models import OnboardingServing
from assay.store.models import Job, JobAssignee, JobTask, Project


@dataclass
class Progress:
    """An annotator's onboarding: GT tasks served (still in their job), answered (or skipped),
    and the jobs holding one still open to them."""

    served: int = 0
    answered: int = 0
    open_jobs: set[int] = field(default_factory=set)


def progress_of(session: Session, project_id: int, user_ids: list[int]) -> dict[int, Progress]:
    """Each annotator's onboarding progress, in one query."""
    out: dict[int, Progress] = defaultdict(Progress)
    if not user_ids:
        return out
    answered = work_on(
        OnboardingServing.task_id, OnboardingServing.job_id, OnboardingServing.user_id
    )
    rows = session.execute(
        select(OnboardingServing.user_id, OnboardingServing.job_id, answered)
        .join(
            JobTask,
            (JobTask.job_id == OnboardingServing.job_id)
            & (JobTask.task_id == OnboardingServing.task_id),
        )
        .where(OnboardingServing.project_id == project_id, OnboardingServing.user_id.in_(user_ids))
    )
    for user_id, job_id, done in rows:
        p = out[user_id]
        p.served += 1
        if done:
            p.answered += 1
        else:
            p.open_jobs.add(job_id)
    return out


def serve_onboarding(session: Session, actor: Actor, job: Job) -> None:
    """Before the queue answers `next`: while an annotator has had fewer than
    `onboarding_tasks` GT tasks and none is open in this job, put one at the job's front
    (`honeypots.put_first`). When the pool has none left for them, they get normal work.
    Only in a job of theirs alone: a honeypot of a job is served to all its assignees, and
    would reopen a co-assignee's finished job."""
    if actor.role != Role.ANNOTATOR or _shared(session, job.id):
        return
    project = session.get(Project, job.project_id)
    assert project is not None
    cfg = settings_of(project)
    if cfg.method != ONBOARDING:
        return
    lock_member(session, job.project_id, actor.id)  # two `next` at once serve one GT task
    progress = progress_of(session, job.project_id, [actor.id])[actor.id]
    if progress.served >= cfg.onboarding_tasks or job.id in progress.open_jobs:
        return
    task_id = put_first(session, job)
    if task_id is not None:
        session.add(
            OnboardingServing(
                project_id=job.project_id, user_id=actor.id, job_id=job.id, task_id=task_id
            )
        )
        session.flush()


def _shared(session: Session, job_id: int) -> bool:
    """Whether the job has more than one assignee."""
    n = session.scalar(select(func.count()).where(JobAssignee.job_id == job_id))
    return (n or 0) > 1
