"""Field feedback: a report that a task's prediction is wrong, from anyone who works in the
project (annotators too: they name the tasks of their jobs by alias, and their report tells
them nothing back). Leads and reviewers read the reports; the next audit takes the reported
tasks first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize
from assay.services.checks import is_id
from assay.services.errors import Invalid
from assay.services.pagination import Page, page_of
from assay.services.tasks.visibility import resolve_task
from assay.store.drift_models import Feedback
from assay.store.models import Prediction

FEEDBACK_KINDS = (
    "wrong_label",
    "missed_object",
    "false_object",
    "bad_location",
    "low_confidence",
    "other",
)
MAX_COMMENT = 5000


def send_feedback(
    session: Session,
    actor: Actor,
    task_id: int,
    kind: Any = None,
    comment: Any = "",
    prediction: Any = None,
) -> Feedback:
    task, _job = resolve_task(session, actor, task_id)
    authorize(session, actor, Action.FEEDBACK_SEND, task.project_id)
    if kind not in FEEDBACK_KINDS:
        raise Invalid.field("kind", f"must be one of {', '.join(FEEDBACK_KINDS)}")
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        raise Invalid.field("comment", f"must be text of at most {MAX_COMMENT} characters")
    if prediction is not None:
        if not is_id(prediction):
            raise Invalid.field("prediction", "must be a prediction id")
        p = session.get(Prediction, prediction)
        if p is None or p.deleted_at is not None or p.task_id != task.id:
            raise Invalid.field("prediction", "is not a prediction of this task")
    row = Feedback(
        project_id=task.project_id,
        task_id=task.id,
        prediction_id=prediction,
        kind=kind,
        comment=comment,
        created_by_id=actor.id,
    )
    session.add(row)
    session.flush()
    return row


def list_feedback(
    session: Session, actor: Actor, project_id: int, page: int = 1, page_size: int = 50
) -> tuple[list[Feedback], Page]:
    """One page of the project's reports, newest first."""
    authorize(session, actor, Action.DRIFT_VIEW, project_id)
    where = Feedback.project_id == project_id
    total = session.scalar(select(func.count()).select_from(Feedback).where(where)) or 0
    pg = page_of(page, page_size, total)
    rows = session.scalars(
        select(Feedback)
        .where(where)
        .order_by(Feedback.created_at.desc(), Feedback.id.desc())
        .offset(pg.offset)
        .limit(pg.size)
    )
    return list(rows), pg
