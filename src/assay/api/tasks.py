"""Tasks and their annotations: Label Studio paths and shapes."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from assay.api import serializers
from assay.formats.label_studio import clipped
from assay.http.context import Ctx, context
from assay.http.params import Id, PageNumber, PageSize
from assay.services import tasks
from assay.services.errors import Invalid
from assay.services.task_aliases import seen_tasks
from assay.services.tasks import annotations
from assay.services.views import dm_filters, saved_views, task_list

router = APIRouter(prefix="/api", tags=["tasks"])


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    data: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None
    project: Id | None = None


class AnnotationIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    result: list[Any] | None = None
    ground_truth: bool | None = None
    was_cancelled: bool | None = None
    skip_reason: str | None = None
    lead_time: float | None = None
    active_time: float | None = None  # seconds the editor counted as active
    job: Id | None = None
    revision: Any = None  # PATCH: the revision edited; a stale one answers 409


def _json(body: Any) -> Response:
    """A JSON answer encoded by orjson straight from the serializers' plain dicts and lists.

    FastAPI would first walk the whole body with `jsonable_encoder`, which for a page of 100
    tasks with their regions costs more than the queries behind it. A row stored before the
    bounds of `formats.label_studio`, nested past what orjson writes, is written clipped.
    """
    try:
        content = orjson.dumps(body)
    except orjson.JSONEncodeError:
        content = orjson.dumps(clipped(body))
    return Response(content, media_type="application/json")


def _task_json(s: Any, ctx: Ctx, task: Any, job_id: int | None = None) -> dict[str, Any]:
    anns, preds = tasks.regions_of(s, ctx.actor, [task.id])
    seen = seen_tasks(s, ctx.actor, [task.id], job_id)
    return serializers.task(
        task, ctx.actor, anns.get(task.id, []), preds.get(task.id, []), seen=seen
    )


def _annotation_json(s: Any, ctx: Ctx, ann: Any) -> dict[str, Any]:
    seen = seen_tasks(s, ctx.actor, [ann.task_id], ann.job_id)
    return serializers.annotation(ann, ctx.actor, seen=seen)


@router.get("/tasks", response_model=dict[str, Any])
def list_tasks(
    project: Id | None = Query(None),
    page: PageNumber = 1,
    page_size: PageSize = 100,
    fields: str = Query("all"),
    ground_truth: bool | None = Query(
        None, description="Only tasks with (true) or without (false) GT."
    ),
    review_status: str | None = Query(
        None, description="Only tasks with an annotation of this review status."
    ),
    query: str | None = Query(
        None,
        description="Label Studio's Data Manager query, JSON: filters, ordering, selectedItems.",
    ),
    selected_items: str | None = Query(
        None, alias="selectedItems", description="JSON: {all, included | excluded}."
    ),
    view: Id | None = Query(
        None, description="A saved view (/api/dm/views) whose filters and ordering to apply."
    ),
    ctx: Ctx = Depends(context),
) -> Response:
    if project is None:
        raise Invalid.field("project", "is required: the id of the project whose tasks to list")
    if view is not None and query is not None:
        raise Invalid.field("view", "give a saved view or a `query`, not both")
    dm_query = dm_filters.parse_query(query, selected_items)
    with_regions = fields != "task_only"
    with ctx.read() as s:
        if view is not None:
            saved = saved_views.query_of(s, ctx.actor, view, project)
            dm_query = dataclasses.replace(dm_query, filters=saved.filters, ordering=saved.ordering)
        pg = task_list.list_tasks(
            s,
            ctx.actor,
            project,
            page,
            page_size,
            with_regions=with_regions,
            has_ground_truth=ground_truth,
            review_status=review_status,
            query=dm_query,
        )
        rows = [
            serializers.task(
                t,
                ctx.actor,
                pg.annotations.get(t.id, []),
                pg.predictions.get(t.id, []),
                seen=pg.seen,
            )
            for t in pg.tasks
        ]
    return _json(
        {
            "tasks": rows,
            "total": pg.page.total,
            "total_annotations": pg.total_annotations,
            "total_predictions": pg.total_predictions,
        }
    )


@router.post("/tasks", status_code=201)
def create_task(body: TaskIn, request: Request, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    if body.project is None:
        raise Invalid.field("project", "is required")
    if body.data is None:
        raise Invalid.field("data", "is required")
    with ctx.write() as s:
        result = tasks.import_tasks(
            s, ctx.actor, body.project, [{"data": body.data, "meta": body.meta or {}}],
            media_root=request.app.state.settings.resolved_media_root,
            shared_media=request.app.state.settings.shared_media_folders,
        )  # fmt: skip
        return _task_json(s, ctx, tasks.get_task(s, ctx.actor, result.task_ids[0]))


@router.get("/tasks/{task_id}")
def get_task(task_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.read() as s:
        return _task_json(s, ctx, *tasks.resolve_task(s, ctx.actor, task_id))


@router.patch("/tasks/{task_id}")
def update_task(
    task_id: Id, body: TaskIn, request: Request, ctx: Ctx = Depends(context)
) -> dict[str, Any]:
    with ctx.write() as s:
        task = tasks.update_task(
            s, ctx.actor, task_id, data=body.data, meta=body.meta,
            shared_media=request.app.state.settings.shared_media_folders,
        )  # fmt: skip
        return _task_json(s, ctx, task)


@router.delete("/tasks/{task_id}", status_code=204)
def delete_task(task_id: Id, ctx: Ctx = Depends(context)) -> Response:
    with ctx.write() as s:
        tasks.delete_task(s, ctx.actor, task_id)
    return Response(status_code=204)


@router.get("/tasks/{task_id}/annotations", tags=["annotations"])
def list_annotations(task_id: Id, ctx: Ctx = Depends(context)) -> list[dict[str, Any]]:
    with ctx.read() as s:
        task, job_id = tasks.resolve_task(s, ctx.actor, task_id)
        seen = seen_tasks(s, ctx.actor, [task.id], job_id)
        return [
            serializers.annotation(a, ctx.actor, seen=seen)
            for a in annotations.list_annotations(s, ctx.actor, task_id)
        ]


@router.post("/tasks/{task_id}/annotations", status_code=201, tags=["annotations"])
def create_annotation(
    task_id: Id, body: AnnotationIn, ctx: Ctx = Depends(context)
) -> dict[str, Any]:
    with ctx.write() as s:
        ann = annotations.create_annotation(
            s,
            ctx.actor,
            task_id,
            result=body.result if body.result is not None else [],
            ground_truth=bool(body.ground_truth),
            was_cancelled=bool(body.was_cancelled),
            skip_reason=body.skip_reason,
            lead_time=body.lead_time,
            active_time=body.active_time,
            job_id=body.job,
        )
        return _annotation_json(s, ctx, ann)


@router.get("/annotations/{annotation_id}", tags=["annotations"])
def get_annotation(annotation_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.read() as s:
        return _annotation_json(s, ctx, annotations.get_annotation(s, ctx.actor, annotation_id))


@router.patch("/annotations/{annotation_id}", tags=["annotations"])
def update_annotation(
    annotation_id: Id, body: AnnotationIn, ctx: Ctx = Depends(context)
) -> dict[str, Any]:
    with ctx.write() as s:
        ann = annotations.update_annotation(
            s, ctx.actor, annotation_id, **body.model_dump(exclude_unset=True)
        )
        return _annotation_json(s, ctx, ann)


@router.delete("/annotations/{annotation_id}", status_code=204, tags=["annotations"])
def delete_annotation(annotation_id: Id, ctx: Ctx = Depends(context)) -> Response:
    with ctx.write() as s:
        annotations.delete_annotation(s, ctx.actor, annotation_id)
    return Response(status_code=204)


@router.get("/annotations/{annotation_id}/revisions", tags=["annotations"])
def annotation_revisions(annotation_id: Id, ctx: Ctx = Depends(context)) -> list[dict[str, Any]]:
    with ctx.read() as s:
        return [
            serializers.revision(r, ctx.actor)
            for r in annotations.list_revisions(s, ctx.actor, annotation_id)
        ]
