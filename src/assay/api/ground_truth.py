"""Ground truth: data-manager bulk actions (Label Studio's /api/dm/actions) and GT history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Body, Depends, Query
from sqlalchemy.orm import Session

from assay.api import serializers
from assay.http.context import Ctx, context
from assay.http.params import Id, PageNumber, PageSize
from assay.services import ground_truth, honeypots, review, tasks
from assay.services.access import Actor
from assay.services.checks import is_id
from assay.services.errors import Invalid
from assay.services.selection import Selection
from assay.services.views import dm_filters

router = APIRouter(prefix="/api", tags=["ground truth"])

# (session, actor, project id, body, selection: selectedItems AND filters) -> BulkResult
BulkAction = Callable[[Session, Actor, int, dict[str, Any], Selection], Any]

ACTIONS: dict[str, tuple[str, BulkAction]] = {
    "set_ground_truths": (
        "Set ground truths from an annotator",
        lambda s, a, p, body, sel: ground_truth.bulk_set_from_annotator(
            s, a, p, sel, body.get("annotator")
        ),
    ),
    "assign_ground_truths": (
        "Assign ground truths (earliest annotation)",
        lambda s, a, p, body, sel: ground_truth.bulk_assign_earliest(s, a, p, sel),
    ),
    "delete_ground_truths": (
        "Delete ground truths (annotations stay)",
        lambda s, a, p, body, sel: ground_truth.bulk_delete(s, a, p, sel),
    ),
    "assign_reviewers": (
        "Assign reviewers",
        lambda s, a, p, body, sel: review.assign_reviewers(s, a, p, sel, body.get("reviewers")),
    ),
    "add_to_honeypots": (
        "Add to honeypots (tasks with GT)",
        lambda s, a, p, body, sel: honeypots.add_to_pool(s, a, p, sel, body.get("difficulty")),
    ),
    "remove_from_honeypots": (
        "Remove from honeypots",
        lambda s, a, p, body, sel: honeypots.remove_from_pool(s, a, p, sel),
    ),
    "delete_tasks": (
        "Delete tasks",
        lambda s, a, p, body, sel: tasks.delete_selected_tasks(s, a, p, sel),
    ),
}


@router.get("/dm/actions")
def list_actions(
    project: Id | None = Query(None), ctx: Ctx = Depends(context)
) -> list[dict[str, Any]]:
    return [
        {"id": key, "title": title, "order": i}
        for i, (key, (title, _)) in enumerate(ACTIONS.items())
    ]


@router.post("/dm/actions")
def run_action(
    id: str = Query(..., description="The action: " + ", ".join(ACTIONS)),
    project: Id | None = Query(None),
    view: Id | None = Query(None, description="Not supported: send the view's filters."),
    body: dict[str, Any] = Body(default_factory=dict),
    ctx: Ctx = Depends(context),
) -> dict[str, Any]:
    """Run one bulk action over a selection, in one transaction; answers what it changed.

    The selection is the body's `selectedItems` AND its Data Manager `filters`
    (`services.views.dm_filters`), as in Label Studio."""
    if id not in ACTIONS:
        raise Invalid.field("id", f"unknown action {id!r}; one of {', '.join(ACTIONS)}")
    project_id = project if project is not None else body.get("project")
    if not is_id(project_id):
        raise Invalid.field("project", "is required: the project id, in the query or the body")
    if view is not None or body.get("view") is not None:
        raise Invalid.field("view", "saved Data Manager views are not supported: send filters")
    with ctx.write() as s:
        selection = dm_filters.selection(ctx.actor, body)
        result = ACTIONS[id][1](s, ctx.actor, project_id, body, selection)
    counts = {k: getattr(result, k) for k in ("selected", "changed", "unchanged", "skipped")}
    return {
        "processed_items": result.changed,
        "detail": f"{id}: {result.changed} task(s) changed",
        **counts,
    }


@router.get("/projects/{project_id}/ground-truth/history")
def gt_history(
    project_id: Id,
    task: Id | None = Query(None),
    page: PageNumber = 1,
    page_size: PageSize = 100,
    ctx: Ctx = Depends(context),
) -> dict[str, Any]:
    with ctx.read() as s:
        rows, pg = ground_truth.history(s, ctx.actor, project_id, task, page, page_size)
        return {"count": pg.total, "results": [serializers.gt_change(c) for c in rows]}
