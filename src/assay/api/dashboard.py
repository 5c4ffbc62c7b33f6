"""The project dashboard as JSON, and the annotator scorecard as CSV."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from assay.api.tables import table
from assay.http.context import Ctx, context
from assay.http.params import Id
from assay.services.views import dashboard

router = APIRouter(prefix="/api", tags=["dashboard"])


@router.get("/projects/{project_id}/dashboard")
def project_dashboard(project_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """Annotator performance, agreement matrix, weekly accuracy, confusion, models vs GT."""
    with ctx.read() as s:
        return dashboard.dashboard_view(s, ctx.actor, project_id)


@router.get("/projects/{project_id}/dashboard/annotators")
def annotator_scorecard(
    project_id: Id, format: str = Query("json"), ctx: Ctx = Depends(context)
) -> Any:
    """The Annotator Performance table; `?format=csv` for the scorecard file."""
    with ctx.read() as s:
        rows = dashboard.performance_rows(s, ctx.actor, project_id)
    return table(rows, format, f"project-{project_id}-annotator-scorecard")
