"""Jobs, the annotator queue and the ground-truth stage."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict

from assay.api import serializers
from assay.http.context import Ctx, context
from assay.http.params import Id, PageNumber, PageSize
from assay.services import gt_stage, honeypots, jobs
from assay.services.task_aliases import seen_tasks
from assay.services.tasks import predictions
from assay.services.views import dm_filters

router = APIRouter(prefix="/api", tags=["jobs"])


class JobIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: Any = None
    task_ids: Any = None
    assignees: Any = None
    replicas: Any = None
    # instead of task_ids: a Data Manager selection, as POST /api/dm/actions takes it
    selectedItems: Any = None  # Label Studio's name
    filters: Any = None


class JobPatch(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: Any = None
    add_task_ids: Any = None
    assignees: Any = None
    replicas: Any = None


class DoneIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    job: Any = None
    result: Any = None
    revise: bool = False


@router.post("/projects/{project_id}/jobs", status_code=201)
def create_job(project_id: Id, body: JobIn, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """A job over `task_ids`, or over a Data Manager selection (`selectedItems` AND
    `filters`, as for /api/dm/actions); honeypots from the project's pool are mixed in per its
    honeypot settings. Answers the job and `honeypots`, how many of its tasks are honeypots."""
    with ctx.write() as s:
        selection = (
            dm_filters.selection(
                ctx.actor, {"selectedItems": body.selectedItems, "filters": body.filters}
            )
            if body.selectedItems is not None or body.filters is not None
            else None
        )
        job = jobs.create_job(
            s,
            ctx.actor,
            project_id,
            body.title,
            body.task_ids,
            body.assignees,
            body.replicas,
            selection=selection,
        )
        out = serializers.job(jobs.views_of(s, [job], ctx.actor)[0])
        return {**out, "honeypots": len(honeypots.job_honeypot_ids(s, job.id))}


@router.get("/projects/{project_id}/jobs")
def list_jobs(
    project_id: Id,
    page: PageNumber = 1,
    page_size: PageSize = 100,
    ctx: Ctx = Depends(context),
) -> dict[str, Any]:
    with ctx.read() as s:
        views, pg = jobs.list_jobs(s, ctx.actor, project_id, page, page_size)
        return {"count": pg.total, "results": [serializers.job(v) for v in views]}


@router.get("/jobs/{job_id}")
def get_job(job_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.read() as s:
        job = jobs.get_job(s, ctx.actor, job_id)
        return serializers.job(jobs.views_of(s, [job], ctx.actor)[0])


@router.patch("/jobs/{job_id}")
def update_job(job_id: Id, body: JobPatch, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.write() as s:
        job = jobs.update_job(s, ctx.actor, job_id, **body.model_dump(exclude_unset=True))
        return serializers.job(jobs.views_of(s, [job], ctx.actor)[0])


@router.get("/jobs/{job_id}/next")
def next_to_annotate(job_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """The assignee's next task of the job: their rejected work first (`rework`: the
    annotation to fix and why it was rejected), then tasks not yet annotated by them and not
    done. An accepted job answers `closed` with a sentence and no task."""
    with ctx.write() as s:  # onboarding may put a GT task into the job (services.evaluation)
        nxt = jobs.next_to_annotate(s, ctx.actor, job_id)
        seen = seen_tasks(s, ctx.actor, [nxt.task.id] if nxt.task else [], job_id)
        out: dict[str, Any] = {
            "task": serializers.task(nxt.task, ctx.actor, seen=seen) if nxt.task else None,
            "remaining": nxt.remaining,
            "complete": nxt.task is None,
            "closed": nxt.closed,
            # the regions the editor starts from when the project prelabels with predictions
            # (none for rework: the editor starts from the rejected annotation)
            "prefill": (
                predictions.prefill(s, ctx.actor, nxt.task)
                if nxt.task and nxt.annotation is None
                else None
            ),
            "rework": None,
        }
        if nxt.closed:
            out["detail"] = jobs.closed_sentence(jobs.get_job(s, ctx.actor, job_id))
        if nxt.annotation is not None and nxt.rejection is not None:
            out["rework"] = {
                "annotation": serializers.annotation(nxt.annotation, ctx.actor, seen=seen),
                **serializers.rejection(nxt.rejection),
            }
        return out


@router.post("/jobs/{job_id}/accept")
def accept_job(job_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """Accept (close) the job, leads and admins: its annotators can no longer create, change or
    delete annotations in it, and its queue answers `closed`."""
    with ctx.write() as s:
        job = jobs.accept_job(s, ctx.actor, job_id)
        return serializers.job(jobs.views_of(s, [job], ctx.actor)[0])


@router.delete("/jobs/{job_id}/accept")
def reopen_job(job_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """Reopen an accepted job: its annotators work in it again."""
    with ctx.write() as s:
        job = jobs.reopen_job(s, ctx.actor, job_id)
        return serializers.job(jobs.views_of(s, [job], ctx.actor)[0])


@router.get("/jobs/{job_id}/ground-truth/next", tags=["ground truth stage"])
def stage_next(
    job_id: Id,
    start_from: Id | None = Query(None, description="Annotator whose regions to start from."),
    ctx: Ctx = Depends(context),
) -> dict[str, Any]:
    with ctx.read() as s:
        state = gt_stage.next_task(s, ctx.actor, job_id, start_from)
        return serializers.stage_state(state, ctx.actor)


@router.get("/jobs/{job_id}/ground-truth/previous", tags=["ground truth stage"])
def stage_previous(
    job_id: Id, before: Id | None = Query(None), ctx: Ctx = Depends(context)
) -> dict[str, Any]:
    with ctx.read() as s:
        state = gt_stage.previous_task(s, ctx.actor, job_id, before)
        return serializers.stage_state(state, ctx.actor)


@router.post("/tasks/{task_id}/ground-truth/done", tags=["ground truth stage"])
def stage_done(task_id: Id, body: DoneIn, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.write() as s:
        done = gt_stage.finish_task(s, ctx.actor, task_id, body.job, body.result, body.revise)
        return {
            "task": done.task.id,
            "gt_status": done.task.gt_status,
            "annotation": serializers.annotation(done.annotation, ctx.actor),
            "progress": serializers.progress(done.progress),
        }


@router.post("/tasks/{task_id}/ground-truth/reopen", tags=["ground truth stage"])
def stage_reopen(task_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.write() as s:
        task = gt_stage.reopen_task(s, ctx.actor, task_id)
        return {"task": task.id, "gt_status": task.gt_status}


@router.get("/tasks/{task_id}/references", tags=["ground truth stage"])
def task_references(task_id: Id, ctx: Ctx = Depends(context)) -> list[dict[str, Any]]:
    with ctx.read() as s:
        return [serializers.reference(r) for r in gt_stage.references(s, ctx.actor, task_id)]
