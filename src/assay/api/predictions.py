"""Predictions: Label Studio paths and shapes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from assay.api import serializers
from assay.http.context import Ctx, context
from assay.http.params import Id
from assay.services import tasks
from assay.services.task_aliases import seen_tasks
from assay.services.tasks import predictions

router = APIRouter(prefix="/api", tags=["predictions"])


class PredictionIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    task: Id | None = None
    result: list[Any] | dict[str, Any] | str | None = None
    score: float | None = None
    model_version: str | None = None


def _prediction_json(s: Any, ctx: Ctx, p: Any) -> dict[str, Any]:
    return serializers.prediction(p, seen_tasks(s, ctx.actor, [p.task_id]))


def _fields(body: PredictionIn) -> dict[str, Any]:
    return body.model_dump(exclude_unset=True, exclude={"task"})


@router.get("/predictions")
def list_predictions(
    task: Id | None = Query(None),
    project: Id | None = Query(None),
    ctx: Ctx = Depends(context),
) -> list[dict[str, Any]]:
    with ctx.read() as s:
        rows, _ = predictions.list_predictions(s, ctx.actor, task_id=task, project_id=project)
        job = tasks.resolve_task(s, ctx.actor, task)[1] if task is not None else None
        seen = seen_tasks(s, ctx.actor, [p.task_id for p in rows], job)
        return [serializers.prediction(p, seen) for p in rows]


@router.post("/predictions", status_code=201)
def create_prediction(body: PredictionIn, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.write() as s:
        return _prediction_json(
            s, ctx, predictions.create_prediction(s, ctx.actor, body.task, **_fields(body))
        )


@router.get("/predictions/{prediction_id}")
def get_prediction(prediction_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.read() as s:
        return _prediction_json(s, ctx, predictions.get_prediction(s, ctx.actor, prediction_id))


@router.patch("/predictions/{prediction_id}")
def update_prediction(
    prediction_id: Id, body: PredictionIn, ctx: Ctx = Depends(context)
) -> dict[str, Any]:
    with ctx.write() as s:
        pred = predictions.update_prediction(s, ctx.actor, prediction_id, **_fields(body))
        return _prediction_json(s, ctx, pred)


@router.delete("/predictions/{prediction_id}", status_code=204)
def delete_prediction(prediction_id: Id, ctx: Ctx = Depends(context)) -> Response:
    with ctx.write() as s:
        predictions.delete_prediction(s, ctx.actor, prediction_id)
    return Response(status_code=204)


@router.post("/projects/{project_id}/import/predictions", status_code=201)
def import_predictions(
    project_id: Id, body: list[dict[str, Any]], ctx: Ctx = Depends(context)
) -> dict[str, Any]:
    with ctx.write() as s:
        done = predictions.import_predictions(s, ctx.actor, project_id, body)
    return {"created": done.created, "replaced": done.replaced}
