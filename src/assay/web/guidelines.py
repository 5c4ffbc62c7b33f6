"""The guideline page of a project: the version in force, every version's change log with the
edge cases it resolved, the GT re-check queue with its progress, and the edge-case log.

Server-rendered lists; small JS (static/guidelines.js) sends the forms and buttons to the JSON
API (`POST /api/projects/{id}/guidelines`, `.../guidelines/recheck/{task}`,
`/api/edge-cases/{id}/answer|resolve`) and reloads. Who may see what is services.guidelines'
rule, as for the API: annotators (who read the guideline on the annotate page) get the 403 page.

The re-check queue is worked in the GT-stage editor (gt_stage.html, static/editor.js) in its
re-check mode: `/projects/{id}/guidelines/recheck` opens it over the queue's waiting tasks.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from assay.http.params import Id, PageNumber
from assay.services import guidelines, projects
from assay.services.access import Action, authorize
from assay.web.common import PageRoute, config_of, reading, render
from assay.web.editor_setup import editor_setup, nothing_to_edit

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
            recheck = {"rows": rows, "progress": progress, "editor": recheck_url(project_id)}
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


def recheck_url(project_id: int) -> str:
    return f"/projects/{project_id}/guidelines/recheck"


@router.get("/projects/{project_id}/guidelines/recheck")
def recheck_page(request: Request, project_id: Id) -> Response:
    """The GT-stage editor over the re-check queue: each waiting task opens with its GT to
    confirm unchanged or edit and save as the GT's new revision; none waiting: back to the
    guideline page."""
    with reading(request) as (s, actor):
        _, progress = guidelines.next_recheck(s, actor, project_id)
        project = projects.get_project(s, actor, project_id)
        setup = editor_setup(config_of(project))
        blocked = None if setup else nothing_to_edit("the re-check has nothing to edit.")
        payload = {
            "mode": "recheck",
            **(setup or {}),
            "people": {},
            "start": "next",
            "urls": {
                "next": f"/api/projects/{project.id}/guidelines/recheck/next",
                "resolve": f"/api/projects/{project.id}/guidelines/recheck/{{task}}",
                "references": "/api/tasks/{task}/references",
                "complete": f"/projects/{project.id}/guidelines",
            },
        }
        context = {
            "title": f"Re-check ground truth · {project.title or f'Project {project.id}'}",
            "project": project,
            "job": None,
            "recheck": progress,
            "payload": payload if setup else None,
            "blocked": blocked,
        }
        return render(request, "gt_stage.html", context, actor, status_code=409 if blocked else 200)
