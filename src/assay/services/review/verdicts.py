"""Verdicts on annotations: accept, fix & accept, reject, undo. An annotation's `review_status`
is the verdict of its latest standing (not undone) review: none, accepted, fixed or rejected.
Fix & accept stores the reviewer's corrected result as a new revision (the annotator's
original stays in its revisions, and scores keep measuring it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.services import review_settings
from assay.services.access import Action, Actor, authorize, shows_annotation_details
from assay.services.annotator_work import SCORED_WORK
from assay.services.errors import Conflict, Forbidden, Invalid, NotFound
from assay.services.ground_truth import lock_annotation
from assay.services.rework import STANDING
from assay.services.tasks import checked_result, label_config_of_project
from assay.services.tasks.annotations import check_revision, get_annotation, record_revision
from assay.store.models import (
    Annotation,
    AnnotationRevision,
    Project,
    Review,
    ReviewerAssignment,
    Task,
)
from assay.store.types import utcnow

STATUS_OF = {"accept": "accepted", "fix_accept": "fixed", "reject": "rejected"}


REVIEW_STATUSES = ("none", "accepted", "fixed", "rejected")


MAX_COMMENT = 5000


def review_annotation(
    session: Session,
    actor: Actor,
    annotation_id: int,
    action: Any,
    comment: Any = "",
    result: Any = None,
    revision: Any = None,
    reason: Any = None,
) -> Review:
    """Record the actor's verdict on someone else's annotation; fix_accept also stores the fix.

    A reject carries a `reason` from the project's list (`review_settings`) or "other" ("other"
    when none is given) and the `comment`; the rejected work goes back into its author's queue
    when the project says so (`jobs.queue`), and their resubmission comes back to this reviewer.

    The annotation is locked while the verdict is recorded (`ground_truth.lock_annotation`), so
    two reviewers' fixes queue up and the second one's `reviewed_revision` is the first fix.
    `revision`, when given, is the revision the reviewer looked at: a stale one is a Conflict.
    """
    ann = _reviewable(session, actor, annotation_id)
    check_revision(ann, revision)
    if action not in STATUS_OF:
        raise Invalid.field("action", f"must be one of {', '.join(STATUS_OF)}, not {action!r}")
    comment = _check_comment(comment)
    if action == "fix_accept" and result is None:
        raise Invalid.field("result", "is required for fix_accept: the corrected regions")
    if action != "fix_accept" and result is not None:
        raise Invalid.field("result", f"only fix_accept takes a result, not {action}")
    if action == "reject":
        project = session.get(Project, ann.project_id)
        assert project is not None
        reason = review_settings.settings_of(project).check_reason(
            review_settings.OTHER if reason is None else reason
        )
    elif reason is not None:
        raise Invalid.field("reason", f"only a reject takes a reason, not {action}")
    if ann.was_cancelled:
        raise Conflict(f"Annotation {ann.id} was cancelled (skipped): there is nothing to review.")
    if ann.completed_by_id == actor.id:
        raise Forbidden("You may not review your own annotation.")
    mine = session.scalar(
        select(Review).where(
            Review.annotation_id == ann.id,
            Review.reviewer_id == actor.id,
            *STANDING,
        )
    )
    if mine is not None:
        raise Conflict(
            f"You already reviewed annotation {ann.id} ({STATUS_OF[mine.action]}); "
            "undo that review first."
        )
    reviewed = ann.revision
    fixed = None
    if action == "fix_accept":
        fixed_result = checked_result(
            result, label_config_of_project(session, ann.project_id), "result"
        )
        if ann.own_result is None:  # a second fix keeps the annotator's, not the first fix
            ann.own_result = ann.result
        fixed = _store_result(session, actor, ann, fixed_result, "fixed")
    review = Review(
        annotation_id=ann.id,
        task_id=ann.task_id,
        project_id=ann.project_id,
        reviewer_id=actor.id,
        action=action,
        comment=comment,
        reason=reason,
        reviewed_revision=reviewed,
        fixed_revision=fixed,
        created_at=utcnow(),
    )
    session.add(review)
    ann.review_status = STATUS_OF[action]
    session.flush()
    return review


def undo_review(session: Session, actor: Actor, review_id: int) -> Review:
    """Take a review back (its reviewer, or a lead); undoing a fix restores the reviewed result.

    A fix is only undone while it is the annotation's latest content: an edit made after it
    would otherwise be lost, so that answers Conflict.
    """
    review = session.get(Review, review_id)
    if review is None:
        raise NotFound(f"Review {review_id} not found.")
    ann = get_annotation(session, actor, review.annotation_id)
    authorize(session, actor, Action.REVIEW, ann.project_id)
    lock_annotation(session, ann)
    session.refresh(review)
    if review.reviewer_id != actor.id and not actor.may(Action.REVIEWS_MANAGE):
        raise Forbidden("Only the reviewer or a lead may undo a review.")
    if review.undone_at is not None:
        raise Conflict(f"Review {review.id} is already undone.")
    if review.superseded_at is not None:
        raise Conflict(
            f"Review {review.id} was answered: annotation {ann.id} was resubmitted after it."
        )
    if review.action == "fix_accept":
        if ann.revision != review.fixed_revision:
            raise Conflict(
                f"Annotation {ann.id} changed after the fix (revision {ann.revision}); "
                "edit it instead of undoing the review."
            )
        before = session.scalar(
            select(AnnotationRevision.result)
            .where(
                AnnotationRevision.annotation_id == ann.id,
                AnnotationRevision.revision == review.reviewed_revision,
            )
            .order_by(AnnotationRevision.id.desc())
            .limit(1)
        )
        _store_result(session, actor, ann, before if before is not None else [], "unfixed")
    review.undone_at = utcnow()
    review.undone_by_id = actor.id
    session.flush()
    if ann.own_result is not None and ann.own_result == ann.result:
        ann.own_result = None  # the author's result is the annotation's again
    ann.review_status = _standing_status(session, ann.id)
    session.flush()
    return review


def list_reviews(session: Session, actor: Actor, annotation_id: int) -> list[Review]:
    """Every review of the annotation, undone ones included, oldest first.

    Annotators read the reviews of their own annotations only (others' are not visible to them
    at all); reviewers and leads read all.
    """
    ann = get_annotation(session, actor, annotation_id)
    if not shows_annotation_details(actor, ann):  # a co-assignee's, in a shared project
        raise Forbidden("Annotators read the reviews of their own annotations only.")
    return list(
        session.scalars(select(Review).where(Review.annotation_id == ann.id).order_by(Review.id))
    )


def _reviewable(session: Session, actor: Actor, annotation_id: int) -> Annotation:
    ann = session.get(Annotation, annotation_id)
    if ann is None or ann.deleted_at is not None:
        raise NotFound(f"Annotation {annotation_id} not found.")
    authorize(session, actor, Action.REVIEW, ann.project_id)
    lock_annotation(session, ann)  # checked below as it now is: a star may just have landed
    if ann.deleted_at is not None:
        raise NotFound(f"Annotation {annotation_id} not found.")
    if ann.ground_truth or ann.kind != "manual":
        # A fix of the GT would change the answer key, which only those who change GT may do,
        # and by editing it (PATCH), not by a review: a reviewer never does.
        what = "the task's ground truth" if ann.ground_truth else "a consensus"
        raise Conflict(f"Annotation {ann.id} is {what}: reviews are for annotators' work.")
    if not actor.may(Action.REVIEWS_MANAGE):
        assigned = set(
            session.scalars(
                select(ReviewerAssignment.user_id).where(ReviewerAssignment.task_id == ann.task_id)
            )
        )
        if assigned and actor.id not in assigned:
            raise Forbidden(f"Task {ann.task_id} is assigned to other reviewers.")
    return ann


def _check_comment(comment: Any) -> str:
    if comment is None:
        return ""
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        raise Invalid.field("comment", f"must be text of at most {MAX_COMMENT} characters")
    return comment


def _store_result(
    session: Session, actor: Actor, ann: Annotation, result: list[Any], action: str
) -> int:
    """The reviewer's result as the annotation's next revision; returns its number."""
    ann.result = result
    ann.revision += 1
    ann.updated_at = utcnow()
    ann.updated_by_id = actor.id
    session.flush()
    record_revision(session, ann, action, actor)
    return ann.revision


def _standing_status(session: Session, annotation_id: int) -> str:
    latest = session.scalar(
        select(Review.action)
        .where(Review.annotation_id == annotation_id, *STANDING)
        .order_by(Review.id.desc())
        .limit(1)
    )
    return STATUS_OF[latest] if latest else "none"


def check_review_status(value: Any) -> str:
    if value not in REVIEW_STATUSES:
        raise Invalid.field("review_status", f"must be one of {', '.join(REVIEW_STATUSES)}")
    return value


def has_review_status(status: str) -> Any:
    """A filter on Task: it has a live, non-cancelled annotation with this review status."""
    return (
        select(Annotation.id)
        .where(
            Annotation.task_id == Task.id,
            *SCORED_WORK,
            Annotation.review_status == status,
        )
        .correlate(Task)
        .exists()
    )
