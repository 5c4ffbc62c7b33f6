"""Suspected GT errors: the ranked list, confirm (the GT fixed) and dismiss (issue #19)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Path

from assay.api.serializers import iso
from assay.http.context import Ctx, context
from assay.http.params import Id, PageNumber, PageSize
from assay.services import suspects
from assay.services.errors import Invalid
from assay.store.suspect_models import GtSuspect, GtSuspectDecision

router = APIRouter(prefix="/api", tags=["ground truth"])

Key = Path(..., max_length=80, pattern=r"^[0-9]+-[a-z]+-[0-9a-f]+$")


def suspect_json(row: GtSuspect) -> dict[str, Any]:
    return {
        "key": row.key,
        "task": row.task_id,
        "kind": row.kind,
        "region": row.region_id,
        "score": row.score,
        "annotator_score": row.annotator_score,
        "model_score": row.model_score,
        "evidence": row.evidence,
    }


def decision_json(d: GtSuspectDecision) -> dict[str, Any]:
    return {
        "id": d.id,
        "key": d.key,
        "task": d.task_id,
        "kind": d.kind,
        "decision": d.decision,
        "reason": d.reason,
        "score": d.score,
        "gt_revision": d.gt_revision,
        "decided_by": d.decided_by_id,
        "decided_at": iso(d.decided_at),
        "evidence": d.evidence,
    }


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    for name in sorted(set(body) - allowed):
        raise Invalid.field(name, f"is not accepted here; send only {', '.join(sorted(allowed))}")


@router.get("/projects/{project_id}/ground-truth/suspects")
def list_suspects(
    project_id: Id,
    page: PageNumber = 1,
    page_size: PageSize = 50,
    ctx: Ctx = Depends(context),
) -> dict[str, Any]:
    """Tasks whose GT is suspect, most suspicious first, each with its suspects (recomputed
    from the current annotations and predictions on every call)."""
    with ctx.write() as s:
        rows, pg = suspects.list_suspects(s, ctx.actor, project_id, page, page_size)
        return {
            "count": pg.total,
            "results": [
                {"task": t.task_id, "score": t.score, "gt_annotation": t.gt_annotation_id,
                 "suspects": [suspect_json(x) for x in t.suspects]}
                for t in rows
            ],
        }  # fmt: skip


@router.get("/projects/{project_id}/ground-truth/suspects/decisions")
def list_decisions(
    project_id: Id,
    page: PageNumber = 1,
    page_size: PageSize = 50,
    ctx: Ctx = Depends(context),
) -> dict[str, Any]:
    with ctx.read() as s:
        rows, pg = suspects.decisions(s, ctx.actor, project_id, page, page_size)
        return {"count": pg.total, "results": [decision_json(d) for d in rows]}


@router.post("/projects/{project_id}/ground-truth/suspects/{key}/dismiss")
def dismiss(
    project_id: Id,
    key: str = Key,
    body: dict[str, Any] = Body(...),
    ctx: Ctx = Depends(context),
) -> dict[str, Any]:
    """The GT is right: `{"reason": "..."}` (required)."""
    _only(body, {"reason"})
    with ctx.write() as s:
        return decision_json(suspects.dismiss(s, ctx.actor, project_id, key, body.get("reason")))


@router.post("/projects/{project_id}/ground-truth/suspects/{key}/confirm")
def confirm(
    project_id: Id,
    key: str = Key,
    body: dict[str, Any] = Body(default_factory=dict),
    ctx: Ctx = Depends(context),
) -> dict[str, Any]:
    """The GT is wrong: `{"reason": "...", "result": [...]}`, both optional; without `result`
    the suggested fix is applied. Answers the decision and the GT's new revision."""
    _only(body, {"reason", "result"})
    with ctx.write() as s:
        made, gt = suspects.confirm(
            s, ctx.actor, project_id, key, body.get("reason"), body.get("result")
        )
        return {**decision_json(made), "gt_annotation": gt.id}
