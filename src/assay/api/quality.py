"""Quality endpoints: scores against GT per annotator, model, label and job; settings;
recompute as a background job. Tables also answer `?format=csv`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from assay.api.serializers import iso
from assay.api.tables import table
from assay.http.context import Ctx, context
from assay.http.params import Id
from assay.services import authors, background, quality
from assay.services.quality.tables import annotator_rows, group_row, number
from assay.services.views import dashboard

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assay.store.bookkeeping import BackgroundJob

router = APIRouter(prefix="/api", tags=["quality"])


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    iou_threshold: Any = None
    low_overlap_threshold: Any = None
    match_method: Any = None
    label_aware: Any = None
    empty_is_annotated: Any = None
    target_accuracy: Any = None
    label_iou_thresholds: Any = None
    summary: Any = None
    label_mismatch: Any = None
    oks_sigmas: Any = None


@router.get("/projects/{project_id}/quality")
def summary(project_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.read() as s:
        settings = quality.get_versioned(s, ctx.actor, project_id)
        ann = quality.groups(s, ctx.actor, project_id, "annotations")
        pred = quality.groups(s, ctx.actor, project_id, "predictions")
        running = quality.running_recompute(s, project_id)
        return {
            "project": project_id,
            "settings": settings.to_json(),
            "scores": quality.score_versions(s, ctx.actor, project_id).to_json(),
            "annotations": group_row(ann[0]) if ann else None,
            "predictions": group_row(pred[0]) if pred else None,
            "recompute_job": running,
        }


@router.get("/projects/{project_id}/quality/annotators")
def annotators(project_id: Id, format: str = Query("json"), ctx: Ctx = Depends(context)) -> Any:
    with ctx.read() as s:
        rows = annotator_rows(s, ctx.actor, project_id)
    return table(rows, format, f"project-{project_id}-annotators")


@router.get("/projects/{project_id}/quality/models")
def models(project_id: Id, format: str = Query("json"), ctx: Ctx = Depends(context)) -> Any:
    with ctx.read() as s:
        rows = quality.groups(s, ctx.actor, project_id, "model")
    return table(
        [{"model_version": g.key, **group_row(g)} for g in rows],
        format,
        f"project-{project_id}-models",
    )


@router.get("/projects/{project_id}/quality/jobs")
def jobs(project_id: Id, format: str = Query("json"), ctx: Ctx = Depends(context)) -> Any:
    with ctx.read() as s:
        rows = quality.groups(s, ctx.actor, project_id, "job")
    return table(
        [{"job": int(g.key), **group_row(g)} for g in rows], format, f"project-{project_id}-jobs"
    )


@router.get("/projects/{project_id}/quality/labels")
def labels(
    project_id: Id,
    of: str = Query("annotations", pattern="^(annotations|predictions)$"),
    format: str = Query("json"),
    ctx: Ctx = Depends(context),
) -> Any:
    with ctx.read() as s:
        rows = quality.groups(s, ctx.actor, project_id, of, label=None)
    return table(
        [{"label": g.label, **group_row(g)} for g in rows], format, f"project-{project_id}-labels"
    )


@router.get("/projects/{project_id}/quality/confusion")
def confusion(
    project_id: Id,
    of: str = Query("annotation", pattern="^(annotation|prediction)$"),
    format: str = Query("json"),
    ctx: Ctx = Depends(context),
) -> Any:
    """Label confusion (GT rows x predicted columns) with an "unmatched" row and column."""
    with ctx.read() as s:
        pairs = quality.confusion(s, ctx.actor, project_id, of)
    names, matrix = dashboard.confusion_table(pairs)
    if format != "json":  # csv; `table` refuses any other
        rows = [
            {"ground_truth": g, **{p: matrix[i][j] for j, p in enumerate(names)}}
            for i, g in enumerate(names)
        ]
        return table(rows, format, f"project-{project_id}-confusion")
    return {"labels": names, "matrix": matrix}


@router.get("/projects/{project_id}/quality-settings")
def get_settings(project_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.read() as s:
        return quality.get_versioned(s, ctx.actor, project_id).to_json()


@router.get("/projects/{project_id}/quality-settings/history")
def settings_history(project_id: Id, ctx: Ctx = Depends(context)) -> list[dict[str, Any]]:
    """Every version of the quality settings, oldest first: values, who, when."""
    with ctx.read() as s:
        history = quality.settings_history(s, ctx.actor, project_id)
        emails = authors.emails_of(s, [v.changed_by_id for v in history if v.changed_by_id])
    return [
        {
            "settings_version": v.version,
            "settings": v.settings,
            "changed_by": v.changed_by_id,
            "changed_by_email": emails.get(v.changed_by_id) if v.changed_by_id else None,
            "changed_at": iso(v.changed_at),
        }
        for v in history
    ]


@router.patch("/projects/{project_id}/quality-settings")
def patch_settings(project_id: Id, body: SettingsIn, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """Change settings (a new `settings_version`); when scoring changes, every score is
    recomputed in the background, and scores of the older version say so until replaced."""
    with ctx.write() as s:
        settings, changed = quality.update_settings(
            s, ctx.actor, project_id, **body.model_dump(exclude_unset=True)
        )
    job_id = (
        quality.start_recompute(ctx.db, ctx.actor, project_id, rebuild=False) if changed else None
    )
    return {**settings.to_json(), "recompute_job": job_id}


@router.post("/projects/{project_id}/quality/recompute", status_code=202)
def recompute(project_id: Id, ctx: Ctx = Depends(context)) -> JSONResponse:
    job_id = quality.start_recompute(ctx.db, ctx.actor, project_id)
    return JSONResponse({"id": job_id, "url": f"/api/background-jobs/{job_id}"}, status_code=202)


def _background_job(s: Session, job: BackgroundJob) -> dict[str, Any]:
    progress = background.progress_of(s, job)
    answer = {
        "id": job.id,
        "kind": job.kind,
        "project": job.project_id,
        "status": job.status,
        "progress": progress.done,
        "total": progress.total,
        "percent": round(100 * progress.done / progress.total, 1)
        if progress.total
        else (100.0 if job.status == "done" else 0.0),
        "result": job.result,
        "error": job.error or None,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "attempts": job.attempts,
        "workers": progress.workers,
    }
    if progress.parts is not None:
        answer["parts"] = progress.parts
    if job.parent_id is not None:
        answer["part_of"] = job.parent_id
    return answer


@router.get("/background-jobs/{job_id}", tags=["background jobs"])
def background_job(job_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """A job's state; a partitioned job (a recompute) also counts its parts by status, and
    `workers` names the processes (host:pid) that ran them."""
    with ctx.read() as s:
        return _background_job(s, background.get_job(s, ctx.actor, job_id))


@router.post("/background-jobs/{job_id}/cancel", tags=["background jobs"])
def cancel_background_job(job_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """Stop a queued or running job (and every part of it); what it committed stays."""
    with ctx.write() as s:
        return _background_job(s, background.cancel(s, ctx.actor, job_id))


@router.get("/projects/{project_id}/quality/agreement")
def agreement(project_id: Id, format: str = Query("json"), ctx: Ctx = Depends(context)) -> Any:
    """Annotator x annotator mean pairwise accuracy over the tasks both annotated."""
    with ctx.read() as s:
        result = quality.project_agreement(s, ctx.actor, project_id)
        emails = authors.emails_of(s, result.annotators)
    if format == "csv":
        rows = [
            {
                "annotator": emails.get(a, a),
                **{
                    emails.get(b, str(b)): result.matrix[i][j]
                    for j, b in enumerate(result.annotators)
                },
            }
            for i, a in enumerate(result.annotators)
        ]
        return table(rows, "csv", f"project-{project_id}-agreement")
    return {
        "annotators": [{"id": a, "email": emails.get(a)} for a in result.annotators],
        "matrix": result.matrix,
        "shared_tasks": result.shared,
    }


@router.get("/annotations/{annotation_id}/quality")
def annotation_quality(annotation_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """The annotation's accuracy against GT and each conflicting region."""
    with ctx.read() as s:
        q = quality.annotation_quality(s, ctx.actor, annotation_id)
    sc = q.score
    return {
        "annotation": q.annotation.id,
        "scored": sc is not None,
        "accuracy": number(sc.accuracy) if sc else None,
        "tp": sc.tp if sc else None,
        "fp": sc.fp if sc else None,
        "fn": sc.fn if sc else None,
        "mean_iou": number(sc.iou_sum / sc.matched) if sc and sc.matched else None,
        "settings_version": sc.settings_version if sc else None,
        "current_settings_version": q.current_settings_version,
        "stale": sc.settings_version < q.current_settings_version if sc else None,
        "conflicts": [c.__dict__ for c in q.conflicts],
    }


@router.get("/tasks/{task_id}/agreement")
def task_agreement(task_id: Id, format: str = Query("json"), ctx: Ctx = Depends(context)) -> Any:
    """Pairwise accuracy between the task's annotations; the GT (starred) comes first."""
    with ctx.read() as s:
        ta = quality.task_agreement(s, ctx.actor, task_id)
        emails = authors.emails_of(s, [a.completed_by_id for a in ta.annotations])
    heads = [
        {
            "id": a.id,
            "annotator": a.completed_by_id,
            "email": emails.get(a.completed_by_id or -1),
            "ground_truth": a.ground_truth,
        }
        for a in ta.annotations
    ]
    if format == "csv":
        names = [("⭐ " if h["ground_truth"] else "") + f"{h['id']} {h['email']}" for h in heads]
        return table(
            [
                {"annotation": n, **dict(zip(names, row, strict=True))}
                for n, row in zip(names, ta.matrix, strict=True)
            ],
            "csv",
            f"task-{task_id}-agreement",
        )
    return {"task": task_id, "annotations": heads, "matrix": ta.matrix, "agreement": ta.agreement}
