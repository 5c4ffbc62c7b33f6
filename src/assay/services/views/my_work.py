"""My work: one person's own jobs and the reviews of their own annotations, for any role.

Nothing here widens what the actor may see: the jobs are those they are an assignee of (in
projects they may still open), each with what `jobs.feedback` gives its annotator (status,
attempts, score and hints; never which tasks were honeypots, never GT), and the reviews are
those of their own live annotations, as `review.list_reviews` lets an annotator read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.services import honeypots, jobs
from assay.services.access import Actor, visible_project_ids
from assay.services.errors import Invalid
from assay.services.pagination import MAX_PAGE_SIZE, Page, page_of
from assay.services.review import STATUS_OF
from assay.services.task_aliases import seen_tasks
from assay.store.models import Annotation, Job, JobAssignee, JobSubmission, Project, Review, Task

# The hand-in states in the order a person should look at them: what waits for them first.
STATUS_ORDER = ("needs_fixes", "open", "to_lead", "accepted")
VERDICTS = tuple(STATUS_OF.values())  # accepted | fixed | rejected
ACTION_OF = {status: action for action, status in STATUS_OF.items()}


@dataclass(frozen=True)
class MyJob:
    """A job the person is assigned to: their progress and their hand-in feedback.

    `remaining` is what `jobs.remaining_by_job` counts for them (the queue hand-in
    checks); `done` is the rest of the job's tasks: annotated by them, or needing nothing
    more from them.
    """

    job: Job
    project: Project
    total: int
    remaining: int
    feedback: jobs.Feedback

    @property
    def done(self) -> int:
        return self.total - self.remaining

    @property
    def status(self) -> str:
        """open | needs_fixes | accepted | to_lead, as on the job's feedback page."""
        return self.feedback.status

    @property
    def latest(self) -> JobSubmission | None:
        return self.feedback.attempts[-1] if self.feedback.attempts else None


def my_jobs(session: Session, actor: Actor) -> list[MyJob]:
    """Every live job the actor is an assignee of, in projects they may open; the ones that
    wait for them (needs fixes, then open) first, then by project and job id."""
    stmt = (
        select(Job, Project)
        .join(JobAssignee, JobAssignee.job_id == Job.id)
        .join(Project, Project.id == Job.project_id)
        .where(
            JobAssignee.user_id == actor.id,
            Job.deleted_at.is_(None),
            Project.deleted_at.is_(None),
        )
        .order_by(Job.project_id, Job.id)
    )
    visible = visible_project_ids(session, actor)
    if visible is not None:
        stmt = stmt.where(Job.project_id.in_(visible))
    rows = session.execute(stmt).all()
    if not rows:
        return []
    ids = [job.id for job, _ in rows]
    progress = jobs.job_progress(session, ids, actor)
    attempts: dict[int, list[JobSubmission]] = {i: [] for i in ids}
    for sub in session.scalars(
        select(JobSubmission)
        .where(JobSubmission.user_id == actor.id, JobSubmission.job_id.in_(ids))
        .order_by(JobSubmission.job_id, JobSubmission.attempt)
    ):
        attempts[sub.job_id].append(sub)
    remaining = jobs.remaining_by_job(session, ids, actor.id)
    out = []
    for job, project in rows:
        max_attempts = honeypots.settings_of(project).max_attempts
        fb = jobs.Feedback(job, actor.id, attempts[job.id], max_attempts)
        out.append(MyJob(job, project, progress[job.id].total, remaining[job.id], fb))
    out.sort(key=lambda m: STATUS_ORDER.index(m.status))  # stable: project, job order kept
    return out


@dataclass(frozen=True)
class MyReview:
    """The standing (latest not undone) review of one of the person's annotations; its task
    by the id the person knows it by (`task_aliases`)."""

    annotation_id: int
    task_id: int
    project_id: int
    project_title: str
    status: str  # accepted | fixed | rejected
    comment: str
    reviewed_at: datetime


def check_verdict(value: str | None) -> str | None:
    """None (every verdict) or one of accepted, fixed, rejected."""
    if value is None or value in VERDICTS:
        return value
    raise Invalid.field("status", f"must be one of {', '.join(VERDICTS)}, not {value!r}")


def my_reviews(
    session: Session,
    actor: Actor,
    status: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[MyReview], Page]:
    """The actor's live annotations that have a standing review, newest review first,
    optionally of one verdict; one statement per page (the total rides along as a window
    count). Past the last page: NotFound "Invalid page."."""
    status = check_verdict(status)
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        page_of(page, page_size, 0)  # raises Invalid naming the field
    standing = (
        select(func.max(Review.id))
        .where(Review.annotation_id == Annotation.id, Review.undone_at.is_(None))
        .correlate(Annotation)
        .scalar_subquery()
    )
    stmt = (
        select(
            Annotation.id,
            Annotation.task_id,
            Annotation.job_id,
            Project.id,
            Project.title,
            Review.action,
            Review.comment,
            Review.created_at,
            func.count().over().label("total"),
        )
        .join(Review, Review.id == standing)
        .join(Task, Task.id == Annotation.task_id)
        .join(Project, Project.id == Annotation.project_id)
        .where(
            Annotation.completed_by_id == actor.id,
            Annotation.deleted_at.is_(None),
            Task.deleted_at.is_(None),
            Project.deleted_at.is_(None),
        )
    )
    visible = visible_project_ids(session, actor)
    if visible is not None:
        stmt = stmt.where(Annotation.project_id.in_(visible))
    if status is not None:
        stmt = stmt.where(Review.action == ACTION_OF[status])
    stmt = stmt.order_by(Review.created_at.desc(), Review.id.desc())
    rows = session.execute(stmt.offset((page - 1) * page_size).limit(page_size)).all()
    pg = page_of(page, page_size, rows[0].total if rows else 0)
    seen = seen_tasks(session, actor, [row.task_id for row in rows])
    reviews = [
        MyReview(
            ann_id,
            seen.id_of(task_id, job_id),
            project_id,
            title,
            STATUS_OF[action],
            comment or "",
            at,
        )
        for ann_id, task_id, job_id, project_id, title, action, comment, at, _ in rows
    ]
    return reviews, pg
