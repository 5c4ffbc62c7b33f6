"""Drift monitoring (issue #19 item 5): a model version's confidence and accuracy per day or
week with alerts, the drift thresholds, periodic audits, and field feedback."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query

from assay.api.serializers import iso
from assay.http.context import Ctx, context
from assay.http.params import Id, PageNumber, PageSize
from assay.services import drift
from assay.services.access import Action
from assay.services.drift.report import report_json
from assay.services.errors import Invalid
from assay.store.drift_models import Feedback

router = APIRouter(prefix="/api", tags=["drift"])


@router.get("/projects/{project_id}/drift")
def drift_report(
    project_id: Id,
    model_version: str | None = Query(None),
    window: str = Query("week"),
    reference_model_version: str | None = Query(None),
    reference_from: str | None = Query(None),
    reference_to: str | None = Query(None),
    ctx: Ctx = Depends(context),
) -> dict[str, Any]:
    """Per window (`day` | `week`) of the predictions of `model_version`: n, mean confidence,
    histogram over 10 fixed bins, PSI and KS against the reference set, accuracy vs GT (all
    GT, and audited tasks only) and alerts. The reference: `reference_model_version` and/or
    the dates `reference_from`..`reference_to`; default, the first window."""
    with ctx.read() as s:
        report = drift.drift_report(
            s,
            ctx.actor,
            project_id,
            model_version,
            window,
            reference_model_version,
            reference_from,
            reference_to,
        )
    return {"project": project_id, **report_json(report)}


@router.get("/projects/{project_id}/drift-settings")
def get_settings(project_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.read() as s:
        return drift.get_settings(s, ctx.actor, project_id).to_json()


@router.patch("/projects/{project_id}/drift-settings")
def update_settings(
    project_id: Id, body: dict[str, Any] = Body(default_factory=dict), ctx: Ctx = Depends(context)
) -> dict[str, Any]:
    """`psi_threshold` (> 0), `ks_p_threshold` (0-1), `mean_drop_threshold` (0-1]."""
    with ctx.write() as s:
        return drift.update_settings(s, ctx.actor, project_id, **body).to_json()


def _audit_json(r: drift.AuditRow) -> dict[str, Any]:
    a = r.audit
    return {
        "id": a.id,
        "project": a.project_id,
        "job": a.job_id,
        "model_version": a.model_version,
        "size": a.size,
        "seed": a.seed,
        "sampling": a.sampling,
        "created_by": a.created_by_id,
        "created_at": iso(a.created_at),
        "progress": {
            "done": r.done,
            "total": r.total,
            "percent": round(100 * r.done / r.total, 2) if r.total else 0.0,
        },
        "finished": r.finished,
        "scored": r.scored,
        "accuracy": r.accuracy,
        "accuracy_so_far": r.accuracy_so_far,
    }


@router.post("/projects/{project_id}/audits", status_code=201)
def create_audit(
    project_id: Id, body: dict[str, Any] = Body(default_factory=dict), ctx: Ctx = Depends(context)
) -> dict[str, Any]:
    """`size` (tasks), optional `model_version`, `seed`, `strata` (quantile strata of
    confidence, default 4), `recent` (draw from the newest this many, default 5 x size),
    `assignees` (who annotate it before a lead's GT stage), `title` (of its job; its
    assignees see it). Reported tasks go first."""
    known = {"size", "model_version", "seed", "strata", "recent", "assignees", "title"}
    with ctx.write() as s:
        audit, task_ids = drift.create_audit(s, ctx.actor, project_id, **_only(body, known))
        row = next(r for r in drift.list_audits(s, ctx.actor, project_id) if r.audit.id == audit.id)
        return {**_audit_json(row), "task_ids": task_ids}


def _only(body: dict[str, Any], known: set[str]) -> dict[str, Any]:
    """The body, if it names only known fields: an unknown one is refused, not ignored."""
    for name in body:
        if name not in known:
            raise Invalid.field(name, f"is not a field here ({', '.join(sorted(known))})")
    return body


@router.get("/projects/{project_id}/audits")
def list_audits(project_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.read() as s:
        rows = drift.list_audits(s, ctx.actor, project_id)
    return {"count": len(rows), "results": [_audit_json(r) for r in rows]}


def _feedback_json(f: Feedback, task: int | None = None) -> dict[str, Any]:
    """A report; `task` given: the id its sender named the task by, and nothing else of ours."""
    if task is not None:
        return {
            "id": f.id,
            "task": task,
            "prediction": f.prediction_id,
            "kind": f.kind,
            "comment": f.comment,
            "created_at": iso(f.created_at),
        }
    return {
        "id": f.id,
        "project": f.project_id,
        "task": f.task_id,
        "prediction": f.prediction_id,
        "kind": f.kind,
        "comment": f.comment,
        "audit": f.audit_id,
        "created_by": f.created_by_id,
        "created_at": iso(f.created_at),
    }


@router.post("/tasks/{task_id}/feedback", status_code=201)
def send_feedback(
    task_id: Id, body: dict[str, Any] = Body(default_factory=dict), ctx: Ctx = Depends(context)
) -> dict[str, Any]:
    """`kind` (one of drift.FEEDBACK_KINDS), `comment`, optional `prediction` (its id)."""
    with ctx.write() as s:
        f = drift.send_feedback(
            s, ctx.actor, task_id, **_only(body, {"kind", "comment", "prediction"})
        )
        return _feedback_json(f, None if ctx.actor.may(Action.DRIFT_VIEW) else task_id)


@router.get("/projects/{project_id}/feedback")
def list_feedback(
    project_id: Id,
    page: PageNumber = 1,
    page_size: PageSize = 50,
    ctx: Ctx = Depends(context),
) -> dict[str, Any]:
    """The project's field feedback, newest first, a page at a time."""
    with ctx.read() as s:
        rows, pg = drift.list_feedback(s, ctx.actor, project_id, page, page_size)
        return {"count": pg.total, "results": [_feedback_json(f) for f in rows]}
