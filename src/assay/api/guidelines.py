"""Guidelines: versions, what changed since one last read, the GT re-check queue, and the
edge-case log (issue #19 items 3 and 4)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, Query

from assay.api.serializers import annotation as annotation_json
from assay.api.serializers import iso
from assay.api.serializers import task as task_json
from assay.http.context import Ctx, context
from assay.http.params import Id, PageNumber, PageSize
from assay.services import guidelines
from assay.services.access import Action, Actor
from assay.services.errors import Invalid
from assay.store.guideline_models import EdgeCase, GuidelineRecheck, GuidelineVersion
from assay.store.models import Annotation

router = APIRouter(prefix="/api", tags=["guidelines"])


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    for name in sorted(set(body) - allowed):
        raise Invalid.field(name, f"is not accepted here; send only {', '.join(sorted(allowed))}")


def edge_case_json(c: EdgeCase, actor: Actor, shown_task: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": c.id,
        "task": shown_task,
        "comment": c.comment,
        "status": c.status,
        "answer": c.answer,
        "answered_at": iso(c.answered_at),
        "guideline_version": c.guideline_version,
        "resolved_at": iso(c.resolved_at),
        "created_at": iso(c.created_at),
    }
    if actor.may(Action.EDGE_CASES_VIEW_ALL):
        out |= {
            "project": c.project_id,
            "job": c.job_id,
            "created_by": c.created_by_id,
            "answered_by": c.answered_by_id,
            "resolved_by": c.resolved_by_id,
        }
    return out


def _cases_json(s: Any, actor: Actor, cases: list[EdgeCase]) -> list[dict[str, Any]]:
    shown = guidelines.shown_task_ids(s, actor, cases)
    return [edge_case_json(c, actor, shown[c.id]) for c in cases]


def version_json(
    v: GuidelineVersion, resolved: list[dict[str, Any]], markdown: bool = True
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "version": v.version,
        "change_log": v.change_log,
        "author": v.author_id,
        "created_at": iso(v.created_at),
        "resolved_edge_cases": resolved,  # the edge cases this version settled
    }
    if markdown:
        out["markdown"] = v.markdown
    return out


def _versions_json(
    s: Any, actor: Actor, project_id: int, versions: list[GuidelineVersion], markdown: bool
) -> list[dict[str, Any]]:
    by = guidelines.resolved_by_version(s, actor, project_id, [v.version for v in versions])
    return [version_json(v, _cases_json(s, actor, by[v.version]), markdown) for v in versions]


@router.get("/projects/{project_id}/guidelines")
def get_guidelines(
    project_id: Id,
    page: PageNumber = 1,
    page_size: PageSize = 50,
    ctx: Ctx = Depends(context),
) -> dict[str, Any]:
    """The version in force, the version the caller last read and the change logs of the
    versions since (`unread_since`, newest first); for leads, reviewers and admins also a page
    of every version (`count`, `results`, without their text)."""
    with ctx.read() as s:
        view = guidelines.guideline_view(s, ctx.actor, project_id, page, page_size)
        current = (
            _versions_json(s, ctx.actor, project_id, [view.current], True)[0]
            if view.current is not None
            else None
        )
        out: dict[str, Any] = {
            "current": current,
            "read_version": view.read_version,
            "unread_since": _versions_json(s, ctx.actor, project_id, view.unread_since, False),
        }
        if view.history is not None and view.page is not None:
            out["count"] = view.page.total
            out["results"] = _versions_json(s, ctx.actor, project_id, view.history, False)
        return out


@router.post("/projects/{project_id}/guidelines", status_code=201)
def publish_guideline(
    project_id: Id, body: dict[str, Any] = Body(...), ctx: Ctx = Depends(context)
) -> dict[str, Any]:
    """A new version: `{"markdown": "...", "change_log": "...", "recheck": "all" |
    {"labels": [...]}}` (change_log and recheck optional); in force at once."""
    with ctx.write() as s:
        made, queued = guidelines.publish(s, ctx.actor, project_id, body)
        return {**version_json(made, []), "rechecks_queued": queued}


@router.post("/projects/{project_id}/guidelines/read")
def read_guideline(
    project_id: Id, body: dict[str, Any] = Body(default_factory=dict), ctx: Ctx = Depends(context)
) -> dict[str, Any]:
    """The caller has read the guideline up to `{"version": n}` (default: the one in force)."""
    _only(body, {"version"})
    with ctx.write() as s:
        return {"read_version": guidelines.mark_read(s, ctx.actor, project_id, body.get("version"))}


def recheck_json(item: GuidelineRecheck, gt: Annotation | None) -> dict[str, Any]:
    return {
        "task": item.task_id,
        "guideline_version": item.guideline_version,
        "status": item.status,
        "gt_annotation": item.gt_annotation_id,
        "gt_revision": item.gt_revision,
        "current_gt_annotation": gt.id if gt is not None else None,
        "current_gt_revision": gt.revision if gt is not None else None,
        "resolved_revision": item.resolved_revision,
        "resolved_by": item.resolved_by_id,
        "resolved_at": iso(item.resolved_at),
        "queued_at": iso(item.created_at),
    }


@router.get("/projects/{project_id}/guidelines/recheck")
def recheck_queue(
    project_id: Id,
    status: Literal["pending", "confirmed", "changed"] | None = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
    ctx: Ctx = Depends(context),
) -> dict[str, Any]:
    """GT tasks a guideline version put up for re-check, with the queue's progress."""
    with ctx.read() as s:
        rows, pg, progress = guidelines.list_recheck(
            s, ctx.actor, project_id, status, page, page_size
        )
        return {
            "total": progress.total,
            "done": progress.done,
            "remaining": progress.remaining,
            "count": pg.total,
            "results": [recheck_json(item, gt) for item, gt in rows],
        }


@router.get("/projects/{project_id}/guidelines/recheck/next")
def recheck_next(
    project_id: Id,
    after: Id | None = Query(None, description="The task on screen, skipped: the one after it."),
    ctx: Ctx = Depends(context),
) -> dict[str, Any]:
    """The waiting task the GT-stage editor shows next, in the GT stage's shape (`task`,
    `ground_truth`, `regions` to start from), with the queue's progress; `complete` when none
    waits."""
    with ctx.read() as s:
        got, progress = guidelines.next_recheck(s, ctx.actor, project_id, after)
        out: dict[str, Any] = {
            "progress": {
                "total": progress.total,
                "done": progress.done,
                "remaining": progress.remaining,
                "done_percent": 100.0 * progress.done / progress.total if progress.total else 100.0,
            },
            "complete": got is None,
            "task": None,
        }
        if got is None:
            return out
        gt = got.ground_truth
        return out | {
            "task": task_json(got.task, ctx.actor),
            "recheck": recheck_json(got.item, gt),
            "annotations": [],
            "start_from": None,
            "ground_truth": annotation_json(gt, ctx.actor) if gt is not None else None,
            "regions": gt.result if gt is not None else [],
        }


@router.post("/projects/{project_id}/guidelines/recheck/{task_id}")
def resolve_recheck(
    project_id: Id, task_id: Id, body: dict[str, Any] = Body(...), ctx: Ctx = Depends(context)
) -> dict[str, Any]:
    """`{"confirm": true}`: the GT stands unchanged; `{"confirm": false}`: it was changed (edit
    it through the GT APIs first), recorded with its new revision; `{"confirm": false,
    "result": [...]}`: the edit itself, saved as the GT's new revision and recorded at once."""
    _only(body, {"confirm", "result"})
    with ctx.write() as s:
        item = guidelines.resolve_recheck(
            s, ctx.actor, project_id, task_id, body.get("confirm"), body.get("result")
        )
        return recheck_json(item, None) | {
            "current_gt_annotation": item.resolved_annotation_id,
            "current_gt_revision": item.resolved_revision,
        }


@router.get("/projects/{project_id}/guidelines/{version}")
def get_guideline_version(
    project_id: Id, version: Id, ctx: Ctx = Depends(context)
) -> dict[str, Any]:
    with ctx.read() as s:
        found = guidelines.get_version(s, ctx.actor, project_id, version)
        return _versions_json(s, ctx.actor, project_id, [found], True)[0]


@router.post("/tasks/{task_id}/edge-cases", status_code=201)
def flag_edge_case(
    task_id: Id, body: dict[str, Any] = Body(...), ctx: Ctx = Depends(context)
) -> dict[str, Any]:
    """The task is ambiguous: `{"comment": "..."}` (annotators send the task's alias)."""
    _only(body, {"comment"})
    with ctx.write() as s:
        case = guidelines.flag_edge_case(s, ctx.actor, task_id, body.get("comment"))
        return edge_case_json(case, ctx.actor, task_id)


@router.get("/projects/{project_id}/edge-cases")
def list_edge_cases(
    project_id: Id,
    status: Literal["open", "answered", "resolved"] | None = None,
    task: Id | None = Query(None, description="Only this task's entries (annotators: its alias)."),
    page: PageNumber = 1,
    page_size: PageSize = 50,
    ctx: Ctx = Depends(context),
) -> dict[str, Any]:
    """Newest first: every entry for leads, reviewers and admins; one's own for annotators."""
    with ctx.read() as s:
        rows, pg = guidelines.list_edge_cases(
            s, ctx.actor, project_id, status, page, page_size, task
        )
        return {"count": pg.total, "results": _cases_json(s, ctx.actor, rows)}


@router.post("/edge-cases/{case_id}/answer")
def answer_edge_case(
    case_id: Id, body: dict[str, Any] = Body(...), ctx: Ctx = Depends(context)
) -> dict[str, Any]:
    _only(body, {"answer"})
    with ctx.write() as s:
        case = guidelines.answer_edge_case(s, ctx.actor, case_id, body.get("answer"))
        return edge_case_json(case, ctx.actor, case.task_id)


@router.post("/edge-cases/{case_id}/resolve")
def resolve_edge_case(
    case_id: Id, body: dict[str, Any] = Body(...), ctx: Ctx = Depends(context)
) -> dict[str, Any]:
    """`{"guideline_version": n, "answer": "..."}` (answer optional): settled by version n."""
    _only(body, {"guideline_version", "answer"})
    with ctx.write() as s:
        case = guidelines.resolve_edge_case(
            s, ctx.actor, case_id, body.get("guideline_version"), body.get("answer")
        )
        return edge_case_json(case, ctx.actor, case.task_id)
