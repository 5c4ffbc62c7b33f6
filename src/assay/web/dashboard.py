"""The project dashboard page: annotator performance, the agreement matrix, accuracy over time,
the per-label confusion matrix and the model versions against ground truth.

The numbers are the JSON of `GET /api/projects/{id}/dashboard`
(services.views.dashboard.dashboard_view), rendered as HTML tables, so the page reads without
JS; static/dashboard.js draws the charts with plotly's own bundle, served from the installed
plotly package at /static-lib/.
Who may see the dashboard is decided by the services (Action.DASHBOARD_VIEW).
"""

from __future__ import annotations

import importlib.util
from functools import cache
from importlib.metadata import version
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from assay.http.params import Id
from assay.services import projects
from assay.services.errors import NotFound
from assay.services.views import dashboard
from assay.web.common import PAGE_HEADERS, PageRoute, reading, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
assets = APIRouter(include_in_schema=False)

# plotly draws with inline style attributes and <style> rules: allowed on this page only.
DASHBOARD_CSP = PAGE_HEADERS["Content-Security-Policy"] + "; style-src 'self' 'unsafe-inline'"
YEAR = 365 * 24 * 3600


@cache
def plotly_bundle() -> tuple[Path, str] | None:
    """The installed plotly package's plotly.min.js and the package version, if installed."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
    return (path, version("plotly")) if path.is_file() else None


def plotly_url() -> str | None:
    bundle = plotly_bundle()
    return f"/static-lib/plotly.min.js?v={bundle[1]}" if bundle else None


@assets.get("/static-lib/plotly.min.js")
def plotly_js() -> Response:
    """plotly.js from the python package (never copied into the repo), cached for a year: the
    URL changes with plotly's version."""
    bundle = plotly_bundle()
    if bundle is None:
        raise NotFound("plotly is not installed.")
    headers = {"Cache-Control": f"public, max-age={YEAR}, immutable"}
    return FileResponse(bundle[0], media_type="text/javascript", headers=headers)


@router.get("/projects/{project_id}/dashboard")
def dashboard_page(request: Request, project_id: Id) -> Response:
    with reading(request) as (s, actor):
        data = dashboard.dashboard_view(s, actor, project_id)  # checks Action.DASHBOARD_VIEW
        project = projects.get_project(s, actor, project_id)
        context = {
            "title": f"Dashboard · {project.title or f'Project {project.id}'}",
            "project": project,
            "data": data,
            "plotly": plotly_url(),
            "csv": f"/api/projects/{project.id}/dashboard/annotators?format=csv",
        }
        response = render(request, "dashboard.html", context, actor)
    response.headers["Content-Security-Policy"] = DASHBOARD_CSP
    return response
