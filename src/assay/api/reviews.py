"""Review endpoints: verdicts on annotations, undo, the review stream, reviewer assignment."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Response
from pydantic import BaseModel, ConfigDict

from assay.api import serializers
from assay.http.context import Ctx, context
from assay.http.params import Id
from assay.services import review, review_settings, tasks
from assay.services.task_aliases import seen_tasks
from assay.services.tasks import annotations

router = APIRouter(prefix="/api", tags=["review"])


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Any = None
    reason: Any = None  # reject: one of the project's reject_reasons, or "other"
    comment: Any = ""
    result: Any = None
    revision: Any = None  # the revision reviewed: a stale one answers 409


@router.post("/annotations/{annotation_id}/reviews", status_code=201)
def create_review(annotation_id: Id, body: ReviewIn, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """Accept, fix & accept (with the corrected `result`) or reject (with a `reason`) an
    annotation."""
    with ctx.write() as s:
        r = review.review_annotation(
            s,
            ctx.actor,
            annotation_id,
            body.action,
            body.comment,
            body.result,
            body.revision,
            body.reason,
        )
        return serializers.review(r)


@router.get("/projects/{project_id}/review-settings")
def get_review_settings(project_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """Whether a reject returns the work to its annotator, and the reasons a reject names."""
    with ctx.read() as s:
        return review_settings.get_settings(s, ctx.actor, project_id).to_json()


@router.patch("/projects/{project_id}/review-settings")
def update_review_settings(
    project_id: Id, body: dict[str, Any] = Body(default_factory=dict), ctx: Ctx = Depends(context)
) -> dict[str, Any]:
    """`reject_returns_to_annotator` (true/false), `reject_reasons` (a list of texts)."""
    with ctx.write() as s:
        return review_settings.update_settings(s, ctx.actor, project_id, **body).to_json()


@router.get("/annotations/{annotation_id}/reviews")
def list_reviews(annotation_id: Id, ctx: Ctx = Depends(context)) -> list[dict[str, Any]]:
    with ctx.read() as s:
        rows = review.list_reviews(s, ctx.actor, annotation_id)
        ann = annotations.get_annotation(s, ctx.actor, annotation_id)
        seen = seen_tasks(s, ctx.actor, [ann.task_id], ann.job_id)
        return [serializers.review(r, seen, ann.job_id) for r in rows]


@router.post("/reviews/{review_id}/undo")
def undo_review(review_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """Take a review back; undoing a fix & accept restores the result that was reviewed."""
    with ctx.write() as s:
        return serializers.review(review.undo_review(s, ctx.actor, review_id))


@router.get("/projects/{project_id}/review/next")
def next_for_review(
    project_id: Id,
    order: str = Query("task", description="task | annotator | agreement | confidence | accuracy"),
    annotator: Id | None = Query(None, description="Only this annotator's annotations."),
    tasks_: str | None = Query(None, alias="tasks", description="Only these task ids (1,2,3)."),
    ctx: Ctx = Depends(context),
) -> dict[str, Any]:
    """The next annotation this reviewer has not reviewed, with its task and progress."""
    with ctx.read() as s:
        nxt = review.next_for_review(
            s, ctx.actor, project_id, order, annotator, review.task_subset(tasks_)
        )
        task_json = None
        if nxt.task is not None:
            anns, preds = tasks.regions_of(s, ctx.actor, [nxt.task.id])
            task_json = serializers.task(
                nxt.task, ctx.actor, anns.get(nxt.task.id, []), preds.get(nxt.task.id, [])
            )
        return {
            "annotation": serializers.annotation(nxt.annotation, ctx.actor)
            if nxt.annotation
            else None,
            "task": task_json,
            "remaining": nxt.remaining,
            "total": nxt.total,
            "reviewed": nxt.total - nxt.remaining,
        }


@router.get("/tasks/{task_id}/reviewers")
def task_reviewers(task_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.read() as s:
        r = review.task_reviewers(s, ctx.actor, task_id)
        return {"assigned": r.assigned, "reviewed": r.reviewed}


@router.delete("/tasks/{task_id}/reviewers/{user_id}", status_code=204)
def remove_reviewer(task_id: Id, user_id: Id, ctx: Ctx = Depends(context)) -> Response:
    with ctx.write() as s:
        review.remove_reviewer(s, ctx.actor, task_id, user_id)
    return Response(status_code=204)
