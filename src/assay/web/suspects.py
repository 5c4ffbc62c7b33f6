"""The suspects page: the project's suspected GT errors, each task with its GT, the
disagreeing annotators' boxes and the model's regions side by side, and Confirm / Dismiss.

Plain JS (static/suspects.js) over the JSON API (`GET /api/projects/{id}/ground-truth/suspects`,
`POST .../suspects/{key}/confirm|dismiss`); this module renders the shell. Who may see it is
services.suspects' rule, as for the API: annotators get the 403 page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from assay.http.params import Id
from assay.services import projects, suspects
from assay.services.access import Action
from assay.web.common import PageRoute, reading, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/projects/{project_id}/suspects")
def suspects_page(request: Request, project_id: Id) -> Response:
    with reading(request) as (s, actor):
        suspects.authorize_view(s, actor, project_id)
        project = projects.get_project(s, actor, project_id)
        payload = {
            "project": project.id,
            "may_decide": actor.may(Action.GROUND_TRUTH_CHANGE),
            "urls": {
                "list": f"/api/projects/{project.id}/ground-truth/suspects",
                "decide": f"/api/projects/{project.id}/ground-truth/suspects/{{key}}/{{action}}",
                "task": "/api/tasks/{task}",
                "annotation": "/api/annotations/{annotation}",
                "predictions": "/api/predictions?task={task}",
                "task_page": "/tasks/{task}",
            },
        }
        context = {
            "title": f"GT suspects · {project.title or f'Project {project.id}'}",
            "project": project,
            "payload": payload,
        }
        return render(request, "suspects.html", context, actor)
