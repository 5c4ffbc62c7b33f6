"""Consensus endpoints: merge (a background job), a task's consensus, the adjudication queue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from assay.api import serializers
from assay.http.context import Ctx, context
from assay.http.params import Id
from assay.services import consensus, tasks
from assay.services.access import Actor
from assay.store.models import ConsensusResult

router = APIRouter(prefix="/api", tags=["consensus"])


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: Any = None
    job: Any = None
    quorum: Any = None
    iou_threshold: Any = None
    weighting: Any = None
    adjudicate_below: Any = None
    auto_accept_at: Any = None


class AdjudicateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: Any = None


def _result_json(row: ConsensusResult | None) -> dict[str, Any]:
    if row is None:
        return {"status": None}
    return {
        "status": row.status,
        "agreement": row.agreement,
        "tied": row.tied,
        "annotators": row.annotators,
        "settings": row.settings,
        "merged_at": serializers.iso(row.merged_at),
        "merged_by": row.merged_by_id,
        "adjudicated_at": serializers.iso(row.adjudicated_at),
        "adjudicated_by": row.adjudicated_by_id,
    }


def _consensus_json(c: consensus.TaskConsensus, actor: Actor) -> dict[str, Any]:
    return {
        "task": c.task.id,
        **_result_json(c.result),
        "annotation": serializers.annotation(c.annotation, actor) if c.annotation else None,
        "annotations": [serializers.annotation(a, actor) for a in c.annotations],
    }


@router.post("/projects/{project_id}/consensus/merge", status_code=202)
def merge(project_id: Id, body: MergeIn, ctx: Ctx = Depends(context)) -> JSONResponse:
    """Merge the tasks (ids), a job's tasks, or the whole project, in the background."""
    job_id = consensus.start_merge(ctx.db, ctx.actor, project_id, **body.model_dump())
    return JSONResponse({"id": job_id, "status": "queued"}, status_code=202)


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: Any = None
    job: Any = None
    quorum: Any = None
    iou_threshold: Any = None
    adjudicate_below: Any = None
    auto_accept_at: Any = None


@router.post("/projects/{project_id}/consensus/preview")
def preview(project_id: Id, body: PreviewIn, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """Before a merge: how many tasks each weighting would send to adjudication (nothing is
    stored). The same body as a merge, without `weighting`."""
    settings = consensus.MergeSettings.checked(
        **body.model_dump(exclude={"tasks", "job"}, exclude_none=True)
    )
    with ctx.read() as s:
        counts = consensus.preview(s, ctx.actor, project_id, settings, body.tasks, body.job)
    return {"settings": settings.to_json() | {"weighting": None}, "weightings": counts}


@router.get("/tasks/{task_id}/consensus")
def task_consensus(task_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.read() as s:
        return _consensus_json(consensus.task_consensus(s, ctx.actor, task_id), ctx.actor)


@router.delete("/tasks/{task_id}/consensus", status_code=204)
def remove_consensus(task_id: Id, ctx: Ctx = Depends(context)) -> Response:
    with ctx.write() as s:
        consensus.remove_consensus(s, ctx.actor, task_id)
    return Response(status_code=204)


@router.get("/projects/{project_id}/adjudication/next")
def next_to_adjudicate(project_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """The waiting task with the lowest agreement, with every annotation and the consensus."""
    with ctx.read() as s:
        task, remaining = consensus.next_to_adjudicate(s, ctx.actor, project_id)
        if task is None:
            return {"task": None, "consensus": None, "remaining": 0}
        anns, preds = tasks.regions_of(s, ctx.actor, [task.id])
        return {
            "task": serializers.task(
                task, ctx.actor, anns.get(task.id, []), preds.get(task.id, [])
            ),
            "consensus": _consensus_json(
                consensus.task_consensus(s, ctx.actor, task.id), ctx.actor
            ),
            "remaining": remaining,
        }


@router.post("/tasks/{task_id}/adjudicate", status_code=201)
def adjudicate(task_id: Id, body: AdjudicateIn, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """The lead's result for a waiting task: saved as its GT, the task leaves the queue."""
    with ctx.write() as s:
        ann = consensus.adjudicate(s, ctx.actor, task_id, body.result)
        return serializers.annotation(ann, ctx.actor)
