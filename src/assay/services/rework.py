"""The rework loop's shared rules: which reviews stand, which rejected work is back in its
author's queue, what a resubmission does, and to whom it returns.

- A reject (services.review) leaves the annotation `rejected`. When the project's
  `reject_returns_to_annotator` is on (services.review_settings), its task is back in its
  author's queue of the job, before new tasks (services.jobs.queue, `rework_of`).
- The author's next change of a rejected annotation is its resubmission (`resubmit`, called by
  services.tasks when the author edits it): a new revision of the same annotation. The reviews
  that stood are kept but superseded (no longer standing), so the annotation waits for review
  again, and it goes back to the reviewer who rejected it (`returned_to`): first in their review
  stream, out of other reviewers' (leads still see it).

It sits in the services' shared base because the queue (jobs), the annotations (tasks) and the
review all need it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from assay.services import review_settings
from assay.store.models import Annotation, JobTask, Project, Review, Task, User
from assay.store.types import utcnow

# A review that counts now: not undone, and not answered by a resubmission.
STANDING = (Review.undone_at.is_(None), Review.superseded_at.is_(None))


@dataclass(frozen=True)
class Rejection:
    """Why an annotation came back: the standing reject, and who gave it."""

    review: Review
    reviewer: User | None


def _latest_reject() -> Any:
    return (
        select(Review.id)
        .where(Review.annotation_id == Annotation.id, Review.action == "reject", *STANDING)
        .order_by(Review.id.desc())
        .limit(1)
        .correlate(Annotation)
        .scalar_subquery()
    )


def rework_of(user_id: int, job_ids: list[int]) -> Any:
    """The user's rejected annotations of the jobs' tasks (made in that job or in none), as a
    select of (JobTask.job_id, Annotation.id), oldest reject first. The caller keeps only
    jobs whose project returns rejected work (`returns_work`)."""
    latest = _latest_reject()
    return (
        select(JobTask.job_id, Annotation.id)
        .join(Task, Task.id == Annotation.task_id)
        .join(JobTask, JobTask.task_id == Annotation.task_id)
        .where(
            JobTask.job_id.in_(job_ids),
            Annotation.completed_by_id == user_id,
            or_(Annotation.job_id == JobTask.job_id, Annotation.job_id.is_(None)),
            Annotation.review_status == "rejected",
            Annotation.deleted_at.is_(None),
            Annotation.kind == "manual",
            Annotation.ground_truth.is_(False),
            Task.deleted_at.is_(None),
            latest.is_not(None),
        )
        .order_by(latest, Annotation.id)
    )


def returning_projects(session: Session, project_ids: list[int]) -> set[int]:
    """Which of the projects return rejected work to its annotator."""
    rows = session.execute(
        select(Project.id, Project.review_settings).where(Project.id.in_(project_ids))
    )
    return {
        pid
        for pid, value in rows
        if review_settings.ReviewSettings.from_json(value).reject_returns_to_annotator
    }


def rejection(session: Session, annotation_id: int) -> Rejection | None:
    """The latest standing reject of the annotation, with its reviewer."""
    review = session.scalar(
        select(Review)
        .where(Review.annotation_id == annotation_id, Review.action == "reject", *STANDING)
        .order_by(Review.id.desc())
        .limit(1)
    )
    if review is None:
        return None
    return Rejection(review, session.get(User, review.reviewer_id))


def resubmit(session: Session, ann: Annotation) -> bool:
    """If the annotation is rejected, make the author's change its resubmission: the reviews
    standing on it are superseded and it waits for review again. Returns whether it was one."""
    if ann.review_status != "rejected":
        return False
    session.execute(
        update(Review)
        .where(Review.annotation_id == ann.id, *STANDING)
        .values(superseded_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    ann.review_status = "none"
    return True


def returned_to() -> Any:
    """A scalar subquery correlated to Annotation: the reviewer the annotation returns to, who
    gave the latest reject that a resubmission answered; NULL when it was never resubmitted."""
    return (
        select(Review.reviewer_id)
        .where(
            Review.annotation_id == Annotation.id,
            Review.undone_at.is_(None),
            Review.superseded_at.is_not(None),
            Review.action == "reject",
        )
        .order_by(Review.id.desc())
        .limit(1)
        .correlate(Annotation)
        .scalar_subquery()
    )
