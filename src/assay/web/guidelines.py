"""The guideline page of a project: the version in force, every version's change log with the
edge cases it resolved, the GT re-check queue with its progress, and the edge-case log.

Server-rendered lists; small JS (static/guidelines.js) sends the forms and buttons to the JSON
API (`POST /api/projects/{id}/guidelines`, `.../guidelines/recheck/{task}`,
`/api/edge-cases/{id}/answer|resolve`) and reloads. Who may see what is services.guidelines'
rule, as for the API: annotators (who read the guideline on the annotate page) get the 403 page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from assay.http.params import Id, PageNumber
from assay.services import guidelines, projects
from assay.services.access import Action, authorize
from assay.web.common import PageRoute, reading, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE = 100  # rows of each list on the page


@router.get("/projects/{project_id}/guidelines")
def guidelines_page(request: Request, project_id: Id, page: PageNumber = 1) -> Response:
    with reading(request) as (s, actor):
        authorize(s, actor, Action.GUIDELINE_HISTORY, project_id)
        project = projects.get_project(s, actor, project_id)
        view = guidelines.guideline_view(s, actor, project_id, page, PAGE)
        shown = [v.version for v in view.history or []]
        resolved = guidelines.resolved_by_version(s, actor, project_id, shown)
        recheck = None
        if actor.may(Action.GUIDELINE_RECHECK):
            rows, _, progress = guidelines.list_recheck(s, actor, project_id, "pending", 1, PAGE)
            recheck = {"rows": rows, "progress": progress}
        cases, cases_page = guidelines.list_edge_cases(s, actor, project_id, None, 1, PAGE)
        context = {
            "title": f"Guideline · {project.title or f'Project {project.id}'}",
            "project": project,
            "view": view,
            "resolved": resolved,
            "recheck": recheck,
            "cases": cases,
            "cases_total": cases_page.total,
            "may_manage": actor.may(Action.EDGE_CASES_MANAGE),
            "may_publish": actor.may(Action.GUIDELINE_PUBLISH),
            "labels": projects.label_config_of(project).labels,
        }
        return render(request, "guidelines.html", context, actor)
