"""Annotator evaluation (issue #21): the project's evaluation settings, each annotator's
standing, pausing and unpausing, and the list of pauses past and present."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query

from assay.api.serializers import iso
from assay.http.context import Ctx, context
from assay.http.params import Id, PageNumber, PageSize
from assay.services import evaluation
from assay.services.errors import Invalid
from assay.store.evaluation_models import EvaluationPause

router = APIRouter(prefix="/api", tags=["evaluation"])


def pause_json(p: EvaluationPause) -> dict[str, Any]:
    return {
        "id": p.id,
        "project": p.project_id,
        "user": p.user_id,
        "reason": p.reason,
        "trigger": p.trigger,
        "score": p.score,
        "scored": p.scored,
        "paused_by": p.paused_by_id,
        "paused_at": iso(p.paused_at),
        "unpaused_by": p.unpaused_by_id,
        "unpaused_at": iso(p.unpaused_at),
        "current": p.unpaused_at is None,
    }


@router.get("/projects/{project_id}/evaluation-settings")
def get_settings(project_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.read() as s:
        return evaluation.get_settings(s, ctx.actor, project_id).to_json()


@router.patch("/projects/{project_id}/evaluation-settings")
def update_settings(
    project_id: Id, body: dict[str, Any] = Body(default_factory=dict), ctx: Ctx = Depends(context)
) -> dict[str, Any]:
    """`method` (off | onboarding | ongoing), `onboarding_tasks` (int >= 0), `min_accuracy`
    (0-1), `use_wilson_lower_bound` (bool), `min_scored` (int >= 1), `auto_pause` (bool),
    `annotation_limit` (null or int >= 1)."""
    with ctx.write() as s:
        return evaluation.update_settings(s, ctx.actor, project_id, **body).to_json()


@router.get("/projects/{project_id}/evaluation")
def standings(project_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """Every annotator's standing: status (off | onboarding | pending | passed | flagged |
    paused), onboarding progress, GT accuracy with its Wilson 95 % interval, GT answers."""
    with ctx.read() as s:
        rows = evaluation.standings(s, ctx.actor, project_id)
        return {
            "count": len(rows),
            "results": [
                {
                    "user": r.user_id,
                    "email": r.email,
                    "status": r.status,
                    "onboarding": (
                        {"done": r.onboarding[0], "of": r.onboarding[1]} if r.onboarding else None
                    ),
                    "flagged": r.flagged,
                    "scored": r.scored,
                    "accuracy": r.accuracy,
                    "interval": list(r.interval) if r.interval else None,
                    "paused": r.paused,
                }
                for r in rows
            ],
        }


@router.post("/projects/{project_id}/members/{user_id}/pause", status_code=201)
def pause(
    project_id: Id, user_id: Id, body: dict[str, Any] = Body(...), ctx: Ctx = Depends(context)
) -> dict[str, Any]:
    """Pause an annotator of the project: `{"reason": "..."}` (required)."""
    for name in sorted(set(body) - {"reason"}):
        raise Invalid.field(name, "is not accepted here; send only reason")
    with ctx.write() as s:
        return pause_json(
            evaluation.pause_member(s, ctx.actor, project_id, user_id, body.get("reason"))
        )


@router.delete("/projects/{project_id}/members/{user_id}/pause")
def unpause(project_id: Id, user_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """Unpause: the pause is kept, closed with who and when."""
    with ctx.write() as s:
        return pause_json(evaluation.unpause_member(s, ctx.actor, project_id, user_id))


@router.get("/projects/{project_id}/pauses")
def list_pauses(
    project_id: Id,
    page: PageNumber = 1,
    page_size: PageSize = 50,
    current: bool | None = Query(None, description="true: open pauses only; false: closed"),
    ctx: Ctx = Depends(context),
) -> dict[str, Any]:
    """The project's pauses, current and past, newest first."""
    with ctx.read() as s:
        rows, pg = evaluation.list_pauses(s, ctx.actor, project_id, page, page_size, current)
        return {"count": pg.total, "results": [pause_json(p) for p in rows]}
