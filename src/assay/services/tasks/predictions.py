"""Predictions: a model's regions for a task, with score and model_version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from assay.services import changes
from assay.services.access import Action, Actor, authorize, visible_project_ids
from assay.services.checks import is_id
from assay.services.errors import Invalid, NotFound
from assay.services.pagination import Page, page_of
from assay.services.tasks.results import label_config_of_project, prediction_row
from assay.services.tasks.visibility import get_task, task_visibility, visible_task
from assay.store.models import Prediction, Task
from assay.store.types import utcnow


def get_prediction(session: Session, actor: Actor, prediction_id: int) -> Prediction:
    pred = session.get(Prediction, prediction_id)
    if pred is None or pred.deleted_at is not None:
        raise NotFound(f"Prediction {prediction_id} not found.")
    authorize(session, actor, Action.PREDICTION_VIEW, pred.project_id)
    visible_task(session, actor, pred.task_id)  # an annotator sees only their jobs' tasks
    return pred


def create_prediction(session: Session, actor: Actor, task_id: Any, **fields: Any) -> Prediction:
    if not is_id(task_id):
        raise Invalid.field("task", "is required: the id of the task this prediction is for")
    task = get_task(session, actor, task_id)
    authorize(session, actor, Action.PREDICTION_CHANGE, task.project_id)
    row = prediction_row(fields, label_config_of_project(session, task.project_id), "prediction")
    now = utcnow()
    pred = Prediction(
        task_id=task.id, project_id=task.project_id, created_at=now, updated_at=now, **row
    )
    session.add(pred)
    session.flush()
    changes.record(session, pred.project_id, [pred.task_id])
    return pred


def update_prediction(
    session: Session, actor: Actor, prediction_id: int, **fields: Any
) -> Prediction:
    pred = get_prediction(session, actor, prediction_id)
    authorize(session, actor, Action.PREDICTION_CHANGE, pred.project_id)
    merged = {"result": pred.result, "score": pred.score, "model_version": pred.model_version}
    merged.update({k: v for k, v in fields.items() if k in merged and v is not None})
    row = prediction_row(merged, label_config_of_project(session, pred.project_id), "prediction")
    for name, value in row.items():
        setattr(pred, name, value)
    pred.updated_at = utcnow()
    session.flush()
    changes.record(session, pred.project_id, [pred.task_id])
    return pred


def delete_prediction(session: Session, actor: Actor, prediction_id: int) -> None:
    pred = get_prediction(session, actor, prediction_id)
    authorize(session, actor, Action.PREDICTION_CHANGE, pred.project_id)
    pred.deleted_at = utcnow()
    pred.deleted_by_id = actor.id
    changes.record(session, pred.project_id, [pred.task_id])


def list_predictions(
    session: Session,
    actor: Actor,
    task_id: int | None = None,
    project_id: int | None = None,
    page: int = 1,
    page_size: int = 10_000_000,
) -> tuple[list[Prediction], Page]:
    stmt = (
        select(Prediction)
        .join(Task, Task.id == Prediction.task_id)
        .where(Prediction.deleted_at.is_(None), Task.deleted_at.is_(None), *task_visibility(actor))
    )
    if task_id is not None:
        task = get_task(session, actor, task_id)
        stmt = stmt.where(Prediction.task_id == task.id)
    if project_id is not None:
        authorize(session, actor, Action.PREDICTION_VIEW, project_id)
        stmt = stmt.where(Prediction.project_id == project_id)
    visible = visible_project_ids(session, actor)
    if visible is not None:
        stmt = stmt.where(Prediction.project_id.in_(visible))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pg = page_of(page, page_size, total)
    rows = session.scalars(stmt.order_by(Prediction.id).offset(pg.offset).limit(pg.size))
    return list(rows), pg


@dataclass(frozen=True)
class ModelVersion:
    """A model version of a project's predictions: how many, and when the latest was made."""

    model_version: str
    count: int
    latest: datetime


def model_versions(session: Session, actor: Actor, project_id: int) -> list[ModelVersion]:
    """The model versions of the project's live predictions on the tasks the actor sees, the
    most recently predicted first (Label Studio's `/api/projects/{id}/model-versions`)."""
    authorize(session, actor, Action.PREDICTION_VIEW, project_id)
    rows = session.execute(
        select(Prediction.model_version, func.count(), func.max(Prediction.created_at))
        .join(Task, Task.id == Prediction.task_id)
        .where(
            Prediction.project_id == project_id,
            Prediction.deleted_at.is_(None),
            Task.deleted_at.is_(None),
            *task_visibility(actor),
        )
        .group_by(Prediction.model_version)
    )
    versions = [ModelVersion(v, n, latest) for v, n, latest in rows]
    return sorted(versions, key=lambda m: (m.latest, m.model_version), reverse=True)


def import_predictions(session: Session, actor: Actor, project_id: int, items: list[Any]) -> int:
    """Add predictions to existing tasks of one project; one bad item writes nothing."""
    authorize(session, actor, Action.PREDICTION_CHANGE, project_id)
    config = label_config_of_project(session, project_id)
    wanted = [item.get("task") for item in items if isinstance(item, dict)]
    live = set(
        session.scalars(
            select(Task.id).where(
                Task.id.in_([t for t in wanted if is_id(t)]),
                Task.project_id == project_id,
                Task.deleted_at.is_(None),
            )
        )
    )
    rows = []
    now = utcnow()
    for i, item in enumerate(items):
        path = f"predictions[{i}]"
        if not isinstance(item, dict):
            raise Invalid.field(path, "must be an object")
        if not is_id(item.get("task")) or item["task"] not in live:
            raise Invalid.field(
                f"{path}.task", f"{item.get('task')!r} is not a task of project {project_id}"
            )
        row = prediction_row(item, config, path)
        rows.append(
            {
                **row,
                "task_id": item["task"],
                "project_id": project_id,
                "created_at": now,
                "updated_at": now,
            }
        )
    if rows:
        session.execute(insert(Prediction), rows)
        changes.record(session, project_id, (r["task_id"] for r in rows))
    return len(rows)
