"""What the lead may compare a task with, side by side: every other job's annotations and every
model version's predictions of the same task."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize
from assay.services.tasks import get_task
from assay.store.models import (
    Annotation,
    Job,
    Prediction,
    User,
)


@dataclass(frozen=True)
class Reference:
    """One other source of regions for a task: an annotation (job + annotator) or a model."""

    kind: str  # "annotation" | "prediction"
    id: int
    title: str
    result: list[Any]
    job_id: int | None = None
    annotator_id: int | None = None
    model_version: str | None = None
    score: float | None = None


def references(session: Session, actor: Actor, task_id: int) -> list[Reference]:
    """Every source of regions for the task: each job x annotator, and each model version."""
    task = get_task(session, actor, task_id)
    authorize(session, actor, Action.GROUND_TRUTH_VIEW, task.project_id)
    rows = session.execute(
        select(Annotation, Job.title, User.email)
        .outerjoin(Job, Job.id == Annotation.job_id)
        .outerjoin(User, User.id == Annotation.completed_by_id)
        .where(Annotation.task_id == task.id, Annotation.deleted_at.is_(None))
        .order_by(Annotation.job_id, Annotation.id)
    ).all()
    out = []
    for ann, job_title, email in rows:
        where = job_title or (f"Job {ann.job_id}" if ann.job_id else "no job")
        tag = " (ground truth)" if ann.ground_truth else ""
        out.append(
            Reference(
                "annotation",
                ann.id,
                f"{where} · {email or 'unknown'}{tag}",
                ann.result,
                ann.job_id,
                ann.completed_by_id,
            )
        )
    preds = session.scalars(
        select(Prediction)
        .where(Prediction.task_id == task.id, Prediction.deleted_at.is_(None))
        .order_by(Prediction.id)
    )
    for p in preds:
        score = f" · score {p.score:.2f}" if p.score is not None else ""
        out.append(
            Reference(
                "prediction",
                p.id,
                f"model {p.model_version or 'unversioned'}{score}",
                p.result,
                model_version=p.model_version,
                score=p.score,
            )
        )
    return out
