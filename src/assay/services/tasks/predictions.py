"""Predictions: a model's regions for a task, with score and model_version."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from assay.services import changes
from assay.services.access import Action, Actor, authorize, visible_project_ids
from assay.services.checks import is_id
from assay.services.errors import Invalid, NotFound
from assay.services.pagination import Page, page_of
from assay.services.tasks.bulk_rows import insert_returning_ids
from assay.services.tasks.results import label_config_of_project, prediction_row
from assay.services.tasks.visibility import get_task, task_visibility, visible_task
from assay.store.models import Prediction, Project, Task
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


REPLACE_CHUNK = 500  # task ids per IN list


def retire_predictions(
    session: Session, actor: Actor, project_id: int, pairs: Iterable[tuple[int, str | None]]
) -> int:
    """Soft-delete the live predictions of each (task, model_version) pair: what an import
    of a model's predictions replaces, so importing a detector's file again does not double
    every box (nothing is hard-deleted). How many were replaced.

    The caller has checked the actor may change predictions in the project.
    """
    wanted = set(pairs)
    replaced = 0
    for version in {v for _, v in wanted}:
        ids = sorted(t for t, v in wanted if v == version)
        same = (
            Prediction.model_version.is_(None)
            if version is None
            else Prediction.model_version == version
        )
        for i in range(0, len(ids), REPLACE_CHUNK):
            replaced += session.execute(
                update(Prediction)
                .where(
                    Prediction.task_id.in_(ids[i : i + REPLACE_CHUNK]),
                    Prediction.project_id == project_id,
                    same,
                    Prediction.deleted_at.is_(None),
                )
                .values(deleted_at=utcnow(), deleted_by_id=actor.id)
                .execution_options(synchronize_session=False)
            ).rowcount
    if replaced:
        changes.record(session, project_id, {t for t, _ in wanted})
    return replaced


@dataclass(frozen=True)
class PredictionImport:
    created: int
    replaced: int  # earlier predictions of the same model version on the same tasks


def import_predictions(
    session: Session, actor: Actor, project_id: int, items: list[Any]
) -> PredictionImport:
    """Add predictions to existing tasks of one project; one bad item writes nothing.

    A model version's earlier live predictions on the tasks the items bring it to are
    replaced (soft-deleted, `retire_predictions`).
    """
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
    replaced = retire_predictions(
        session, actor, project_id, ((r["task_id"], r.get("model_version")) for r in rows)
    )
    if rows:
        insert_returning_ids(session, Prediction.__table__, rows)
        changes.record(session, project_id, (r["task_id"] for r in rows))
    return PredictionImport(len(rows), replaced)


# What of a prediction's region the editor starts from: its shape and label, no score.
PREFILL_KEYS = (
    "id", "type", "from_name", "to_name", "value", "original_width", "original_height",
    "image_rotation",
)  # fmt: skip


def prefill(session: Session, actor: Actor, task: Task) -> list[dict[str, Any]] | None:
    """The regions a new annotation of `task` starts from in the editor when its project uses
    predictions to prelabel tasks (`show_collab_predictions`): the task's prediction of the
    project's `model_version`, or its latest prediction when none is chosen, each region
    without its score or anything else of the prediction. None when the project does not
    prelabel or the task has no such prediction.

    The same for every task the actor is given (a honeypot's predictions are its own, never its
    ground truth); the caller has already given the actor this task.
    """
    project = session.get(Project, task.project_id)
    if project is None or not project.show_collab_predictions:
        return None
    stmt = select(Prediction.result).where(
        Prediction.task_id == task.id, Prediction.deleted_at.is_(None)
    )
    if project.model_version:
        stmt = stmt.where(Prediction.model_version == project.model_version)
    result = session.scalars(
        stmt.order_by(Prediction.created_at.desc(), Prediction.id.desc()).limit(1)
    ).first()
    if result is None:
        return None
    return [
        {k: r[k] for k in PREFILL_KEYS if k in r}
        for r in result
        if isinstance(r, dict) and r.get("type") != "relation"
    ]
