"""Reviewer assignment: when a task has assigned reviewers, only they (and leads and admins)
review it; a task without any is open to every reviewer of the project."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize, can_review, works_in
from assay.services.checks import is_id_list
from assay.services.errors import Invalid, NotFound
from assay.services.selection import BulkResult, selected_task_ids
from assay.store.models import (
    Annotation,
    Review,
    ReviewerAssignment,
    Task,
    User,
)
from assay.store.types import utcnow


def assign_reviewers(
    session: Session, actor: Actor, project_id: int, selection: Any, reviewers: Any
) -> BulkResult:
    """Add the reviewers to every selected task (those already assigned stay as they are)."""
    authorize(session, actor, Action.REVIEWS_MANAGE, project_id)
    if not reviewers or not is_id_list(reviewers):
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
        if not can_review(user.role):
            raise Invalid.field("reviewers", f"user {uid} is an {user.role} and cannot review")
        if not works_in(session, uid, user.role, project_id):
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
