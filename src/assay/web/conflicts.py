"""The conflicts page: the project's conflicts with GT grouped for diagnosis (label pair,
annotator or a task data field), each group with its suggested reading and the three decision
buttons. Plain JS (static/conflicts.js) over the JSON API
(`GET /api/projects/{id}/quality/conflict-groups`, `POST .../quality/conflict-decisions`);
this module renders the shell. Who may see it is services.quality.diagnosis' rule, as for the
API: annotators get the 403 page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from assay.http.params import Id
from assay.services import projects
from assay.services.access import Action, authorize
from assay.web.common import PageRoute, reading, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/projects/{project_id}/conflicts")
def conflicts_page(request: Request, project_id: Id) -> Response:
    with reading(request) as (s, actor):
        authorize(s, actor, Action.CONFLICTS_VIEW, project_id)
        project = projects.get_project(s, actor, project_id)
        payload = {
            "project": project.id,
            "may_decide": actor.may(Action.CONFLICTS_DECIDE),
            "urls": {
                "groups": f"/api/projects/{project.id}/quality/conflict-groups",
                "decide": f"/api/projects/{project.id}/quality/conflict-decisions",
                "task_page": "/tasks/{task}",
            },
        }
        context = {
            "title": f"Conflicts · {project.title or f'Project {project.id}'}",
            "project": project,
            "payload": payload,
        }
        return render(request, "conflicts.html", context, actor)
