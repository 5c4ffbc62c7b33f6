"""The review stream: the next annotation a reviewer should look at, in the order they chose
(oldest, weakest agreement, lowest model confidence or accuracy), within a task subset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

from assay.services import rework
from assay.services.access import Action, Actor, authorize
from assay.services.annotator_work import SCORED_WORK
from assay.services.checks import is_id_list
from assay.services.errors import Invalid
from assay.store.models import (
    Annotation,
    Prediction,
    QualityScore,
    Review,
    ReviewerAssignment,
    Task,
)

ORDERS = ("task", "annotator", "agreement", "confidence", "accuracy")


def task_subset(value: str | None) -> list[int] | None:
    """`?tasks=3,5,8` of the review stream as task ids; None (every task) when empty or absent.

    >>> task_subset("3, 5,8"), task_subset(""), task_subset(None)
    ([3, 5, 8], None, None)
    """
    if not value:
        return None
    try:
        ids = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        ids = None
    if not is_id_list(ids):
        raise Invalid.field("tasks", "must be comma-separated task ids")
    return ids


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
    A resubmission (services.rework) returns to the reviewer who rejected it: it comes first in
    their stream and is out of other reviewers' (leads and admins still have it, in order).
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
            *rework.STANDING,
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
    mine_again = case((rework.returned_to() == actor.id, 0), else_=1)  # resubmitted to me
    ann_id = session.scalar(todo.order_by(mine_again, *keys, Annotation.id).limit(1))
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
            *SCORED_WORK,
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
        returned = rework.returned_to()
        stmt = stmt.where(returned.is_(None) | (returned == actor.id))
    return stmt
