"""Conflict diagnosis (issue #19): annotators' conflicts with the GT grouped by label pair,
annotator or a task data field, with a suggested reading, and leads' decisions on groups."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query

from assay.api.serializers import iso
from assay.api.tables import table
from assay.http.context import Ctx, context
from assay.http.params import Id, PageNumber, PageSize
from assay.services import authors
from assay.services.errors import Invalid
from assay.services.quality import diagnosis
from assay.store.diagnosis_models import ConflictDecision

router = APIRouter(prefix="/api", tags=["quality"])


def decision_json(d: ConflictDecision, emails: dict[int, str]) -> dict[str, Any]:
    return {
        "id": d.id,
        "group": d.group_key,
        "decision": d.decision,
        "note": d.note,
        "conflicts": d.conflicts,
        "tasks": d.task_ids,
        "decided_by": d.decided_by_id,
        "decided_by_email": emails.get(d.decided_by_id) if d.decided_by_id else None,
        "decided_at": iso(d.decided_at),
    }


def group_json(g: diagnosis.ConflictGroup, emails: dict[int, str]) -> dict[str, Any]:
    d = g.decision
    return {
        "key": g.key,
        "by": g.by,
        **g.fields,
        "kinds": g.kinds,
        "count": len(g.conflicts),
        "annotators": len(g.annotators),
        "tasks": len(g.task_ids),
        "annotators_on_tasks": g.workers,
        "spread": g.spread,
        "reading": g.reading,
        "examples": g.examples(),
        "decision": d.decision if d else None,
        "decided_by": d.decided_by_id if d else None,
        "decided_by_email": emails.get(d.decided_by_id) if d and d.decided_by_id else None,
        "decided_at": iso(d.decided_at) if d else None,
        "note": d.note if d else None,
    }


def _csv_row(row: dict[str, Any]) -> dict[str, Any]:
    examples = [
        f"{e['task']}:{e['annotation']}:{e['region'] or e['gt_region'] or ''}"
        for e in row["examples"]
    ]
    return {**row, "examples": examples}


@router.get("/projects/{project_id}/quality/conflict-groups")
def conflict_groups(
    project_id: Id,
    by: str = Query("label_pair"),
    field: str | None = Query(None),
    label: str | None = Query(None),
    annotator: Id | None = Query(None),
    kind: str | None = Query(None),
    page: PageNumber = 1,
    page_size: PageSize = 50,
    format: str = Query("json"),
    ctx: Ctx = Depends(context),
) -> Any:
    """The project's conflicts of annotators' work with GT, grouped (`by`: label_pair,
    annotator, data_field with `field`), most conflicts first; `?format=csv` for the page
    as a CSV file."""
    if format not in ("json", "csv"):
        raise Invalid.field("format", "must be json or csv")
    f = diagnosis.filters_of(by, field, label, annotator, kind)
    with ctx.read() as s:
        rows, pg = diagnosis.groups(s, ctx.actor, project_id, f, page, page_size)
        emails = authors.emails_of(
            s, [g.decision.decided_by_id for g in rows if g.decision and g.decision.decided_by_id]
        )
        out = [group_json(g, emails) for g in rows]
    if format == "csv":
        return table([_csv_row(r) for r in out], "csv", f"project-{project_id}-conflict-groups")
    return {"count": pg.total, "results": out}


@router.post("/projects/{project_id}/quality/conflict-decisions", status_code=201)
def decide(
    project_id: Id, body: dict[str, Any] = Body(...), ctx: Ctx = Depends(context)
) -> dict[str, Any]:
    """Record what a group of conflicts is: `{"group": key, "decision": guideline_issue |
    gt_error | training_need, "note": "..."}` over the conflicts the group has now."""
    for name in sorted(set(body) - {"group", "decision", "note"}):
        raise Invalid.field(name, "is not accepted here; send only decision, group, note")
    if "group" not in body:
        raise Invalid.field("group", "is required: a key from the conflict groups list")
    with ctx.write() as s:
        row = diagnosis.decide(
            s, ctx.actor, project_id, body["group"], body.get("decision"), body.get("note")
        )
        emails = authors.emails_of(s, [row.decided_by_id] if row.decided_by_id else [])
        return decision_json(row, emails)


@router.get("/projects/{project_id}/quality/conflict-decisions")
def decisions(
    project_id: Id,
    page: PageNumber = 1,
    page_size: PageSize = 50,
    ctx: Ctx = Depends(context),
) -> dict[str, Any]:
    """Every decision on the project's conflict groups, newest first (none is ever deleted)."""
    with ctx.read() as s:
        rows, pg = diagnosis.decisions(s, ctx.actor, project_id, page, page_size)
        emails = authors.emails_of(s, [d.decided_by_id for d in rows if d.decided_by_id])
        return {"count": pg.total, "results": [decision_json(d, emails) for d in rows]}
