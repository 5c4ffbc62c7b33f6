"""Review: reviewers accept, fix & accept, or reject annotations, one at a time or as a stream.

An annotation's `review_status` is the verdict of its latest standing (not undone) review:
none, accepted, fixed or rejected. Fix & accept stores the reviewer's corrected result as a
new revision of the annotation (the annotator's original stays in its revisions). Reject does
not send the task back: soft-deleting the rejected annotation does, since the annotation queue
gives every task its assignee has no live annotation of.

Reviewer assignment: when a task has assigned reviewers, only they (and leads and admins)
review it; a task without any is open to every reviewer of the project.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, delete, func, insert, select
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize, is_member
from assay.services.annotator_work import ANNOTATOR_WORK
from assay.services.errors import Conflict, Forbidden, Invalid, NotFound
from assay.services.selection import BulkResult, selected_task_ids
from assay.services.tasks import checked_result, label_config_of_project
from assay.services.tasks.annotations import get_annotation, record_revision
from assay.store.models import (
    Annotation,
    AnnotationRevision,
    Prediction,
    QualityScore,
    Review,
    ReviewerAssignment,
    Task,
    User,
)
from assay.store.types import utcnow

STATUS_OF = {"accept": "accepted", "fix_accept": "fixed", "reject": "rejected"}
REVIEW_STATUSES = ("none", "accepted", "fixed", "rejected")
ORDERS = ("task", "annotator", "agreement", "confidence", "accuracy")
MAX_COMMENT = 5000
_CAN_REVIEW = ("admin", "lead", "reviewer")


# -- reviewing one annotation ------------------------------------------------------------------


def review_annotation(
    session: Session,
    actor: Actor,
    annotation_id: int,
    action: Any,
    comment: Any = "",
    result: Any = None,
) -> Review:
    """Record the actor's verdict on someone else's annotation; fix_accept also stores the fix."""
    ann = _reviewable(session, actor, annotation_id)
    if action not in STATUS_OF:
        raise Invalid.field("action", f"must be one of {', '.join(STATUS_OF)}, not {action!r}")
    comment = _check_comment(comment)
    if action == "fix_accept" and result is None:
        raise Invalid.field("result", "is required for fix_accept: the corrected regions")
    if action != "fix_accept" and result is not None:
        raise Invalid.field("result", f"only fix_accept takes a result, not {action}")
    if ann.was_cancelled:
        raise Conflict(f"Annotation {ann.id} was cancelled (skipped): there is nothing to review.")
    if ann.completed_by_id == actor.id:
        raise Forbidden("You may not review your own annotation.")
    mine = session.scalar(
        select(Review).where(
            Review.annotation_id == ann.id,
            Review.reviewer_id == actor.id,
            Review.undone_at.is_(None),
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
    if review.reviewer_id != actor.id and not actor.may(Action.REVIEWS_MANAGE):
        raise Forbidden("Only the reviewer or a lead may undo a review.")
    if review.undone_at is not None:
        raise Conflict(f"Review {review.id} is already undone.")
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
    return list(
        session.scalars(select(Review).where(Review.annotation_id == ann.id).order_by(Review.id))
    )


def _reviewable(session: Session, actor: Actor, annotation_id: int) -> Annotation:
    ann = session.get(Annotation, annotation_id)
    if ann is None or ann.deleted_at is not None:
        raise NotFound(f"Annotation {annotation_id} not found.")
    authorize(session, actor, Action.REVIEW, ann.project_id)
    if ann.ground_truth or ann.kind != "manual":
        # A fix of the GT would change the answer key, which only leads may do.
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
        .where(Review.annotation_id == annotation_id, Review.undone_at.is_(None))
        .order_by(Review.id.desc())
        .limit(1)
    )
    return STATUS_OF[latest] if latest else "none"


def task_subset(value: str | None) -> list[int] | None:
    """`?tasks=3,5,8` of the review stream as task ids; None (every task) when empty or absent.

    >>> task_subset("3, 5,8"), task_subset(""), task_subset(None)
    ([3, 5, 8], None, None)
    """
    if not value:
        return None
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise Invalid.field("tasks", "must be comma-separated task ids") from None


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
            *ANNOTATOR_WORK,
            Annotation.review_status == status,
        )
        .correlate(Task)
        .exists()
    )


# -- reviewer assignment -----------------------------------------------------------------------


def assign_reviewers(
    session: Session, actor: Actor, project_id: int, selection: Any, reviewers: Any
) -> BulkResult:
    """Add the reviewers to every selected task (those already assigned stay as they are)."""
    authorize(session, actor, Action.REVIEWS_MANAGE, project_id)
    if (
        not isinstance(reviewers, list)
        or not reviewers
        or not all(isinstance(u, int) and not isinstance(u, bool) for u in reviewers)
    ):
        raise Invalid.field("reviewers", "must be a non-empty list of user ids")
    reviewers = list(dict.fromkeys(reviewers))
    _check_reviewers(session, project_id, reviewers)
    selected = selected_task_ids(session, project_id, selection)
    task_ids = list(session.scalars(selected))
    have: dict[int, set[int]] = defaultdict(set)
    for task_id, user_id in session.execute(
        select(ReviewerAssignment.task_id, ReviewerAssignment.user_id).where(
            ReviewerAssignment.task_id.in_(selected), ReviewerAssignment.user_id.in_(reviewers)
        )
    ):
        have[task_id].add(user_id)
    now = utcnow()
    rows = [
        {"task_id": t, "user_id": u, "project_id": project_id, "assigned_by_id": actor.id,
         "assigned_at": now}
        for t in task_ids
        for u in reviewers
        if u not in have[t]
    ]  # fmt: skip
    if rows:
        session.execute(insert(ReviewerAssignment), rows)
    changed = len({r["task_id"] for r in rows})
    return BulkResult(len(task_ids), changed, len(task_ids) - changed, 0)


def remove_reviewer(session: Session, actor: Actor, task_id: int, user_id: int) -> None:
    task = session.get(Task, task_id)
    if task is None or task.deleted_at is not None:
        raise NotFound(f"Task {task_id} not found.")
    authorize(session, actor, Action.REVIEWS_MANAGE, task.project_id)
    gone = session.execute(
        delete(ReviewerAssignment).where(
            ReviewerAssignment.task_id == task_id, ReviewerAssignment.user_id == user_id
        )
    )
    if not gone.rowcount:
        raise NotFound(f"User {user_id} is not an assigned reviewer of task {task_id}.")


def _check_reviewers(session: Session, project_id: int, user_ids: list[int]) -> None:
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))}
    for uid in user_ids:
        user = users.get(uid)
        if user is None or not user.is_active:
            raise Invalid.field("reviewers", f"user {uid} does not exist")
        if user.role not in _CAN_REVIEW:
            raise Invalid.field("reviewers", f"user {uid} is an {user.role} and cannot review")
        if user.role != "admin" and not is_member(session, uid, project_id):
            raise Invalid.field("reviewers", f"user {uid} is not a member of project {project_id}")


@dataclass(frozen=True)
class TaskReviewers:
    assigned: list[int]
    reviewed: list[int]  # reviewers with a standing review of one of its annotations


def reviewers_of(session: Session, task_ids: list[int]) -> dict[int, TaskReviewers]:
    """Assigned and actual reviewers of each task, in two queries."""
    if not task_ids:
        return {}
    assigned: dict[int, set[int]] = defaultdict(set)
    for t, u in session.execute(
        select(ReviewerAssignment.task_id, ReviewerAssignment.user_id).where(
            ReviewerAssignment.task_id.in_(task_ids)
        )
    ):
        assigned[t].add(u)
    reviewed: dict[int, set[int]] = defaultdict(set)
    for t, u in session.execute(
        select(Review.task_id, Review.reviewer_id)
        .join(Annotation, Annotation.id == Review.annotation_id)
        .where(
            Review.task_id.in_(task_ids),
            Review.undone_at.is_(None),
            Annotation.deleted_at.is_(None),
        )
    ):
        reviewed[t].add(u)
    return {
        t: TaskReviewers(sorted(assigned[t]), sorted(reviewed[t]))
        for t in task_ids
        if assigned[t] or reviewed[t]
    }


def task_reviewers(session: Session, actor: Actor, task_id: int) -> TaskReviewers:
    task = session.get(Task, task_id)
    if task is None or task.deleted_at is not None:
        raise NotFound(f"Task {task_id} not found.")
    authorize(session, actor, Action.REVIEW, task.project_id)
    return reviewers_of(session, [task_id]).get(task_id, TaskReviewers([], []))


# -- the review stream -------------------------------------------------------------------------


@dataclass(frozen=True)
class NextReview:
    annotation: Annotation | None  # None when nothing is left to review
    task: Task | None
    remaining: int  # annotations in scope the actor has not reviewed, this one included
    total: int  # annotations in scope


def next_for_review(
    session: Session,
    actor: Actor,
    project_id: int,
    order: Any = "task",
    annotator: int | None = None,
    task_ids: list[int] | None = None,
) -> NextReview:
    """The next annotation for this reviewer, in the chosen order.

    In scope: live, non-cancelled, non-GT annotations of live tasks, not the actor's own,
    on tasks the actor may review (assignment), optionally of one annotator or a task subset.
    The actor's reviewed ones are skipped. Orders: task id; annotator; lowest task agreement;
    lowest model confidence (the task's lowest prediction score); lowest accuracy vs GT.
    Unknown values (no agreement, no prediction, no GT) come last, then task and id order.
    """
    authorize(session, actor, Action.REVIEW, project_id)
    if order not in ORDERS:
        raise Invalid.field("order", f"must be one of {', '.join(ORDERS)}")
    scope = _scope(actor, project_id, annotator, task_ids)
    not_mine = ~(
        select(Review.id)
        .where(
            Review.annotation_id == Annotation.id,
            Review.reviewer_id == actor.id,
            Review.undone_at.is_(None),
        )
        .exists()
    )
    total = session.scalar(select(func.count()).select_from(scope.subquery())) or 0
    todo = scope.where(not_mine)
    remaining = session.scalar(select(func.count()).select_from(todo.subquery())) or 0
    if not remaining:
        return NextReview(None, None, 0, total)
    keys: list[Any]
    if order == "annotator":
        keys = [Annotation.completed_by_id, Task.id]
    elif order == "agreement":
        keys = [Task.agreement.asc().nulls_last(), Task.id]
    elif order == "confidence":
        lowest = (
            select(func.min(Prediction.score))
            .where(Prediction.task_id == Task.id, Prediction.deleted_at.is_(None))
            .correlate(Task)
            .scalar_subquery()
        )
        keys = [lowest.asc().nulls_last(), Task.id]
    elif order == "accuracy":
        todo = todo.outerjoin(QualityScore, QualityScore.annotation_id == Annotation.id)
        keys = [QualityScore.accuracy.asc().nulls_last(), Task.id]
    else:
        keys = [Task.id]
    ann_id = session.scalar(todo.order_by(*keys, Annotation.id).limit(1))
    ann = session.get(Annotation, ann_id)
    assert ann is not None
    return NextReview(ann, session.get(Task, ann.task_id), remaining, total)


def _scope(
    actor: Actor, project_id: int, annotator: int | None, task_ids: list[int] | None
) -> Select[tuple[int]]:
    stmt = (
        select(Annotation.id)
        .join(Task, Task.id == Annotation.task_id)
        .where(
            Annotation.project_id == project_id,
            *ANNOTATOR_WORK,
            Task.deleted_at.is_(None),
            Annotation.completed_by_id.is_distinct_from(actor.id),
        )
    )
    if annotator is not None:
        stmt = stmt.where(Annotation.completed_by_id == annotator)
    if task_ids is not None:
        stmt = stmt.where(Task.id.in_(task_ids))
    if not actor.may(Action.REVIEWS_MANAGE):
        anyone = select(ReviewerAssignment.task_id).where(ReviewerAssignment.task_id == Task.id)
        me = anyone.where(ReviewerAssignment.user_id == actor.id)
        stmt = stmt.where(and_(~anyone.exists()) | me.exists())
    return stmt
